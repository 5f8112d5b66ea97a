import COpenSSL

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// SM2 digital signatures (GB/T 32918) with SM3, over OpenSSL 3 EVP.
///
/// Every signature and verification sets the signer ID explicitly, by default ``SignerID/default``
/// (`1234567812345678`): OpenSSL 3.0 otherwise uses an empty ID, and such signatures do not verify under the
/// standard ID (REFERENCE.md R-SEC-2).
///
/// ```swift
/// let key = try SM2.PrivateKey()
/// let signature = try key.signature(for: message)
/// let valid = key.publicKey.isValidSignature(signature, for: message)
/// ```
public enum SM2 {
    /// The signer ID (distinguishing identifier, ZA input) mixed into every SM2 signature.
    public struct SignerID: Hashable, Sendable, CustomStringConvertible {
        /// The standard ID `1234567812345678` (GB/T 35276), which HubCrypto uses unless told otherwise.
        public static let `default` = SignerID(uncheckedBytes: Array("1234567812345678".utf8))

        /// The largest ID the SM2 ENTL field can describe: 8191 bytes (65535 bits).
        public static let maximumByteCount = 8191

        /// The ID bytes.
        public let bytes: [UInt8]

        init(uncheckedBytes bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// Wraps ID bytes. An empty ID is allowed only to check signatures made by tools that default to it.
        /// - Parameter bytes: the ID.
        /// - Throws: ``CryptoError`` `.invalidArgument` when longer than ``maximumByteCount``.
        public init(bytes: some DataProtocol) throws {
            guard bytes.count <= Self.maximumByteCount else {
                throw CryptoError(.invalidArgument, "an SM2 signer ID is at most 8191 bytes, got \(bytes.count)")
            }
            self.bytes = [UInt8](bytes)
        }

        /// Wraps the UTF-8 bytes of `string`.
        /// - Parameter string: the ID, for example an organisation's identifier.
        /// - Throws: ``CryptoError`` `.invalidArgument` when longer than ``maximumByteCount`` bytes.
        public init(_ string: String) throws {
            try self.init(bytes: Array(string.utf8))
        }

        /// The ID's length in bytes (the ID itself is not secret, but it is not printed either).
        public var description: String {
            "SM2.SignerID(\(self.bytes.count) bytes)"
        }
    }
}

/// Owns one `EVP_PKEY`.
final class PKey: @unchecked Sendable {
    // @unchecked Sendable: the EVP_PKEY is never mutated after it is built or parsed, and OpenSSL 3 documents an
    // EVP_PKEY as reference-counted and safe for concurrent read-only use (signing and verifying each make their
    // own EVP_PKEY_CTX / EVP_MD_CTX). deinit frees it once no reference remains.
    let pointer: OpaquePointer

    /// Takes ownership of `pointer` after checking that it is an SM2 key.
    init(taking pointer: OpaquePointer, what: String) throws {
        guard EVP_PKEY_is_a(pointer, "SM2") == 1 else {
            EVP_PKEY_free(pointer)
            OpenSSLErrorQueue.clear()
            throw CryptoError(.invalidKey, "the \(what) is not an SM2 key")
        }
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(self.pointer)
    }

