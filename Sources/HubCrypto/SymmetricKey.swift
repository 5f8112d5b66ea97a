import COpenSSL

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A secret key for HMAC-SM3 and SM4, held in memory that is wiped (`OPENSSL_cleanse`) when the last copy goes.
///
/// Its `description` never shows the key: only its size.
public struct SymmetricKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let storage: SecureBytes

    /// Wraps existing key bytes.
    /// - Parameter data: the key; any length is accepted here, and each algorithm checks the sizes it needs.
    public init(data: some DataProtocol) {
        self.storage = SecureBytes(copying: data)
    }

    /// Generates a random key with OpenSSL's CSPRNG (`RAND_bytes`).
    /// - Parameter byteCount: the key size in bytes, for example 16 or 32.
    /// - Throws: ``CryptoError`` `.invalidArgument` when `byteCount` is not positive, `.randomFailed` when the
    ///   random generator fails.
    public init(randomByteCount byteCount: Int) throws {
        guard byteCount > 0 else {
            throw CryptoError(.invalidArgument, "a random key needs a positive byte count")
        }
        var bytes = try randomBytes(count: byteCount)
        self.storage = SecureBytes(copying: bytes)
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }

    /// The key size in bytes.
    public var byteCount: Int {
        self.storage.count
    }

    /// Calls `body` with the key bytes; the pointer must not escape the closure.
    /// - Parameter body: receives the key bytes.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self.storage) { try body(self.storage.bytes) }
    }

    /// `SymmetricKey(<n> bits, redacted)`.
    public var description: String {
        "SymmetricKey(\(self.byteCount * 8) bits, redacted)"
    }

    /// Same as ``description``: the key is never printed.
    public var debugDescription: String {
        self.description
    }
}

/// Heap bytes that are wiped when freed.
final class SecureBytes: @unchecked Sendable {
    // @unchecked Sendable: the memory is written only in init and is read-only afterwards, so concurrent reads
    // through `bytes` are safe; deinit runs once no reference remains.
    private let memory: UnsafeMutableRawBufferPointer
    let count: Int

    init(copying data: some DataProtocol) {
        self.count = data.count
        self.memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(self.count, 1), alignment: 16)
        _ = data.copyBytes(to: self.memory)
    }

    init(copying bytes: UnsafeRawBufferPointer) {
        self.count = bytes.count
        self.memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(self.count, 1), alignment: 16)
        self.memory.copyMemory(from: bytes)
    }

    /// The bytes, valid while this object lives.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self.memory[0..<self.count])
    }

    deinit {
        OPENSSL_cleanse(self.memory.baseAddress, self.memory.count)
        self.memory.deallocate()
    }
}
