public import Foundation
public import HubCore
public import Logging

/// The signature headers of one request, parsed but not yet verified.
public struct SignatureClaim: Sendable {
    /// The claimed partner.
    public var partner: PartnerID
    /// The timestamp header value.
    public var timestamp: String
    /// The timestamp as a date.
    public var time: Date
    /// The nonce.
    public var nonce: String
    /// The signature.
    public var signature: SignatureValue
}

/// Verifies signed requests (docs/gateway.md, "Signing"): headers present and well formed (GW-AUTH-1), partner
/// known (GW-AUTH-2) and active (GW-AUTH-3), signature valid under a current credential (GW-AUTH-4), timestamp
/// within the skew window (GW-AUTH-5), nonce not seen before (GW-AUTH-6).
public struct Authenticator: Sendable {
    let directory: any PartnerLookup
    let skew: Duration
    let now: @Sendable () -> Date
    let logger: Logger?

    /// Creates an authenticator.
    /// - Parameters:
    ///   - directory: Where partners are looked up and nonces recorded.
    ///   - skew: The accepted clock difference either way (default 300 s).
    ///   - now: The clock (default the system clock).
    ///   - logger: Where store failures are logged (default none).
    public init(
        directory: any PartnerLookup, skew: Duration = .seconds(300), now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger? = nil
    ) {
        self.directory = directory
        self.skew = skew
        self.now = now
        self.logger = logger
    }

    var skewSeconds: Double { Double(skew.components.seconds) + Double(skew.components.attoseconds) / 1e18 }

    /// Parses the four signature headers (no I/O).
    /// - Parameter header: Looks a header up by name (case-insensitive).
    /// - Returns: The claim.
    /// - Throws: ``GatewayProblem`` 401 `signature-missing` / `signature-malformed` (GW-AUTH-1).
    public func claim(_ header: (String) -> String?) throws(GatewayProblem) -> SignatureClaim {
        guard let partnerText = header(GatewayHeader.partner), let timestamp = header(GatewayHeader.timestamp),
              let nonce = header(GatewayHeader.nonce), let signatureText = header(GatewayHeader.signature)
        else {
            throw .unauthenticated(
                "signature-missing", "GW-AUTH-1",
                "the request is not signed: X-Huitong-Partner, X-Huitong-Timestamp, X-Huitong-Nonce and X-Huitong-Signature are required")
        }
        guard let partner = try? PartnerID(partnerText) else {
            throw .unauthenticated("signature-malformed", "GW-AUTH-1", "X-Huitong-Partner is not a partner id")
        }
        guard timestamp.count <= 12, timestamp.allSatisfy(\.isASCII), let seconds = Int64(timestamp), seconds > 0 else {
            throw .unauthenticated("signature-malformed", "GW-AUTH-1", "X-Huitong-Timestamp is not Unix seconds")
        }
        let nonceAllowed = nonce.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
        guard (16...64).contains(nonce.utf8.count), nonceAllowed else {
            throw .unauthenticated(
                "signature-malformed", "GW-AUTH-1", "X-Huitong-Nonce must be 16 to 64 characters of A-Z a-z 0-9 _ -")
        }
        guard let signature = SignatureValue.parse(signatureText) else {
            throw .unauthenticated(
                "signature-malformed", "GW-AUTH-1", "X-Huitong-Signature must be hmac-sm3=<64 hex> or sm2=<base64>")
        }
        return SignatureClaim(
            partner: partner, timestamp: timestamp, time: Date(timeIntervalSince1970: TimeInterval(seconds)),
            nonce: nonce, signature: signature)
    }

    /// Verifies the claim's signature over the request and the timestamp window.
    /// - Parameters:
    ///   - claim: The parsed headers.
    ///   - method: The HTTP method (or `PUBLISH`).
    ///   - target: The path and query as sent.
    ///   - body: The body bytes.
    /// - Returns: The partner.
    /// - Throws: ``GatewayProblem`` 401 (GW-AUTH-2 … 5), or 503 when the partner store is unavailable.
    public func verify(_ claim: SignatureClaim, method: String, target: String, body: [UInt8]) async throws(GatewayProblem)
        -> Partner
    {
        let found: Partner?
        do {
            found = try await directory.partner(claim.partner)
        } catch {
            // A wrong master key (sealed secrets that do not open) or an unreachable database: the operator's to fix.
            logger?.info(
                "partner look-up failed",
                metadata: ["gateway.partner": "\(claim.partner)", "error.type": "\(error)"])
            throw .unavailable("store-unavailable", "GW-STORE-1", "the partner store is unavailable", retryAfter: 5)
        }
        guard let partner = found else {
            throw .unauthenticated("partner-unknown", "GW-AUTH-2", "unknown partner")
        }
        guard partner.status == .active else {
            throw .unauthenticated("partner-revoked", "GW-AUTH-3", "the partner's access is revoked")
        }
        let canonical: CanonicalRequest
        do {
            canonical = try CanonicalRequest(
                method: method, target: target, partner: claim.partner.value, timestamp: claim.timestamp,
                nonce: claim.nonce, body: body)
        } catch {
            throw .unavailable("crypto-failed", "GW-AUTH-4", "the signature could not be checked", retryAfter: 1)
        }
        let time = now()
        guard partner.verify(claim.signature, for: canonical.bytes, now: time) != nil else {
            throw .unauthenticated(
                "signature-invalid", "GW-AUTH-4",
                "the signature does not verify with the partner's credentials (wrong key, or the request was altered)")
        }
        guard abs(claim.time.timeIntervalSince(time)) <= skewSeconds else {
            throw .unauthenticated(
                "timestamp-skew", "GW-AUTH-5",
                "X-Huitong-Timestamp is more than \(Int(skewSeconds)) seconds from the gateway's clock")
        }
        return partner
    }

    /// Accepts the claim's nonce once.
    /// - Parameter claim: The verified claim.
    /// - Throws: ``GatewayProblem`` 401 `nonce-replayed` (GW-AUTH-6), or 503 when the store is unavailable.
    public func useNonce(_ claim: SignatureClaim) async throws(GatewayProblem) {
        let fresh: Bool
        do {
            fresh = try await directory.useNonce(
                partner: claim.partner.value, nonce: claim.nonce,
                expiresAt: claim.time.addingTimeInterval(skewSeconds + 1))
        } catch {
            logger?.info("nonce store failed", metadata: ["error.type": "\(type(of: error))"])
            throw .unavailable("store-unavailable", "GW-STORE-1", "the nonce store is unavailable", retryAfter: 5)
        }
        guard fresh else {
            throw .unauthenticated("nonce-replayed", "GW-AUTH-6", "this nonce was already used")
        }
    }
}