    /// Encodes the key with `OSSL_ENCODER` (output type "DER" or "PEM", structure "PrivateKeyInfo" or
    /// "SubjectPublicKeyInfo").
    ///
    /// The type and structure are `StaticString`s because OpenSSL 3.0 keeps the pointers given to
    /// `OSSL_ENCODER_CTX_new_for_pkey` and reads them later in `OSSL_ENCODER_to_data`: a temporary C string
    /// bridged from a `String` would dangle (the encoding then fails with an empty error queue).
    func encode(selection: Int32, outputType: StaticString, structure: StaticString) throws -> [UInt8] {
        guard
            let context = OSSL_ENCODER_CTX_new_for_pkey(
                self.pointer,
                selection,
                outputType.hubCString,
                structure.hubCString,
                nil
            )
        else {
            throw CryptoError.openSSL("no OpenSSL encoder for an SM2 \(structure) in \(outputType)")
        }
        defer { OSSL_ENCODER_CTX_free(context) }
        var data: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard OSSL_ENCODER_to_data(context, &data, &length) == 1, let data else {
            throw CryptoError.openSSL("encoding an SM2 \(structure) as \(outputType) failed (OSSL_ENCODER_to_data)")
        }
        defer {
            OPENSSL_cleanse(data, length)
            chub_openssl_free(data)
        }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    /// Decodes a key with `OSSL_DECODER`; the whole input must be consumed. The strings are static for the same
    /// reason as in ``encode(selection:outputType:structure:)``.
    static func decode(
        _ input: UnsafeRawBufferPointer,
        inputType: StaticString,
        structure: StaticString,
        selection: Int32,
        what: String
    ) throws -> PKey {
        var key: OpaquePointer?
        guard
            let context = OSSL_DECODER_CTX_new_for_pkey(
                &key,
                inputType.hubCString,
                structure.hubCString,
                StaticString("SM2").hubCString,
                selection,
                nil,
                nil
            )
        else {
            throw CryptoError.openSSL("no OpenSSL decoder for an SM2 \(what) in \(inputType)", code: .invalidKey)
        }
        defer { OSSL_DECODER_CTX_free(context) }
        var pointer = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var remaining = input.count
        guard OSSL_DECODER_from_data(context, &pointer, &remaining) == 1, let key else {
            throw CryptoError.openSSL(
                "the \(what) could not be parsed as an SM2 \(structure) in \(inputType)",
                code: .invalidKey
            )
        }
        let owned = try PKey(taking: key, what: what)
        guard
            remaining == 0
                || (inputType.description == "PEM" && input[(input.count - remaining)...].allSatisfy(isSpace))
        else {
            throw CryptoError(.invalidKey, "the \(what) has \(remaining) bytes after the key")
        }
        return owned
    }
}

extension StaticString {
    /// The string as a C string in static storage, valid for the life of the process.
    var hubCString: UnsafePointer<CChar> {
        UnsafeRawPointer(self.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}

private func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09
}

extension SM2 {
    /// An SM2 private key (256-bit), with its public key.
    ///
    /// Import and export use PKCS#8 (`PrivateKeyInfo`), PEM (`-----BEGIN PRIVATE KEY-----`, what
    /// `openssl genpkey -algorithm SM2` writes) or DER. Encrypted PEM is not accepted. `description` never shows
    /// the key.
    public struct PrivateKey: Sendable, CustomStringConvertible {
        let key: PKey

        /// The matching public key.
        public let publicKey: PublicKey

        /// Generates a new key pair (`EVP_PKEY_CTX_new_from_name("SM2")`, `EVP_PKEY_generate`).
        /// - Throws: ``CryptoError`` `.openSSL` when OpenSSL cannot generate the key.
        public init() throws {
            guard let context = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else {
                throw CryptoError.openSSL("OpenSSL has no SM2 key generator (EVP_PKEY_CTX_new_from_name)")
            }
            defer { EVP_PKEY_CTX_free(context) }
            var generated: OpaquePointer?
            guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_generate(context, &generated) == 1, let generated
            else {
                throw CryptoError.openSSL("SM2 key generation failed (EVP_PKEY_generate)")
            }
            try self.init(key: PKey(taking: generated, what: "generated key"))
        }

        /// Parses a PKCS#8 private key in PEM.
        /// - Parameter pemRepresentation: the PEM text (`-----BEGIN PRIVATE KEY-----`).
        /// - Throws: ``CryptoError`` `.invalidKey` when the text is not an unencrypted SM2 private key.
        public init(pemRepresentation: String) throws {
            let bytes = Array(pemRepresentation.utf8)
            let key = try bytes.withUnsafeBytes {
                try PKey.decode(
                    $0,
                    inputType: "PEM",
                    structure: "PrivateKeyInfo",
                    selection: chub_select_keypair(),
                    what: "PEM private key"
                )
            }
            try self.init(key: key)
        }

        /// Parses a PKCS#8 private key in DER.
        /// - Parameter derRepresentation: the DER bytes of a `PrivateKeyInfo`.
        /// - Throws: ``CryptoError`` `.invalidKey` when the bytes are not an SM2 private key.
        public init(derRepresentation: some DataProtocol) throws {
            let key = try derRepresentation.hubWithContiguousBytes {
                try PKey.decode(
                    $0,
                    inputType: "DER",
                    structure: "PrivateKeyInfo",
                    selection: chub_select_keypair(),
                    what: "DER private key"
                )
            }
            try self.init(key: key)
        }

