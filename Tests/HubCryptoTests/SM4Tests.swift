import Foundation
import HubCrypto
import Testing

@Suite("SM4 block cipher")
struct SM4Tests {
    @Test("Published ECB vector (REFERENCE.md test vector #36, GB/T 32907 appendix A)")
    func publishedVector() throws {
        let bytes = [UInt8](hex: "0123456789abcdeffedcba9876543210")
        let ciphertext = try SM4.encryptBlock(bytes, key: SymmetricKey(data: bytes))
        #expect([UInt8](ciphertext).hex == "681edf34d206965e86b3e94f536e4246")
    }

    @Test("Random blocks equal `openssl enc -sm4-ecb -nopad`")
    func matchesCLI() throws {
        let key = [UInt8].random(count: 16)
        let block = [UInt8].random(count: 16)
        let ours = try SM4.encryptBlock(block, key: SymmetricKey(data: key))
        let theirs = try OpenSSLCLI.withTemporaryDirectory { cli in
            try cli.write("in", block)
            try cli.mustRun(["enc", "-sm4-ecb", "-nopad", "-K", key.hex, "-in", "in", "-out", "out"])
            return try cli.read("out")
        }
        #expect(ours == theirs)
    }

    @Test("Wrong key or block sizes are rejected with precise codes")
    func sizes() throws {
        let keyError = #expect(throws: CryptoError.self) {
            try SM4.encryptBlock(
                [UInt8](repeating: 0, count: 16),
                key: SymmetricKey(data: [UInt8](repeating: 0, count: 32))
            )
        }
        #expect(keyError?.code == .invalidKey)
        let blockError = #expect(throws: CryptoError.self) {
            try SM4.encryptBlock(
                [UInt8](repeating: 0, count: 17),
                key: SymmetricKey(data: [UInt8](repeating: 0, count: 16))
            )
        }
        #expect(blockError?.code == .invalidArgument)
    }
}
