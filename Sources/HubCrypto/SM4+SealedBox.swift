import COpenSSL

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

extension SM4 {
    /// The key for ``SM4/seal(_:using:authenticating:)`` and ``SM4/open(_:using:authenticating:)``: one master
    /// secret and its version number.
    ///
    /// Callers hold one 16- or 32-byte master secret. Two independent keys are derived from it and the version
    /// (`version` is 4 bytes, big-endian, after the ASCII label):
    /// - the SM4 encryption key: the first 16 bytes of
    ///   HMAC-SM3(master, `"huitong.sealedbox.v1.encryption"` ‖ version);
    /// - the HMAC-SM3 key: HMAC-SM3(master, `"huitong.sealedbox.v1.authentication"` ‖ version), 32 bytes.
    ///
    /// The version is written in clear into every box, so that after a key rotation old records still name the
    /// key that opens them (read it with ``SealedBox/keyVersion`` and pick that key). Because the version is
    /// part of the derivation, a key of another version never opens a box, even with the same master secret.
    public struct SealingKey: Sendable, CustomStringConvertible {
        /// The version written into boxes sealed with this key.
        public let version: UInt32
        let encryptionKey: SymmetricKey
        /// HMAC-SM3 keyed with the derived authentication key and nothing added: each tag starts from a copy of it
        /// (`EVP_MAC_CTX_dup`), not from a new context that fetches its digest and hashes the key again. That setup
        /// was about half of the tag's cost, and tags were 9 % of the audit role's CPU.
        let authenticator: HMACSM3

        /// Derives the encryption and authentication keys from a master secret.
        /// - Parameters:
        ///   - masterKey: 16 or 32 secret bytes, for example from ``SymmetricKey/init(randomByteCount:)``.
        ///   - version: the key's version number, stored in clear in each box.
        /// - Throws: ``CryptoError`` `.invalidKey` when the master key is not 16 or 32 bytes, `.openSSL` when
        ///   the derivation fails.
        public init(masterKey: SymmetricKey, version: UInt32) throws {
            guard masterKey.byteCount == 16 || masterKey.byteCount == 32 else {
                throw CryptoError(.invalidKey, "an SM4 master key is 16 or 32 bytes, got \(masterKey.byteCount)")
            }
            self.version = version
            let versionBytes = withUnsafeBytes(of: version.bigEndian) { Array($0) }
            var encryption = try HMACSM3.authenticationCode(
                for: Array("huitong.sealedbox.v1.encryption".utf8) + versionBytes,
                using: masterKey
            ).bytes
            var authentication = try HMACSM3.authenticationCode(
                for: Array("huitong.sealedbox.v1.authentication".utf8) + versionBytes,
                using: masterKey
            ).bytes
            self.encryptionKey = SymmetricKey(data: encryption.prefix(SM4.blockByteCount))
            self.authenticator = HMACSM3(key: SymmetricKey(data: authentication))
            encryption.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
            authentication.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
        }

        /// `SM4.SealingKey(version: n, redacted)`.
        public var description: String {
            "SM4.SealingKey(version: \(self.version), redacted)"
        }
    }

    /// An encrypted and authenticated record, self-describing.
    ///
    /// Byte layout of ``combined`` (format version 1); integers are big-endian:
    ///
    /// | offset      | size | field                                                    |
    /// |-------------|------|----------------------------------------------------------|
    /// | 0           | 1    | format version, `0x01`                                   |
    /// | 1           | 4    | key version (`UInt32`), in clear                         |
    /// | 5           | 16   | IV, fresh from `RAND_bytes` for every seal               |
    /// | 21          | n    | SM4-CBC ciphertext with PKCS#7 padding; n ≥ 16, n % 16 = 0 |
    /// | 21 + n      | 32   | tag                                                      |
    ///
    /// tag = HMAC-SM3(authentication key, bytes 0 ..< 21 + n ‖ `UInt64` length of the associated data ‖
    /// associated data), that is format version ‖ key version ‖ IV ‖ ciphertext ‖ AD length ‖ AD.
    /// The smallest box (empty plaintext) is 69 bytes; a box is 53 bytes plus the plaintext rounded up to the
    /// next multiple of 16 (a full extra block when already a multiple).
    ///
    /// Opening verifies the tag in constant time before anything is decrypted.
    public struct SealedBox: Hashable, Sendable {
        /// The only format version this code writes and reads.
        public static let formatVersion: UInt8 = 1
        static let headerByteCount = 1 + 4 + SM4.blockByteCount
        static let tagByteCount = HMACSM3.byteCount
        /// The size of the smallest box: header, one ciphertext block, tag (69 bytes).
        public static let minimumByteCount = headerByteCount + SM4.blockByteCount + tagByteCount

