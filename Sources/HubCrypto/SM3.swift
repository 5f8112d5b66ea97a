import COpenSSL

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The SM3 hash function (GB/T 32905-2016): 256-bit output, 64-byte blocks.
///
/// Use ``hash(data:)`` for one buffer, or an instance to hash data that arrives in pieces (the audit hash chain
/// feeds it record by record):
///
/// ```swift
/// var hasher = SM3()
/// hasher.update(data: previousHash.bytes)
/// hasher.update(data: canonicalRecord)
/// let digest = try hasher.finalize()
/// ```
///
/// `SM3` has value semantics: copying a hasher forks its state. ``update(data:)`` never throws; an OpenSSL
/// failure during updates is remembered and thrown by ``finalize()``.
public struct SM3: Sendable {
    /// The digest size in bytes (32).
    public static let byteCount = 32

    /// The block size in bytes (64).
    public static let blockByteCount = 64

    private var state: State

    /// Starts a new hash.
    public init() {
        self.state = State()
    }

    /// Hashes `data` in one call.
    /// - Parameter data: the bytes to hash.
    /// - Returns: the 32-byte digest.
    /// - Throws: ``CryptoError`` `.openSSL` when OpenSSL fails (not expected in practice).
    public static func hash(data: some DataProtocol) throws -> Digest {
        var hasher = SM3()
        hasher.update(data: data)
        return try hasher.finalize()
    }

    /// Adds `data` to the hash.
    /// - Parameter data: the next bytes.
    public mutating func update(data: some DataProtocol) {
        self.makeUnique()
        let state = self.state
        data.hubForEachRegion { state.update($0) }
    }

    /// Adds the bytes of `buffer` to the hash.
    /// - Parameter buffer: the next bytes.
    public mutating func update(bufferPointer buffer: UnsafeRawBufferPointer) {
        self.makeUnique()
        self.state.update(buffer)
    }

    /// Returns the digest of everything added so far. The hasher is left as it was, so more data may follow.
    /// - Returns: the 32-byte digest.
    /// - Throws: ``CryptoError`` `.openSSL` when an earlier update or the finalisation failed in OpenSSL.
    public func finalize() throws -> Digest {
        try self.state.finalize()
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&self.state) {
            self.state = self.state.copy()
        }
    }

    /// One `EVP_MD_CTX` and the first failure seen on it.
    final class State: @unchecked Sendable {
        // @unchecked Sendable: SM3 mutates a State only after isKnownUniquelyReferenced proved it holds the only
        // reference (copy-on-write), and the non-mutating finalize() only reads the context through
        // EVP_MD_CTX_copy_ex into a private context; concurrent reads of an EVP_MD_CTX are safe in OpenSSL 3.
        private let context: OpaquePointer?
        private var failure: CryptoError?

        init() {
            let context = EVP_MD_CTX_new()
            self.context = context
            do {
                let md = try FetchedAlgorithms.require(FetchedAlgorithms.shared.sm3, "SM3")
                guard let context, EVP_DigestInit_ex2(context, md, nil) == 1 else {
                    throw CryptoError.openSSL("SM3 digest initialisation failed (EVP_DigestInit_ex2)")
                }
            } catch {
                self.failure = error as? CryptoError
            }
        }

        private init(copying other: State) {
            let context = EVP_MD_CTX_new()
            self.context = context
            self.failure = other.failure
            if self.failure == nil, context == nil || EVP_MD_CTX_copy_ex(context, other.context) != 1 {
                self.failure = CryptoError.openSSL("SM3 hasher copy failed (EVP_MD_CTX_copy_ex)")
            }
        }

        func copy() -> State {
            State(copying: self)
        }

        func update(_ buffer: UnsafeRawBufferPointer) {
            guard self.failure == nil, !buffer.isEmpty else {
                return
            }
            if EVP_DigestUpdate(self.context, buffer.baseAddress, buffer.count) != 1 {
                self.failure = CryptoError.openSSL("SM3 update failed (EVP_DigestUpdate)")
            }
        }

        func finalize() throws -> Digest {
            if let failure = self.failure {
                throw failure
            }
            let copy = State(copying: self)
            if let failure = copy.failure {
                throw failure
            }
            var bytes = [UInt8](repeating: 0, count: SM3.byteCount)
            var length: UInt32 = 0
            let status = bytes.withUnsafeMutableBufferPointer {
                EVP_DigestFinal_ex(copy.context, $0.baseAddress, &length)
            }
            guard status == 1, length == SM3.byteCount else {
                throw CryptoError.openSSL("SM3 finalisation failed (EVP_DigestFinal_ex)")
            }
            return Digest(uncheckedBytes: bytes)
        }

        deinit {
            EVP_MD_CTX_free(self.context)
        }
    }
}

extension SM3 {
    /// A 32-byte SM3 digest. Its `description` is the lower-case hexadecimal form.
    public struct Digest: Hashable, Sendable, CustomStringConvertible {
        /// The 32 digest bytes.
        public let bytes: [UInt8]

        init(uncheckedBytes bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// Wraps 32 digest bytes, for example a previous hash read back from storage.
        /// - Parameter rawRepresentation: exactly 32 bytes.
        /// - Throws: ``CryptoError`` `.invalidArgument` when the length is not 32.
        public init(rawRepresentation: some DataProtocol) throws {
            guard rawRepresentation.count == SM3.byteCount else {
                throw CryptoError(.invalidArgument, "an SM3 digest is 32 bytes, got \(rawRepresentation.count)")
            }
            self.bytes = [UInt8](rawRepresentation)
        }

        /// Parses 64 hexadecimal digits (either case).
        /// - Parameter hexString: the digest in hexadecimal.
        /// - Throws: ``CryptoError`` `.invalidArgument` when the text is not 64 hexadecimal digits.
        public init(hexString: String) throws {
            guard let bytes = [UInt8](hubHex: hexString), bytes.count == SM3.byteCount else {
                throw CryptoError(.invalidArgument, "an SM3 digest in hexadecimal is 64 hex digits")
            }
            self.bytes = bytes
        }

        /// The digest as 64 lower-case hexadecimal digits.
        public var hexString: String {
            self.bytes.hubHexString
        }

        /// The digest as `Data`.
        public var rawRepresentation: Data {
            Data(self.bytes)
        }

        /// The lower-case hexadecimal form.
        public var description: String {
            self.hexString
        }
    }
}

extension Array where Element == UInt8 {
    /// Parses an even number of hexadecimal digits; nil on any other character.
    init?(hubHex text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else {
            return nil
        }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else {
                return nil
            }
            out.append(high << 4 | low)
            index += 2
        }
        self = out
    }
}