        private init(key: PKey) throws {
            // The public half gets its own EVP_PKEY, so a PublicKey never keeps private material alive.
            let spki = try key.encode(
                selection: chub_select_public_key(),
                outputType: "DER",
                structure: "SubjectPublicKeyInfo"
            )
            guard try Self.hasPrivateComponent(key) else {
                throw CryptoError(.invalidKey, "the key holds no private component; import it as SM2.PublicKey")
            }
            self.key = key
            self.publicKey = try PublicKey(derRepresentation: spki)
        }

        private static func hasPrivateComponent(_ key: PKey) throws -> Bool {
            var number: OpaquePointer?
            let status = EVP_PKEY_get_bn_param(key.pointer, OSSL_PKEY_PARAM_PRIV_KEY, &number)
            defer { BN_clear_free(number) }
            OpenSSLErrorQueue.clear()
            return status == 1 && number != nil
        }

        /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), unencrypted: store it as a secret.
        /// - Throws: ``CryptoError`` `.openSSL` when encoding fails.
        public var pemRepresentation: String {
            get throws {
                let bytes = try self.key.encode(
                    selection: chub_select_keypair(),
                    outputType: "PEM",
                    structure: "PrivateKeyInfo"
                )
                return String(decoding: bytes, as: UTF8.self)
            }
        }

        /// The key as PKCS#8 DER, unencrypted: store it as a secret.
        /// - Throws: ``CryptoError`` `.openSSL` when encoding fails.
        public var derRepresentation: Data {
            get throws {
                Data(
                    try self.key.encode(
                        selection: chub_select_keypair(),
                        outputType: "DER",
                        structure: "PrivateKeyInfo"
                    )
                )
            }
        }

        /// Signs `data` with SM2-with-SM3 (the message is hashed with ZA, as `openssl pkeyutl -rawin -digest sm3`
        /// does).
        /// - Parameters:
        ///   - data: the message (not a digest).
        ///   - signerID: the signer ID; the standard `1234567812345678` unless the peer agreed another.
        /// - Returns: the signature.
        /// - Throws: ``CryptoError`` `.openSSL` when OpenSSL fails to sign.
        public func signature(for data: some DataProtocol, signerID: SignerID = .default) throws -> Signature {
            let der = try withSM2DigestContext(key: self.key, signerID: signerID, signing: true) { context in
                try data.hubForEachRegion { region in
                    guard region.isEmpty || EVP_DigestSignUpdate(context, region.baseAddress, region.count) == 1 else {
                        throw CryptoError.openSSL("SM2 signing failed (EVP_DigestSignUpdate)")
                    }
                }
                var signature = [UInt8](repeating: 0, count: 128)
                var length = signature.count
                guard EVP_DigestSignFinal(context, &signature, &length) == 1 else {
                    throw CryptoError.openSSL("SM2 signing failed (EVP_DigestSignFinal)")
                }
                return Array(signature.prefix(length))
            }
            do {
                return try Signature(derRepresentation: der)
            } catch {
                throw CryptoError(.openSSL, "OpenSSL produced an SM2 signature that is not valid DER")
            }
        }

        /// `SM2.PrivateKey(redacted)`.
        public var description: String {
            "SM2.PrivateKey(redacted)"
        }
    }

    /// An SM2 public key.
    ///
    /// Import and export use `SubjectPublicKeyInfo`, in PEM (`-----BEGIN PUBLIC KEY-----`, what
    /// `openssl pkey -pubout` writes) or DER.
    public struct PublicKey: Sendable {
        let key: PKey

        /// Parses a `SubjectPublicKeyInfo` in PEM.
        /// - Parameter pemRepresentation: the PEM text (`-----BEGIN PUBLIC KEY-----`).
        /// - Throws: ``CryptoError`` `.invalidKey` when the text is not an SM2 public key.
        public init(pemRepresentation: String) throws {
            let bytes = Array(pemRepresentation.utf8)
            self.key = try bytes.withUnsafeBytes {
                try PKey.decode(
                    $0,
                    inputType: "PEM",
                    structure: "SubjectPublicKeyInfo",
                    selection: chub_select_public_key(),
                    what: "PEM public key"
                )
            }
        }

        /// Parses a `SubjectPublicKeyInfo` in DER.
        /// - Parameter derRepresentation: the DER bytes.
        /// - Throws: ``CryptoError`` `.invalidKey` when the bytes are not an SM2 public key.
        public init(derRepresentation: some DataProtocol) throws {
            self.key = try derRepresentation.hubWithContiguousBytes {
                try PKey.decode(
                    $0,
                    inputType: "DER",
                    structure: "SubjectPublicKeyInfo",
                    selection: chub_select_public_key(),
                    what: "DER public key"
                )
            }
        }