        /// The whole box, in the layout above; store or send these bytes.
        public let combined: Data

        /// Checks the layout of a stored box; its tag needs the key and is checked by
        /// ``SM4/open(_:using:authenticating:)``.
        /// - Parameter combined: the bytes of a box.
        /// - Throws: ``CryptoError`` `.malformedCiphertext` when the bytes are shorter than 69, of an unknown
        ///   format version, or when the ciphertext is not a whole number of blocks.
        public init(combined: some DataProtocol) throws {
            let bytes = Data([UInt8](combined))
            guard bytes.count >= Self.minimumByteCount else {
                throw CryptoError(
                    .malformedCiphertext,
                    "a sealed box is at least \(Self.minimumByteCount) bytes, got \(bytes.count); it was truncated"
                )
            }
            guard bytes[bytes.startIndex] == Self.formatVersion else {
                throw CryptoError(
                    .malformedCiphertext,
                    "the sealed box has format version \(bytes[bytes.startIndex]); only version 1 is known"
                )
            }
            guard (bytes.count - Self.headerByteCount - Self.tagByteCount) % SM4.blockByteCount == 0 else {
                throw CryptoError(
                    .malformedCiphertext,
                    "the sealed box ciphertext is not a whole number of 16-byte blocks; it was truncated or padded"
                )
            }
            self.combined = bytes
        }

        init(validated: Data) {
            self.combined = validated
        }

        /// The version of the key that sealed this box, readable without any key.
        public var keyVersion: UInt32 {
            self.combined.dropFirst(1).prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
        }

        /// The 16-byte IV (a copy indexed from 0).
        public var iv: Data {
            Data([UInt8](self.combined.dropFirst(5).prefix(SM4.blockByteCount)))
        }

        /// The SM4-CBC ciphertext (a copy indexed from 0).
        public var ciphertext: Data {
            Data([UInt8](self.ciphertextSlice))
        }

        /// The 32-byte HMAC-SM3 tag (a copy indexed from 0).
        public var tag: Data {
            Data([UInt8](self.tagSlice))
        }

        var ciphertextSlice: Data {
            self.combined.dropFirst(Self.headerByteCount).dropLast(Self.tagByteCount)
        }

        var tagSlice: Data {
            self.combined.suffix(Self.tagByteCount)
        }
    }

    /// Encrypts and authenticates `plaintext` (SM4-CBC with a random IV, then HMAC-SM3).
    /// - Parameters:
    ///   - plaintext: the data to protect.
    ///   - key: the sealing key; its version goes into the box.
    ///   - associatedData: data bound to the box but not stored in it (for example the record's table and ID);
    ///     the same bytes must be given to ``open(_:using:authenticating:)``.
    /// - Returns: the sealed box.
    /// - Throws: ``CryptoError`` `.randomFailed` when no IV could be drawn, `.openSSL` when OpenSSL fails.
    public static func seal(
        _ plaintext: some DataProtocol,
        using key: SealingKey,
        authenticating associatedData: some DataProtocol
    ) throws -> SealedBox {
        let iv = try randomBytes(count: blockByteCount)
        let cipher = try FetchedAlgorithms.require(FetchedAlgorithms.shared.sm4CBC, "SM4-CBC")
        let ciphertext = try key.encryptionKey.withUnsafeBytes { keyBytes in
            try iv.withUnsafeBytes { ivBytes in
                try plaintext.hubWithContiguousBytes { input in
                    try runCipher(cipher, key: keyBytes, iv: ivBytes, encrypt: true, padding: true, input: input)
                }
            }
        }
        var box = Data(capacity: SealedBox.headerByteCount + ciphertext.count + SealedBox.tagByteCount)
        box.append(SealedBox.formatVersion)
        withUnsafeBytes(of: key.version.bigEndian) { box.append(contentsOf: $0) }
        box.append(contentsOf: iv)
        box.append(contentsOf: ciphertext)
        let tag = try authenticationTag(authenticated: box, associatedData: associatedData, key: key)
        box.append(contentsOf: tag.bytes)
        return SealedBox(validated: box)
    }

