import Dispatch
import Foundation
import HubCrypto
import Testing

@Suite("SM3")
struct SM3Tests {
    @Test(
        "Published vectors (REFERENCE.md test vector #36, GB/T 32905 appendix A)",
        arguments: [
            ("abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
            (String(repeating: "abcd", count: 16), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
            ("", "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"),
        ]
    )
    func vectors(message: String, expected: String) throws {
        let digest = try SM3.hash(data: Array(message.utf8))
        #expect(digest.hexString == expected)
        #expect(digest.description == expected)
        #expect(digest.bytes.count == SM3.byteCount)
    }

    @Test("Incremental hashing over random splits equals one-shot hashing")
    func incrementalMatchesOneShot() throws {
        let data = [UInt8].random(count: 10_000)
        let expected = try SM3.hash(data: data)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var cuts = (0..<Int.random(in: 0...20, using: &generator)).map { _ in
                Int.random(in: 0...data.count, using: &generator)
            }
            cuts.append(contentsOf: [0, data.count])
            cuts.sort()
            var hasher = SM3()
            for (start, end) in zip(cuts, cuts.dropFirst()) {
                hasher.update(data: data[start..<end])
            }
            #expect(try hasher.finalize() == expected)
        }
    }

    @Test("finalize leaves the hasher usable, and a copy forks the state")
    func finalizeAndCopy() throws {
        var hasher = SM3()
        hasher.update(data: Array("ab".utf8))
        let forked = hasher
        let early = try hasher.finalize()
        hasher.update(data: Array("c".utf8))
        #expect(try hasher.finalize().hexString == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        #expect(try forked.finalize() == early)
        #expect(early == (try SM3.hash(data: Array("ab".utf8))))
    }

    @Test("Digest parses from hex and raw bytes, and rejects wrong sizes")
    func digestParsing() throws {
        let digest = try SM3.hash(data: Array("abc".utf8))
        #expect(try SM3.Digest(hexString: digest.hexString.uppercased()) == digest)
        #expect(try SM3.Digest(rawRepresentation: digest.rawRepresentation) == digest)
        #expect(throws: CryptoError.self) { try SM3.Digest(hexString: "66c7") }
        #expect(throws: CryptoError.self) { try SM3.Digest(hexString: String(repeating: "zz", count: 32)) }
        let error = #expect(throws: CryptoError.self) {
            try SM3.Digest(rawRepresentation: [UInt8](repeating: 0, count: 31))
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test("Non-contiguous input (DispatchData with several regions) hashes, seals and signs like its bytes")
    func nonContiguousInput() throws {
        let first = [UInt8].random(count: 100)
        let second = [UInt8].random(count: 37)
        var data = DispatchData.empty
        first.withUnsafeBytes { data.append($0) }
        second.withUnsafeBytes { data.append($0) }
        #expect(data.regions.count == 2)
        #expect(try SM3.hash(data: data) == SM3.hash(data: first + second))

        let key = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 16), version: 1)
        let box = try SM4.seal(data, using: key, authenticating: data)
        #expect([UInt8](try SM4.open(box, using: key, authenticating: first + second)) == first + second)

        let signingKey = try SM2.PrivateKey()
        let signature = try signingKey.signature(for: data)
        #expect(signingKey.publicKey.isValidSignature(signature, for: first + second))
    }
}
