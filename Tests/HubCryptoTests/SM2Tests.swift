import Foundation
import HubCrypto
import Testing

@Suite("SM2")
struct SM2Tests {
    let message = Array("pay 1,000.00 CNY to account on file".utf8)

    @Test("Sign and verify round-trip; tampered message, wrong key and wrong signer ID fail")
    func roundTrip() throws {
        let key = try SM2.PrivateKey()
        let signature = try key.signature(for: self.message)
        #expect(key.publicKey.isValidSignature(signature, for: self.message))
        #expect(key.publicKey.isValidSignature(signature, for: self.message, signerID: .default))

        var tampered = self.message
        tampered[0] ^= 0x01
        #expect(!key.publicKey.isValidSignature(signature, for: tampered))
        #expect(!key.publicKey.isValidSignature(signature, for: self.message + [0]))

        let otherKey = try SM2.PrivateKey()
        #expect(!otherKey.publicKey.isValidSignature(signature, for: self.message))

        #expect(
            !key.publicKey.isValidSignature(
                signature,
                for: self.message,
                signerID: try SM2.SignerID("ALICE123@YAHOO.COM")
            )
        )
        #expect(
            !key.publicKey.isValidSignature(signature, for: self.message, signerID: try SM2.SignerID(bytes: [UInt8]()))
        )

        let custom = try SM2.SignerID("huitong-partner-42")
        let customSignature = try key.signature(for: self.message, signerID: custom)
        #expect(key.publicKey.isValidSignature(customSignature, for: self.message, signerID: custom))
        #expect(!key.publicKey.isValidSignature(customSignature, for: self.message))
    }

    @Test("Signing is randomised and works on an empty message")
    func emptyAndRandomised() throws {
        let key = try SM2.PrivateKey()
        let first = try key.signature(for: [UInt8]())
        let second = try key.signature(for: [UInt8]())
        #expect(first != second)
        #expect(key.publicKey.isValidSignature(first, for: [UInt8]()))
        #expect(key.publicKey.isValidSignature(second, for: Data()))
    }

    @Test("Our signature verifies with `openssl pkeyutl -verify … -pkeyopt distid:1234567812345678`")
    func cliVerifiesOurs() throws {
        let key = try SM2.PrivateKey()
        let signature = try key.signature(for: self.message)
        let (withID, withoutID) = try OpenSSLCLI.withTemporaryDirectory { cli in
            try cli.write("pub.pem", Array(try key.publicKey.pemRepresentation.utf8))
            try cli.write("msg", self.message)
            try cli.write("sig", signature.derRepresentation)
            let base = [
                "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", "pub.pem", "-in", "msg",
                "-sigfile", "sig",
            ]
            return (
                try cli.run(base + ["-pkeyopt", "distid:1234567812345678"]),
                try cli.run(base)
            )
        }
        #expect(withID.status == 0, "\(withID.stdout)")
        #expect(withID.stdout.contains("Signature Verified Successfully"))
        // R-SEC-2 seen from the other side: OpenSSL 3.0 without distid uses an empty ID and must reject ours.
        #expect(withoutID.status != 0)
    }

    @Test(
        "CLI key and signature with distid:1234567812345678 verify with ours; R-SEC-2 (#37): without distid, fail"
    )
    func oursVerifiesCLI() throws {
        let result = try OpenSSLCLI.withTemporaryDirectory { cli in
            try cli.mustRun(["genpkey", "-algorithm", "SM2", "-out", "key.pem"])
            try cli.mustRun(["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"])
            try cli.mustRun(["pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der"])
            try cli.write("msg", self.message)
            let sign = ["pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", "key.pem", "-in", "msg"]
            try cli.mustRun(sign + ["-pkeyopt", "distid:1234567812345678", "-out", "sig-standard"])
            try cli.mustRun(sign + ["-out", "sig-default"])
            return (
                keyPEM: String(decoding: try cli.read("key.pem"), as: UTF8.self),
                publicPEM: String(decoding: try cli.read("pub.pem"), as: UTF8.self),
                publicDER: try cli.read("pub.der"),
                standard: try cli.read("sig-standard"),
                openSSLDefault: try cli.read("sig-default")
            )
        }
        let publicKey = try SM2.PublicKey(pemRepresentation: result.publicPEM)
        let standard = try SM2.Signature(derRepresentation: result.standard)
        #expect(standard.derRepresentation == result.standard, "our DER re-encoding equals OpenSSL's")
        #expect(publicKey.isValidSignature(standard, for: self.message))

        // #37 R-SEC-2: OpenSSL 3's default (empty) ID signature fails under the standard ID…
        let openSSLDefault = try SM2.Signature(derRepresentation: result.openSSLDefault)
        #expect(!publicKey.isValidSignature(openSSLDefault, for: self.message))
        // …and the failure is the ID, not a broken signature: it verifies under the empty ID.
        #expect(
            publicKey.isValidSignature(openSSLDefault, for: self.message, signerID: try SM2.SignerID(bytes: [UInt8]()))
        )

        // The CLI's private key imports, and its derived public key is the CLI's.
        let privateKey = try SM2.PrivateKey(pemRepresentation: result.keyPEM)
        #expect(try privateKey.publicKey.derRepresentation == result.publicDER)
        #expect(privateKey.publicKey.isValidSignature(try privateKey.signature(for: self.message), for: self.message))
    }

    @Test("PEM and DER round-trips keep the key")
    func keyRoundTrips() throws {
        let key = try SM2.PrivateKey()
        let pem = try key.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let fromPEM = try SM2.PrivateKey(pemRepresentation: pem)
        let fromDER = try SM2.PrivateKey(derRepresentation: try key.derRepresentation)
        #expect(try fromPEM.derRepresentation == key.derRepresentation)
        #expect(try fromDER.pemRepresentation == pem)
        #expect(try fromPEM.publicKey.derRepresentation == key.publicKey.derRepresentation)

        let publicPEM = try key.publicKey.pemRepresentation
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let publicFromPEM = try SM2.PublicKey(pemRepresentation: publicPEM)
        let publicFromDER = try SM2.PublicKey(derRepresentation: try key.publicKey.derRepresentation)
        let signature = try fromDER.signature(for: self.message)
        #expect(publicFromPEM.isValidSignature(signature, for: self.message))
        #expect(publicFromDER.isValidSignature(signature, for: self.message))
        #expect(key.description == "SM2.PrivateKey(redacted)")
        #expect(!"\(key)".contains("PRIVATE"))
    }

    @Test("Garbage, a public key given as private, and a P-256 key are rejected with invalidKey")
    func rejectsBadKeys() throws {
        let key = try SM2.PrivateKey()
        let garbage = #expect(throws: CryptoError.self) {
            try SM2.PublicKey(derRepresentation: [0x30, 0x03, 0x02, 0x01, 0x01])
        }
        #expect(garbage?.code == .invalidKey)
        #expect(throws: CryptoError.self) { try SM2.PrivateKey(pemRepresentation: "not a key") }
        let emptyPEM = #expect(throws: CryptoError.self) { try SM2.PrivateKey(pemRepresentation: "") }
        #expect(emptyPEM?.code == .invalidKey)
        let emptyDER = #expect(throws: CryptoError.self) { try SM2.PublicKey(derRepresentation: [UInt8]()) }
        #expect(emptyDER?.code == .invalidKey)
        let publicAsPrivate = #expect(throws: CryptoError.self) {
            try SM2.PrivateKey(pemRepresentation: try key.publicKey.pemRepresentation)
        }
        #expect(publicAsPrivate?.code == .invalidKey)
        let privateAsPublic = #expect(throws: CryptoError.self) {
            try SM2.PublicKey(derRepresentation: try key.derRepresentation)
        }
        #expect(privateAsPublic?.code == .invalidKey)

        let p256 = try OpenSSLCLI.withTemporaryDirectory { cli in
            try cli.mustRun(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "p256.pem"])
            try cli.mustRun(["pkey", "-in", "p256.pem", "-pubout", "-out", "p256pub.pem"])
            return (
                String(decoding: try cli.read("p256.pem"), as: UTF8.self),
                String(decoding: try cli.read("p256pub.pem"), as: UTF8.self)
            )
        }
        let p256Private = #expect(throws: CryptoError.self) { try SM2.PrivateKey(pemRepresentation: p256.0) }
        #expect(p256Private?.code == .invalidKey)
        let p256Public = #expect(throws: CryptoError.self) { try SM2.PublicKey(pemRepresentation: p256.1) }
        #expect(p256Public?.code == .invalidKey)
    }

    @Test("An encrypted PEM private key is rejected with invalidKey, without prompting for a passphrase")
    func rejectsEncryptedPEM() throws {
        let encrypted = try OpenSSLCLI.withTemporaryDirectory { cli in
            try cli.mustRun(["genpkey", "-algorithm", "SM2", "-out", "key.pem"])
            try cli.mustRun([
                "pkey", "-in", "key.pem", "-aes-256-cbc", "-passout", "pass:not-in-code", "-out", "enc.pem",
            ])
            return String(decoding: try cli.read("enc.pem"), as: UTF8.self)
        }
        #expect(encrypted.contains("ENCRYPTED PRIVATE KEY"))
        let error = #expect(throws: CryptoError.self) { try SM2.PrivateKey(pemRepresentation: encrypted) }
        #expect(error?.code == .invalidKey)
    }

    @Test("An OpenSSL failure carries OpenSSL's error queue in debugDescription only")
    func errorCarriesQueue() throws {
        let error = #expect(throws: CryptoError.self) {
            try SM2.PublicKey(derRepresentation: [0x30, 0x03, 0x02, 0x01, 0x01])
        }
        let unwrapped = try #require(error)
        #expect(!unwrapped.openSSLErrors.isEmpty)
        #expect(unwrapped.debugDescription.contains("OpenSSL:"))
        #expect(!unwrapped.description.contains("OpenSSL:"))
        #expect(unwrapped.description.hasPrefix("CryptoError.invalidKey: "))
    }

    @Test("Signatures convert between DER and 64-byte raw r‖s")
    func signatureEncodings() throws {
        let key = try SM2.PrivateKey()
        for _ in 0..<20 {
            let signature = try key.signature(for: self.message)
            let raw = signature.rawRepresentation
            #expect(raw.count == 64)
            let fromRaw = try SM2.Signature(rawRepresentation: raw)
            #expect(fromRaw == signature)
            #expect(fromRaw.derRepresentation == signature.derRepresentation)
            #expect(try SM2.Signature(derRepresentation: signature.derRepresentation) == signature)
            #expect(key.publicKey.isValidSignature(fromRaw, for: self.message))
        }
    }

    @Test("Known DER and raw forms match, including leading-zero padding of r and s")
    func signatureKnownEncoding() throws {
        // r = 0x80…01 (high bit set: DER needs a 0x00 prefix), s = 0x00…7f (leading zeros dropped in DER).
        let r = [0x80] + [UInt8](repeating: 0, count: 30) + [0x01]
        let s = [UInt8](repeating: 0, count: 31) + [0x7f]
        let signature = try SM2.Signature(rawRepresentation: r + s)
        let expectedDER: [UInt8] = [0x30, 0x26, 0x02, 0x21, 0x00] + r + [0x02, 0x01, 0x7f]
        #expect([UInt8](signature.derRepresentation) == expectedDER)
        #expect([UInt8](try SM2.Signature(derRepresentation: expectedDER).rawRepresentation) == r + s)
    }

    @Test(
        "Malformed signature encodings fail with invalidSignatureEncoding",
        arguments: [
            [],
            [0x30, 0x00],
            [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],  // not a SEQUENCE
            [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00],  // trailing byte
            [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],  // length beyond the end
            [0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01],  // negative r
            [0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01],  // non-minimal r
            [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01],  // r = 0
            [0x30, 0x03, 0x02, 0x01, 0x01],  // s missing
            [0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01],  // OCTET STRING, not INTEGER
            [0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],  // long-form length
            [0x30, 0x25, 0x02, 0x21, 0x01] + [UInt8](repeating: 0xff, count: 32) + [0x02, 0x00],  // r > 256 bits
        ] as [[UInt8]]
    )
    func malformedDER(bytes: [UInt8]) {
        let error = #expect(throws: CryptoError.self) { try SM2.Signature(derRepresentation: bytes) }
        #expect(error?.code == .invalidSignatureEncoding)
    }

    @Test("Raw signatures must be 64 bytes with non-zero r and s")
    func malformedRaw() {
        for bytes in [
            [UInt8](repeating: 1, count: 63), [UInt8](repeating: 1, count: 65),
            [UInt8](repeating: 0, count: 32) + [UInt8](repeating: 1, count: 32),
        ] {
            let error = #expect(throws: CryptoError.self) { try SM2.Signature(rawRepresentation: bytes) }
            #expect(error?.code == .invalidSignatureEncoding)
        }
    }

    @Test("Signer IDs longer than 8191 bytes are rejected")
    func signerIDLength() throws {
        #expect(throws: Never.self) { try SM2.SignerID(bytes: [UInt8](repeating: 0x41, count: 8191)) }
        let error = #expect(throws: CryptoError.self) { try SM2.SignerID(bytes: [UInt8](repeating: 0x41, count: 8192)) }
        #expect(error?.code == .invalidArgument)
    }

    @Test("One key signs and verifies from many tasks at once")
    func concurrentUse() async throws {
        let key = try SM2.PrivateKey()
        let message = self.message
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let data = message + [UInt8(index)]
                    let signature = try key.signature(for: data)
                    return key.publicKey.isValidSignature(signature, for: data)
                        && !key.publicKey.isValidSignature(signature, for: message)
                }
            }
            var all: [Bool] = []
            for try await result in group {
                all.append(result)
            }
            return all
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 })
    }
}