    /// Seals `plaintext` with no associated data; see ``seal(_:using:authenticating:)``.
    /// - Parameters:
    ///   - plaintext: the data to protect.
    ///   - key: the sealing key.
    /// - Returns: the sealed box.
    /// - Throws: as ``seal(_:using:authenticating:)``.
    public static func seal(_ plaintext: some DataProtocol, using key: SealingKey) throws -> SealedBox {
        try seal(plaintext, using: key, authenticating: [UInt8]())
    }

    /// Verifies a box's tag in constant time and, only if it is valid, decrypts it.
    /// - Parameters:
    ///   - box: the sealed box.
    ///   - key: the key whose version is ``SealedBox/keyVersion``.
    ///   - associatedData: the associated data given to ``seal(_:using:authenticating:)``.
    /// - Returns: the plaintext.
    /// - Throws: ``CryptoError`` `.authenticationFailed` when the tag does not verify (wrong key or key version,
    ///   wrong associated data, or an altered box), `.openSSL` when OpenSSL fails.
    public static func open(
        _ box: SealedBox,
        using key: SealingKey,
        authenticating associatedData: some DataProtocol
    ) throws -> Data {
        let authenticated = box.combined.dropLast(SealedBox.tagByteCount)
        let expected = try authenticationTag(authenticated: authenticated, associatedData: associatedData, key: key)
        let valid = box.tagSlice.hubWithContiguousBytes { given in
            expected.bytes.withUnsafeBytes { constantTimeEquals(given, $0) }
        }
        guard valid else {
            var error = CryptoError(
                .authenticationFailed,
                "the sealed box did not authenticate: wrong key, wrong associated data, or the box was altered"
            )
            if box.keyVersion != key.version {
                error.message += " (the box names key version \(box.keyVersion), the key is version \(key.version))"
            }
            throw error
        }
        let cipher = try FetchedAlgorithms.require(FetchedAlgorithms.shared.sm4CBC, "SM4-CBC")
        let plaintext = try key.encryptionKey.withUnsafeBytes { keyBytes in
            try box.iv.hubWithContiguousBytes { ivBytes in
                try box.ciphertextSlice.hubWithContiguousBytes { input in
                    try runCipher(cipher, key: keyBytes, iv: ivBytes, encrypt: false, padding: true, input: input)
                }
            }
        }
        return Data(plaintext)
    }

    /// Opens a box sealed with no associated data; see ``open(_:using:authenticating:)``.
    /// - Parameters:
    ///   - box: the sealed box.
    ///   - key: the key whose version is ``SealedBox/keyVersion``.
    /// - Returns: the plaintext.
    /// - Throws: as ``open(_:using:authenticating:)``.
    public static func open(_ box: SealedBox, using key: SealingKey) throws -> Data {
        try open(box, using: key, authenticating: [UInt8]())
    }

    private static func authenticationTag(
        authenticated: some DataProtocol,
        associatedData: some DataProtocol,
        key: SealingKey
    ) throws -> HMACSM3.AuthenticationCode {
        var mac = key.authenticator
        mac.update(data: authenticated)
        withUnsafeBytes(of: UInt64(associatedData.count).bigEndian) { mac.update(bufferPointer: $0) }
        mac.update(data: associatedData)
        return try mac.finalize()
    }
}