        /// The key as a PEM `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`).
        /// - Throws: ``CryptoError`` `.openSSL` when encoding fails.
        public var pemRepresentation: String {
            get throws {
                let bytes = try self.key.encode(
                    selection: chub_select_public_key(),
                    outputType: "PEM",
                    structure: "SubjectPublicKeyInfo"
                )
                return String(decoding: bytes, as: UTF8.self)
            }
        }

        /// The key as a DER `SubjectPublicKeyInfo`.
        /// - Throws: ``CryptoError`` `.openSSL` when encoding fails.
        public var derRepresentation: Data {
            get throws {
                Data(
                    try self.key.encode(
                        selection: chub_select_public_key(),
                        outputType: "DER",
                        structure: "SubjectPublicKeyInfo"
                    )
                )
            }
        }

        /// Checks an SM2-with-SM3 signature over `data`.
        /// - Parameters:
        ///   - signature: the signature.
        ///   - data: the message (not a digest).
        ///   - signerID: the signer ID the signer used; the standard `1234567812345678` unless agreed otherwise.
        /// - Returns: `true` only when the signature is valid for this key, message and signer ID; `false` for
        ///   any failure, including an OpenSSL error.
        public func isValidSignature(
            _ signature: Signature,
            for data: some DataProtocol,
            signerID: SignerID = .default
        ) -> Bool {
            let der = signature.derBytes
            let valid = try? withSM2DigestContext(key: self.key, signerID: signerID, signing: false) { context in
                try data.hubForEachRegion { region in
                    guard region.isEmpty || EVP_DigestVerifyUpdate(context, region.baseAddress, region.count) == 1
                    else {
                        throw CryptoError.openSSL("SM2 verification failed (EVP_DigestVerifyUpdate)")
                    }
                }
                return EVP_DigestVerifyFinal(context, der, der.count) == 1
            }
            OpenSSLErrorQueue.clear()
            return valid == true
        }
    }
}

/// Runs `body` with an `EVP_MD_CTX` initialised for SM2-with-SM3 signing or verification under `signerID`.
///
/// The ID goes on an `EVP_PKEY_CTX` that is attached to the digest context before `EVP_DigestSignInit`; the
/// digest context does not own it, so it is freed after the digest context.
private func withSM2DigestContext<R>(
    key: PKey,
    signerID: SM2.SignerID,
    signing: Bool,
    _ body: (OpaquePointer) throws -> R
) throws -> R {
    let sm3 = try FetchedAlgorithms.require(FetchedAlgorithms.shared.sm3, "SM3")
    guard let keyContext = EVP_PKEY_CTX_new(key.pointer, nil) else {
        throw CryptoError.openSSL("EVP_PKEY_CTX_new failed for an SM2 key")
    }
    defer { EVP_PKEY_CTX_free(keyContext) }
    guard let digestContext = EVP_MD_CTX_new() else {
        throw CryptoError.openSSL("EVP_MD_CTX_new failed")
    }
    defer { EVP_MD_CTX_free(digestContext) }
    // OpenSSL copies the ID. An empty ID still gets a valid pointer (to a dummy byte), with length 0.
    let idLength = Int32(signerID.bytes.count)
    let idStatus = (signerID.bytes.isEmpty ? [0] : signerID.bytes).withUnsafeBytes {
        EVP_PKEY_CTX_set1_id(keyContext, $0.baseAddress, idLength)
    }
    guard idStatus == 1 else {
        throw CryptoError.openSSL("setting the SM2 signer ID failed (EVP_PKEY_CTX_set1_id)")
    }
    EVP_MD_CTX_set_pkey_ctx(digestContext, keyContext)
    let status =
        signing
        ? EVP_DigestSignInit(digestContext, nil, sm3, nil, key.pointer)
        : EVP_DigestVerifyInit(digestContext, nil, sm3, nil, key.pointer)
    guard status == 1 else {
        throw CryptoError.openSSL(
            signing
                ? "SM2 signing initialisation failed (EVP_DigestSignInit)"
                : "SM2 verification initialisation failed (EVP_DigestVerifyInit)"
        )
    }
    return try body(digestContext)
}
