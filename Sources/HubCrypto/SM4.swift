import COpenSSL

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The SM4 block cipher (GB/T 32907-2016): 128-bit key and block, and authenticated encryption built on it.
///
/// For data at rest use ``seal(_:using:authenticating:)`` and ``open(_:using:authenticating:)``:
/// SM4-CBC then HMAC-SM3 (encrypt-then-MAC), described in ``SealedBox``. ``encryptBlock(_:key:)`` is the bare
/// cipher, for checking the published test vector only.
public enum SM4 {
    /// The SM4 block and key size in bytes (16).
    public static let blockByteCount = 16

    /// Encrypts exactly one 16-byte block with SM4 in ECB mode, no padding.
    ///
    /// Not for data: ECB leaks equal blocks and has no integrity. It exists to check the standard's vector.
    /// - Parameters:
    ///   - block: 16 bytes of plaintext.
    ///   - key: a 16-byte key.
    /// - Returns: 16 bytes of ciphertext.
    /// - Throws: ``CryptoError`` `.invalidKey` when the key is not 16 bytes, `.invalidArgument` when the block is
    ///   not 16 bytes, `.openSSL` when OpenSSL fails.
    public static func encryptBlock(_ block: some DataProtocol, key: SymmetricKey) throws -> Data {
        guard key.byteCount == blockByteCount else {
            throw CryptoError(.invalidKey, "an SM4 key is 16 bytes, got \(key.byteCount)")
        }
        guard block.count == blockByteCount else {
            throw CryptoError(.invalidArgument, "an SM4 block is 16 bytes, got \(block.count)")
        }
        let cipher = try FetchedAlgorithms.require(FetchedAlgorithms.shared.sm4ECB, "SM4-ECB")
        let output = try key.withUnsafeBytes { keyBytes in
            try block.hubWithContiguousBytes { input in
                try runCipher(cipher, key: keyBytes, iv: nil, encrypt: true, padding: false, input: input)
            }
        }
        return Data(output)
    }

    /// Encrypts or decrypts `input` in one pass (`EVP_CipherInit_ex2`, `EVP_CipherUpdate`, `EVP_CipherFinal_ex`).
    static func runCipher(
        _ cipher: OpaquePointer,
        key: UnsafeRawBufferPointer,
        iv: UnsafeRawBufferPointer?,
        encrypt: Bool,
        padding: Bool,
        input: UnsafeRawBufferPointer
    ) throws -> [UInt8] {
        guard let context = EVP_CIPHER_CTX_new() else {
            throw CryptoError.openSSL("EVP_CIPHER_CTX_new failed")
        }
        defer { EVP_CIPHER_CTX_free(context) }
        let keyPointer = key.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let ivPointer = iv?.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard EVP_CipherInit_ex2(context, cipher, keyPointer, ivPointer, encrypt ? 1 : 0, nil) == 1 else {
            throw CryptoError.openSSL("SM4 initialisation failed (EVP_CipherInit_ex2)")
        }
        guard EVP_CIPHER_CTX_set_padding(context, padding ? 1 : 0) == 1 else {
            throw CryptoError.openSSL("SM4 padding setup failed (EVP_CIPHER_CTX_set_padding)")
        }
        guard input.count <= Int(Int32.max) - 2 * blockByteCount else {
            throw CryptoError(.invalidArgument, "SM4 input larger than 2 GiB is not supported in one call")
        }
        var output = [UInt8](repeating: 0, count: input.count + blockByteCount)
        var total = 0
        try output.withUnsafeMutableBufferPointer { out in
            var written: Int32 = 0
            if !input.isEmpty {
                let inPointer = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
                guard EVP_CipherUpdate(context, out.baseAddress, &written, inPointer, Int32(input.count)) == 1 else {
                    throw CryptoError.openSSL("SM4 failed (EVP_CipherUpdate)")
                }
                total = Int(written)
            }
            guard EVP_CipherFinal_ex(context, out.baseAddress.map { $0 + total }, &written) == 1 else {
                throw CryptoError.openSSL(
                    encrypt ? "SM4 encryption failed (EVP_CipherFinal_ex)" : "SM4 padding is invalid",
                    code: encrypt ? .openSSL : .malformedCiphertext
                )
            }
            total += Int(written)
        }
        output.removeSubrange(total...)
        return output
    }
}
