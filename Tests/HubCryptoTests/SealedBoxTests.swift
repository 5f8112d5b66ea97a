import Foundation
import HubCrypto
import Testing

@Suite("SM4 sealed box (SM4-CBC then HMAC-SM3)")
struct SealedBoxTests {
    let key: SM4.SealingKey

    init() throws {
        self.key = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 32), version: 7)
    }

    @Test("Round-trips empty, 1-byte, block-edge and 1 MiB plaintexts", arguments: [0, 1, 15, 16, 17, 1_048_576])
    func roundTrip(length: Int) throws {
        let plaintext = [UInt8].random(count: length)
        let associatedData = Array("audit.records/42".utf8)
        let box = try SM4.seal(plaintext, using: self.key, authenticating: associatedData)
        #expect(box.combined.count == 53 + (length / 16 + 1) * 16)
        #expect(box.keyVersion == 7)
        let reopened = try SM4.SealedBox(combined: box.combined)
        #expect([UInt8](try SM4.open(reopened, using: self.key, authenticating: associatedData)) == plaintext)
    }

    @Test("Round-trips without associated data, and a 16-byte master key works")
    func noAssociatedData() throws {
        let key = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 16), version: 0)
        let box = try SM4.seal(Array("6222020200112233445".utf8), using: key)
        #expect(String(decoding: try SM4.open(box, using: key), as: UTF8.self) == "6222020200112233445")
        #expect(try SM4.open(box, using: key, authenticating: [UInt8]()) == SM4.open(box, using: key))
    }

    @Test("Two seals of the same plaintext differ (fresh IV each time)")
    func freshIV() throws {
        let plaintext = Array("same plaintext".utf8)
        let first = try SM4.seal(plaintext, using: self.key)
        let second = try SM4.seal(plaintext, using: self.key)
        #expect(first.combined != second.combined)
        #expect(first.iv != second.iv)
        #expect(first.iv.count == 16)
        #expect(first.ciphertext != second.ciphertext)
    }

    @Test("Flipping any single byte fails: authenticationFailed, or malformedCiphertext for the format byte")
    func everyByteIsAuthenticated() throws {
        let box = try SM4.seal(Array("C2 data".utf8), using: self.key, authenticating: [1, 2, 3])
        #expect(box.combined.count == SM4.SealedBox.minimumByteCount)
        for position in 0..<box.combined.count {
            for mask: UInt8 in [0x01, 0x80] {
                var altered = [UInt8](box.combined)
                altered[position] ^= mask
                let error = #expect(throws: CryptoError.self, "byte \(position) mask \(mask)") {
                    try SM4.open(SM4.SealedBox(combined: altered), using: self.key, authenticating: [1, 2, 3])
                }
                // Byte 0 is the format version: a box claiming an unknown format cannot be parsed at all.
                #expect(
                    error?.code == (position == 0 ? .malformedCiphertext : .authenticationFailed),
                    "byte \(position)"
                )
            }
        }
    }

    @Test("A wrong master key, a wrong key version or wrong associated data fail with authenticationFailed")
    func wrongKeyOrAssociatedData() throws {
        let master = try SymmetricKey(randomByteCount: 32)
        let key = try SM4.SealingKey(masterKey: master, version: 3)
        let box = try SM4.seal(Array("secret".utf8), using: key, authenticating: Array("row 1".utf8))

        let otherMaster = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 32), version: 3)
        let wrongMaster = #expect(throws: CryptoError.self) {
            try SM4.open(box, using: otherMaster, authenticating: Array("row 1".utf8))
        }
        #expect(wrongMaster?.code == .authenticationFailed)

        let otherVersion = try SM4.SealingKey(masterKey: master, version: 4)
        let wrongVersion = #expect(throws: CryptoError.self) {
            try SM4.open(box, using: otherVersion, authenticating: Array("row 1".utf8))
        }
        #expect(wrongVersion?.code == .authenticationFailed)
        #expect(wrongVersion?.description.contains("key version 3") == true)

        for associatedData in [Array("row 2".utf8), Array("row 1 ".utf8), []] {
            let error = #expect(throws: CryptoError.self) {
                try SM4.open(box, using: key, authenticating: associatedData)
            }
            #expect(error?.code == .authenticationFailed)
        }
        #expect(
            String(decoding: try SM4.open(box, using: key, authenticating: Array("row 1".utf8)), as: UTF8.self)
                == "secret"
        )
    }

    @Test("Every truncation fails: malformedCiphertext when short or misaligned, authenticationFailed otherwise")
    func truncation() throws {
        let box = try SM4.seal([UInt8].random(count: 40), using: self.key)
        let bytes = [UInt8](box.combined)
        #expect(bytes.count == 101)
        for length in 0..<bytes.count {
            let prefix = bytes.prefix(length)
            let wellFormed = length >= SM4.SealedBox.minimumByteCount && (length - 53) % 16 == 0
            let error = #expect(throws: CryptoError.self, "length \(length)") {
                try SM4.open(SM4.SealedBox(combined: prefix), using: self.key)
            }
            #expect(error?.code == (wellFormed ? .authenticationFailed : .malformedCiphertext), "length \(length)")
        }
        let appended = #expect(throws: CryptoError.self) { try SM4.SealedBox(combined: bytes + [0]) }
        #expect(appended?.code == .malformedCiphertext)
    }

    @Test("The key version is readable from a box without the key, big-endian at bytes 1...4")
    func keyVersionWithoutKey() throws {
        let key = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 32), version: 0xDEAD_BEEF)
        let stored = try SM4.seal(Array("x".utf8), using: key).combined
        let box = try SM4.SealedBox(combined: stored)
        #expect(box.keyVersion == 0xDEAD_BEEF)
        #expect([UInt8](stored.prefix(5)) == [0x01, 0xDE, 0xAD, 0xBE, 0xEF])
    }

    @Test("Master keys other than 16 or 32 bytes are rejected with invalidKey", arguments: [0, 15, 24, 33, 64])
    func masterKeySizes(byteCount: Int) {
        let error = #expect(throws: CryptoError.self) {
            try SM4.SealingKey(masterKey: SymmetricKey(data: [UInt8](repeating: 1, count: byteCount)), version: 1)
        }
        #expect(error?.code == .invalidKey)
    }

    @Test("The documented layout, key derivation and tag are reproducible with the openssl CLI alone")
    func layoutMatchesCLI() throws {
        let master = [UInt8].random(count: 32)
        let key = try SM4.SealingKey(masterKey: SymmetricKey(data: master), version: 0x0102_0304)
        let plaintext = [UInt8].random(count: 100)
        let associatedData = Array("payments.transfer/0001".utf8)
        let box = try SM4.seal(plaintext, using: key, authenticating: associatedData)
        let bytes = [UInt8](box.combined)

        let (decrypted, tag) = try OpenSSLCLI.withTemporaryDirectory { cli in
            func hmac(keyHex: String, file: String) throws -> String {
                OpenSSLCLI.digestHex(
                    try cli.mustRun(["dgst", "-sm3", "-mac", "HMAC", "-macopt", "hexkey:\(keyHex)", file])
                ) ?? ""
            }
            let version: [UInt8] = [0x01, 0x02, 0x03, 0x04]
            try cli.write("enc-label", Array("huitong.sealedbox.v1.encryption".utf8) + version)
            try cli.write("mac-label", Array("huitong.sealedbox.v1.authentication".utf8) + version)
            let encryptionKey = String(try hmac(keyHex: master.hex, file: "enc-label").prefix(32))
            let authenticationKey = try hmac(keyHex: master.hex, file: "mac-label")

            try cli.write("ciphertext", bytes[21..<(bytes.count - 32)])
            let iv = [UInt8](bytes[5..<21]).hex
            try cli.mustRun([
                "enc", "-d", "-sm4-cbc", "-K", encryptionKey, "-iv", iv, "-in", "ciphertext", "-out", "plain",
            ])

            var length = [UInt8](repeating: 0, count: 8)
            length[7] = UInt8(associatedData.count)
            try cli.write("authenticated", bytes[0..<(bytes.count - 32)] + length + associatedData)
            return (try cli.read("plain"), try hmac(keyHex: authenticationKey, file: "authenticated"))
        }
        #expect([UInt8](decrypted) == plaintext)
        #expect(tag == [UInt8](bytes.suffix(32)).hex)
        #expect(bytes[0] == 1)
    }

    @Test("Sealing and opening from many tasks at once with one key")
    func concurrentUse() async throws {
        let key = self.key
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let plaintext = [UInt8](repeating: UInt8(index), count: 1_000 + index)
                    let box = try SM4.seal(plaintext, using: key, authenticating: [UInt8(index)])
                    let opened = try SM4.open(box, using: key, authenticating: [UInt8(index)])
                    #expect([UInt8](opened) == plaintext)
                }
            }
            try await group.waitForAll()
        }
        #expect(try SM4.open(SM4.seal([9], using: key), using: key) == Data([9]))
    }
}

