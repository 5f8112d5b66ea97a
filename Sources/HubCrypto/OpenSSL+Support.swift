import COpenSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Algorithms fetched once from OpenSSL's default library context.
///
/// Fetching (`EVP_MD_fetch` and friends) is costly and the implicit fetch behind `EVP_sm3()` runs on every
/// init, so each algorithm is fetched once for the life of the process and never freed.
struct FetchedAlgorithms: @unchecked Sendable {
    // @unchecked Sendable: the fields are EVP_MD / EVP_MAC / EVP_CIPHER objects, which OpenSSL 3 documents as
    // immutable and reference-counted once fetched and safe to use from many threads at once; they are never
    // mutated nor freed after this struct is built.
    let sm3: OpaquePointer?
    let hmac: OpaquePointer?
    let sm4ECB: OpaquePointer?
    let sm4CBC: OpaquePointer?

    static let shared = FetchedAlgorithms(
        sm3: EVP_MD_fetch(nil, "SM3", nil),
        hmac: EVP_MAC_fetch(nil, "HMAC", nil),
        sm4ECB: EVP_CIPHER_fetch(nil, "SM4-ECB", nil),
        sm4CBC: EVP_CIPHER_fetch(nil, "SM4-CBC", nil)
    )

    /// Returns the algorithm, or throws `.openSSL` naming it when the provider does not offer it.
    static func require(
        _ algorithm: OpaquePointer?,
        _ name: String,
        function: String = #function,
        line: Int = #line
    ) throws -> OpaquePointer {
        guard let algorithm else {
            throw CryptoError.openSSL(
                "OpenSSL does not provide \(name); check that the default provider is loaded",
                function: function,
                line: line
            )
        }
        return algorithm
    }
}

extension CryptoError {
    /// Makes an error and drains the calling thread's OpenSSL error queue into it.
    static func openSSL(
        _ message: String,
        code: Code = .openSSL,
        function: String = #function,
        file: String = #fileID,
        line: Int = #line
    ) -> CryptoError {
        CryptoError(code, message, openSSLErrors: OpenSSLErrorQueue.drain(), function: function, file: file, line: line)
    }
}

enum OpenSSLErrorQueue {
    /// Removes every entry of the calling thread's OpenSSL error queue and returns them as text, oldest first.
    static func drain() -> [String] {
        var lines: [String] = []
        while true {
            let error = ERR_get_error()
            if error == 0 {
                break
            }
            var buffer = [CChar](repeating: 0, count: 256)
            buffer.withUnsafeMutableBufferPointer { ERR_error_string_n(error, $0.baseAddress, $0.count) }
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            lines.append(String(decoding: bytes, as: UTF8.self))
        }
        return lines
    }

    /// Empties the calling thread's OpenSSL error queue (after an expected failure such as a bad signature).
    static func clear() {
        ERR_clear_error()
    }
}

extension DataProtocol {
    /// Calls `body` with the bytes in one contiguous buffer, copying only when the storage is not contiguous.
    func hubWithContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if self.regions.count == 1, let region = self.regions.first {
            return try region.withUnsafeBytes(body)
        }
        return try [UInt8](self).withUnsafeBytes(body)
    }

    /// Calls `body` once per contiguous region of the bytes, in order.
    func hubForEachRegion(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        for region in self.regions {
            try region.withUnsafeBytes(body)
        }
    }
}

/// Compares two buffers in time that depends only on their lengths (`CRYPTO_memcmp`).
func constantTimeEquals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
    guard lhs.count == rhs.count else {
        return false
    }
    if lhs.isEmpty {
        return true
    }
    return CRYPTO_memcmp(lhs.baseAddress, rhs.baseAddress, lhs.count) == 0
}

/// Fills `count` bytes from OpenSSL's CSPRNG.
func randomBytes(count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let status = bytes.withUnsafeMutableBytes {
        RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(count))
    }
    guard status == 1 else {
        throw CryptoError.openSSL("RAND_bytes failed; the OpenSSL random generator is not seeded", code: .randomFailed)
    }
    return bytes
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal.
    var hubHexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(self.count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
