import COpenSSL

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// HMAC with the SM3 hash (RFC 2104 over GB/T 32905), through OpenSSL's `EVP_MAC` "HMAC" with digest SM3.
///
/// One call with ``authenticationCode(for:using:)``, a constant-time check with
/// ``isValidAuthenticationCode(_:authenticating:using:)``, or an instance for data that arrives in pieces.
/// Copying an instance forks its state. ``update(data:)`` never throws; an OpenSSL failure is remembered and
/// thrown by ``finalize()``.
public struct HMACSM3: Sendable {
    /// The authentication code size in bytes (32).
    public static let byteCount = 32

    private var state: State

    /// Starts an HMAC-SM3 computation.
    /// - Parameter key: the secret key; any length, 32 bytes recommended.
    public init(key: SymmetricKey) {
        self.state = State(key: key)
    }

    /// Computes HMAC-SM3 of `data`.
    /// - Parameters:
    ///   - data: the message.
    ///   - key: the secret key.
    /// - Returns: the 32-byte code.
    /// - Throws: ``CryptoError`` `.openSSL` when OpenSSL fails (not expected in practice).
    public static func authenticationCode(for data: some DataProtocol, using key: SymmetricKey) throws
        -> AuthenticationCode
    {
        var mac = HMACSM3(key: key)
        mac.update(data: data)
        return try mac.finalize()
    }

    /// Checks an authentication code in constant time.
    /// - Parameters:
    ///   - code: the code to check; a code that is not 32 bytes long is invalid.
    ///   - data: the message it claims to authenticate.
    ///   - key: the secret key.
    /// - Returns: `true` when `code` is HMAC-SM3(key, data).
    /// - Throws: ``CryptoError`` `.openSSL` when OpenSSL fails to compute the code (never for a wrong code).
    public static func isValidAuthenticationCode(
        _ code: some DataProtocol,
        authenticating data: some DataProtocol,
        using key: SymmetricKey
    ) throws -> Bool {
        let expected = try authenticationCode(for: data, using: key)
        return code.hubWithContiguousBytes { given in
            expected.bytes.withUnsafeBytes { constantTimeEquals(given, $0) }
        }
    }

    /// Adds `data` to the message.
    /// - Parameter data: the next bytes.
    public mutating func update(data: some DataProtocol) {
        self.makeUnique()
        let state = self.state
        data.hubForEachRegion { state.update($0) }
    }

    /// Adds the bytes of `buffer` to the message.
    /// - Parameter buffer: the next bytes.
    public mutating func update(bufferPointer buffer: UnsafeRawBufferPointer) {
        self.makeUnique()
        self.state.update(buffer)
    }

    /// Returns the code of everything added so far; the instance is left as it was.
    /// - Returns: the 32-byte code.
    /// - Throws: ``CryptoError`` `.openSSL` when an earlier update or the finalisation failed in OpenSSL.
    public func finalize() throws -> AuthenticationCode {
        try self.state.finalize()
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&self.state) {
            self.state = self.state.copy()
        }
    }

    /// One `EVP_MAC_CTX` and the first failure seen on it.
    final class State: @unchecked Sendable {
        // @unchecked Sendable: HMACSM3 mutates a State only after isKnownUniquelyReferenced proved it holds the
        // only reference (copy-on-write); the non-mutating finalize() only reads the context through
        // EVP_MAC_CTX_dup into a private context, and concurrent reads of an EVP_MAC_CTX are safe in OpenSSL 3.
        private let context: OpaquePointer?
        private var failure: CryptoError?

        init(key: SymmetricKey) {
            var context: OpaquePointer?
            do {
                let mac = try FetchedAlgorithms.require(FetchedAlgorithms.shared.hmac, "HMAC")
                context = EVP_MAC_CTX_new(mac)
                guard let context else {
                    throw CryptoError.openSSL("HMAC-SM3 context allocation failed (EVP_MAC_CTX_new)")
                }
                let status = key.withUnsafeBytes { keyBytes in
                    chub_hmac_sm3_init(
                        context,
                        keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        keyBytes.count
                    )
                }
                guard status == 1 else {
                    throw CryptoError.openSSL("HMAC-SM3 initialisation failed (EVP_MAC_init)")
                }
            } catch {
                self.failure = error as? CryptoError
            }
            self.context = context
        }

        private init(copying other: State) {
            self.failure = other.failure
            self.context = other.context.flatMap { EVP_MAC_CTX_dup($0) }
            if self.failure == nil, self.context == nil {
                self.failure = CryptoError.openSSL("HMAC-SM3 copy failed (EVP_MAC_CTX_dup)")
            }
        }

        func copy() -> State {
            State(copying: self)
        }

        func update(_ buffer: UnsafeRawBufferPointer) {
            guard self.failure == nil, !buffer.isEmpty else {
                return
            }
            let bytes = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
            if EVP_MAC_update(self.context, bytes, buffer.count) != 1 {
                self.failure = CryptoError.openSSL("HMAC-SM3 update failed (EVP_MAC_update)")
            }
        }

        func finalize() throws -> AuthenticationCode {
            if let failure = self.failure {
                throw failure
            }
            let copy = State(copying: self)
            if let failure = copy.failure {
                throw failure
            }
            var bytes = [UInt8](repeating: 0, count: HMACSM3.byteCount)
            var length = 0
            let status = bytes.withUnsafeMutableBufferPointer {
                EVP_MAC_final(copy.context, $0.baseAddress, &length, $0.count)
            }
            guard status == 1, length == HMACSM3.byteCount else {
                throw CryptoError.openSSL("HMAC-SM3 finalisation failed (EVP_MAC_final)")
            }
            return AuthenticationCode(bytes: bytes)
        }

        deinit {
            EVP_MAC_CTX_free(self.context)
        }
    }
}

extension HMACSM3 {
    /// A 32-byte HMAC-SM3 code. `==` runs in constant time; `description` is lower-case hexadecimal.
    public struct AuthenticationCode: Hashable, Sendable, CustomStringConvertible {
        /// The 32 code bytes.
        public let bytes: [UInt8]

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// The code as 64 lower-case hexadecimal digits.
        public var hexString: String {
            self.bytes.hubHexString
        }

        /// The code as `Data`.
        public var rawRepresentation: Data {
            Data(self.bytes)
        }

        /// The lower-case hexadecimal form.
        public var description: String {
            self.hexString
        }

        /// Compares two codes in constant time.
        /// - Parameters:
        ///   - lhs: a code.
        ///   - rhs: another code.
        /// - Returns: whether the bytes are equal.
        public static func == (lhs: AuthenticationCode, rhs: AuthenticationCode) -> Bool {
            lhs.bytes.withUnsafeBytes { left in rhs.bytes.withUnsafeBytes { constantTimeEquals(left, $0) } }
        }

        /// Hashes the bytes.
        /// - Parameter hasher: the hasher.
        public func hash(into hasher: inout Hasher) {
            hasher.combine(self.bytes)
        }
    }
}
