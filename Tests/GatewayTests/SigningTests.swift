import Foundation
import Gateway
import HubCrypto
import Testing

/// The signing scheme (docs/gateway.md, "Signing") without any server.
@Suite("Gateway signing")
struct SigningTests {
    @Test("canonical request is seven lines: scheme, method, target, partner, timestamp, nonce, SM3(body) hex")
    func canonicalLayout() throws {
        let canonical = try CanonicalRequest(
            method: "post", target: "/v1/messages?x=1", partner: "acme-erp", timestamp: "1767225600",
            nonce: "0123456789abcdef", body: Array("abc".utf8))
        // SM3("abc") is the standard's test vector (REFERENCE.md vector 36), computed independently of the gateway.
        let expected = """
            HUITONG-SIG-V1
            POST
            /v1/messages?x=1
            acme-erp
            1767225600
            0123456789abcdef
            66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0
            """
        #expect(String(decoding: canonical.bytes, as: UTF8.self) == expected)
    }

    @Test("HMAC-SM3: the right key verifies; a wrong key, another target or another body does not (GW-AUTH-4)")
    func hmac() throws {
        let secret = SymmetricKey(data: Array(repeating: UInt8(7), count: 32))
        let signer = RequestSigner(partner: "acme-erp", key: .hmacSM3(secret))
        let canonical = try CanonicalRequest(
            method: "POST", target: "/v1/messages", partner: "acme-erp", timestamp: "1767225600",
            nonce: "0123456789abcdef", body: Array("{}".utf8))
        let signature = try signer.signature(for: canonical)
        guard case .hmacSM3(let code) = signature else { Issue.record("not an HMAC signature"); return }
        #expect(code.count == 32)
        #expect(SignatureValue.parse(signature.headerValue) == signature)
        #expect(VerifyingKey.hmacSM3(secret).isValid(signature, for: canonical.bytes))
        let wrongKey = VerifyingKey.hmacSM3(SymmetricKey(data: Array(repeating: UInt8(8), count: 32)))
        #expect(!wrongKey.isValid(signature, for: canonical.bytes))
        var tampered = canonical
        tampered.bodyDigest = try CanonicalRequest(
            method: "POST", target: "/v1/messages", partner: "acme-erp", timestamp: "1767225600",
            nonce: "0123456789abcdef", body: Array("{ }".utf8)
        ).bodyDigest
        #expect(!VerifyingKey.hmacSM3(secret).isValid(signature, for: tampered.bytes))
        var otherTarget = canonical
        otherTarget.target = "/v1/audit"
        #expect(!VerifyingKey.hmacSM3(secret).isValid(signature, for: otherTarget.bytes))
    }

    @Test("SM2 with the standard signer ID verifies as DER and as raw r‖s; another key does not (R-SEC-2)")
    func sm2() throws {
        let key = try SM2.PrivateKey()
        let signer = RequestSigner(partner: "bank-a", key: .sm2(key))
        let canonical = try CanonicalRequest(
            method: "GET", target: "/v1/audit", partner: "bank-a", timestamp: "1767225600",
            nonce: "abcdefabcdefabcdef", body: [UInt8]())
        let signature = try signer.signature(for: canonical)
        #expect(VerifyingKey.sm2(key.publicKey).isValid(signature, for: canonical.bytes))
        guard case .sm2(let der) = signature else { Issue.record("not an SM2 signature"); return }
        let raw = Array(try SM2.Signature(derRepresentation: der).rawRepresentation)
        #expect(VerifyingKey.sm2(key.publicKey).isValid(.sm2(raw), for: canonical.bytes))
        #expect(!VerifyingKey.sm2(try SM2.PrivateKey().publicKey).isValid(signature, for: canonical.bytes))
        // A signature made with OpenSSL's empty default ID does not verify under the standard ID (R-SEC-2).
        let emptyID = try key.signature(for: canonical.bytes, signerID: SM2.SignerID(bytes: [UInt8]()))
        #expect(!VerifyingKey.sm2(key.publicKey).isValid(.sm2(Array(emptyID.derRepresentation)), for: canonical.bytes))
        // An SM2 signature is not accepted where the partner has an HMAC secret, and the reverse.
        #expect(!VerifyingKey.hmacSM3(SymmetricKey(data: [UInt8](repeating: 1, count: 32))).isValid(signature, for: canonical.bytes))
    }

    @Test("malformed signature headers are refused", arguments: [
        "", "hmac-sm3=", "hmac-sm3=zz", "hmac-sm3=" + String(repeating: "a", count: 63), "sm2=", "sm2=%%%", "rsa=abc",
    ])
    func malformedHeaders(_ header: String) {
        #expect(SignatureValue.parse(header) == nil)
    }

    @Test("token bucket: burst, then one token per 1/rate seconds (GW-LIMIT-2)")
    func tokenBucket() {
        var bucket = TokenBucket(rate: 2, burst: 3, now: 100)
        #expect(bucket.take(now: 100) == 0)
        #expect(bucket.take(now: 100) == 0)
        #expect(bucket.take(now: 100) == 0)
        #expect(bucket.take(now: 100) == 0.5)
        #expect(bucket.wait(now: 100.25) == 0.25)
        #expect(bucket.take(now: 100.5) == 0)
        #expect(bucket.take(now: 100.5) > 0)
        // Refill is capped at the burst.
        #expect(bucket.wait(now: 1_000) == 0)
        #expect(bucket.tokens == 3)
    }

    @Test("rate limiter: peek never takes; take refuses past the burst with a whole-second Retry-After")
    func rateLimiter() {
        let clock = ManualClock()
        let limiter = RateLimiter(rate: 0.5, burst: 2, now: { clock.now })
        #expect(limiter.peek("p") == nil)
        #expect(limiter.take("p") == nil)
        #expect(limiter.peek("p") == nil)
        #expect(limiter.take("p") == nil)
        #expect(limiter.peek("p") == 2)
        #expect(limiter.take("p") == 2)
        #expect(limiter.take("other") == nil)
        clock.advance(2)
        #expect(limiter.take("p") == nil)
    }
}

/// A settable clock for the limiter.
final class ManualClock: Sendable {
    private let value = Mutex<Double>(0)
    var now: Double { value.withLock { $0 } }
    func advance(_ seconds: Double) { value.withLock { $0 += seconds } }
}

import Synchronization