@Suite("SM4 keyring")
struct KeyringTests {
    @Test("After a rotation old boxes still open, new boxes use the new version, and a missing version is named")
    func rotation() throws {
        let old = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 32), version: 1)
        let new = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 32), version: 2)
        let before = try SM4.seal(Array("old record".utf8), using: SM4.Keyring(current: old), authenticating: [UInt8]())
        let keyring = try SM4.Keyring(current: new, previous: [old])
        let after = try SM4.seal(Array("new record".utf8), using: keyring, authenticating: [UInt8]())
        #expect(before.keyVersion == 1)
        #expect(after.keyVersion == 2)
        #expect(
            String(decoding: try SM4.open(before, using: keyring, authenticating: [UInt8]()), as: UTF8.self)
                == "old record"
        )
        #expect(
            String(decoding: try SM4.open(after, using: keyring, authenticating: [UInt8]()), as: UTF8.self)
                == "new record"
        )

        let onlyNew = try SM4.Keyring(current: new)
        let missing = #expect(throws: CryptoError.self) {
            try SM4.open(before, using: onlyNew, authenticating: [UInt8]())
        }
        #expect(missing?.code == .unknownKeyVersion)
        #expect(missing?.description.contains("version 1") == true)
        #expect(onlyNew.description == "SM4.Keyring(current: 2, versions: [2])")
    }

    @Test("Two keys with one version are rejected")
    func duplicateVersions() throws {
        let first = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 32), version: 5)
        let second = try SM4.SealingKey(masterKey: SymmetricKey(randomByteCount: 32), version: 5)
        let error = #expect(throws: CryptoError.self) { try SM4.Keyring(current: first, previous: [second]) }
        #expect(error?.code == .invalidArgument)
    }
}
