import Foundation
import HubCrypto
import Testing

@Suite("HMAC-SM3")
struct HMACSM3Tests {
    @Test("Equals `openssl dgst -sm3 -hmac KEY` for a text key")
    func matchesCLITextKey() throws {
        let key = "huitong audit chain key"
        let message = [UInt8].random(count: 1_000)
        let ours = try HMACSM3.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8)))
        let theirs = try OpenSSLCLI.withTemporaryDirectory { cli in
            try cli.write("msg", message)
            return OpenSSLCLI.digestHex(try cli.mustRun(["dgst", "-sm3", "-hmac", key, "msg"]))
        }
        #expect(ours.hexString == theirs)
    }

    @Test(
        "Equals `openssl dgst -sm3 -mac HMAC -macopt hexkey:…` for binary keys and messages",
        arguments: [0, 1, 63, 64, 65, 4_096]
    )
    func matchesCLIBinaryKey(messageLength: Int) throws {
        let key = [UInt8].random(count: 32)
        let message = [UInt8].random(count: messageLength)
        let ours = try HMACSM3.authenticationCode(for: message, using: SymmetricKey(data: key))
        let theirs = try OpenSSLCLI.withTemporaryDirectory { cli in
            try cli.write("msg", message)
            return OpenSSLCLI.digestHex(
                try cli.mustRun(["dgst", "-sm3", "-mac", "HMAC", "-macopt", "hexkey:\(key.hex)", "msg"])
            )
        }
        #expect(ours.hexString == theirs)
    }

    @Test("Verification accepts the right code and rejects a wrong, truncated or differently keyed one")
    func verify() throws {
        let key = try SymmetricKey(randomByteCount: 32)
        let message = Array("transfer 100.00 CNY".utf8)
        let code = try HMACSM3.authenticationCode(for: message, using: key)
        #expect(try HMACSM3.isValidAuthenticationCode(code.bytes, authenticating: message, using: key))
        var flipped = code.bytes
        flipped[31] ^= 0x01
        #expect(try !HMACSM3.isValidAuthenticationCode(flipped, authenticating: message, using: key))
        #expect(try !HMACSM3.isValidAuthenticationCode(code.bytes.prefix(16), authenticating: message, using: key))
        #expect(try !HMACSM3.isValidAuthenticationCode([UInt8](), authenticating: message, using: key))
        let otherKey = try SymmetricKey(randomByteCount: 32)
        #expect(try !HMACSM3.isValidAuthenticationCode(code.bytes, authenticating: message, using: otherKey))
        #expect(try !HMACSM3.isValidAuthenticationCode(code.bytes, authenticating: message + [0], using: key))
    }

    @Test("Incremental MAC equals one-shot; a copy forks the state")
    func incremental() throws {
        let key = SymmetricKey(data: [UInt8](repeating: 7, count: 16))
        let data = [UInt8].random(count: 3_000)
        var mac = HMACSM3(key: key)
        mac.update(data: data[0..<1_000])
        let fork = mac
        mac.update(data: data[1_000...])
        #expect(try mac.finalize() == (try HMACSM3.authenticationCode(for: data, using: key)))
        #expect(try fork.finalize() == (try HMACSM3.authenticationCode(for: data[0..<1_000], using: key)))
    }

    @Test("A key's description never shows the key")
    func keyIsRedacted() throws {
        let bytes = [UInt8].random(count: 32)
        let key = SymmetricKey(data: bytes)
        #expect(!key.description.contains(bytes.hex))
        #expect(!"\(key)".contains(bytes.hex))
        #expect(key.description == "SymmetricKey(256 bits, redacted)")
    }
}
