public import Foundation
public import HubCrypto

/// The request headers of the gateway's signing scheme (docs/gateway.md, "Signing").
public enum GatewayHeader {
    /// The partner id (`acme-erp`).
    public static let partner = "X-Huitong-Partner"
    /// Unix time in whole seconds, decimal.
    public static let timestamp = "X-Huitong-Timestamp"
    /// 16 to 64 characters of `A-Z a-z 0-9 _ -`, used once.
    public static let nonce = "X-Huitong-Nonce"
    /// `hmac-sm3=<64 lowercase hex>` or `sm2=<base64 of the DER (or raw r‖s) signature>`.
    public static let signature = "X-Huitong-Signature"
}

/// The string a partner signs: seven lines joined by `\n`, no trailing newline.
///
/// ```
/// HUITONG-SIG-V1
/// <METHOD>                 upper case: POST, GET (AMQP: PUBLISH)
/// <target>                 path and query exactly as sent: /v1/audit?limit=10 (AMQP: /<exchange>/<routing key>)
/// <partner id>
/// <timestamp>              the X-Huitong-Timestamp value
/// <nonce>                  the X-Huitong-Nonce value
/// <hex SM3 of the body>    64 lowercase hex digits (the SM3 of zero bytes for an empty body)
/// ```
public struct CanonicalRequest: Sendable, Hashable {
    /// The scheme's first line.
    public static let version = "HUITONG-SIG-V1"

    /// The method, upper case.
    public var method: String
    /// The path and query as sent.
    public var target: String
    /// The partner id.
    public var partner: String
    /// The timestamp header value.
    public var timestamp: String
    /// The nonce header value.
    public var nonce: String
    /// SM3 of the body, lowercase hex.
    public var bodyDigest: String

    /// Creates the canonical request.
    /// - Parameters:
    ///   - method: The HTTP method (upper-cased here).
    ///   - target: The path and query as sent.
    ///   - partner: The partner id.
    ///   - timestamp: The timestamp header value.
    ///   - nonce: The nonce header value.
    ///   - body: The body bytes.
    /// - Throws: `CryptoError` if SM3 fails (not expected).
    public init(method: String, target: String, partner: String, timestamp: String, nonce: String, body: some DataProtocol)
        throws
    {
        self.method = method.uppercased()
        self.target = target
        self.partner = partner
        self.timestamp = timestamp
        self.nonce = nonce
        self.bodyDigest = try SM3.hash(data: body).hexString
    }

    /// The bytes that are signed (UTF-8 of the seven lines).
    public var bytes: [UInt8] {
        Array([Self.version, method, target, partner, timestamp, nonce, bodyDigest].joined(separator: "\n").utf8)
    }
}

/// A signature as carried in `X-Huitong-Signature` (HTTP) or the `x-huitong-signature` header (AMQP).
public enum SignatureValue: Sendable, Hashable {
    /// HMAC-SM3 of the canonical request with the partner's shared secret.
    case hmacSM3([UInt8])
    /// SM2-with-SM3 over the canonical request, signer ID `1234567812345678` (R-SEC-2); DER or raw r‖s.
    case sm2([UInt8])

    /// Parses a header value.
    /// - Parameter header: `hmac-sm3=<hex>` or `sm2=<base64>`.
    /// - Returns: The signature, or nil if the value is malformed.
    public static func parse(_ header: String) -> SignatureValue? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("hmac-sm3=") {
            let hex = trimmed.dropFirst("hmac-sm3=".count)
            guard hex.count == 64, let bytes = Hex.decode(hex) else { return nil }
            return .hmacSM3(bytes)
        }
        if trimmed.hasPrefix("sm2=") {
            guard let data = Data(base64Encoded: String(trimmed.dropFirst(4))), !data.isEmpty, data.count <= 80 else {
                return nil
            }
            return .sm2(Array(data))
        }
        return nil
    }

    /// The header value.
    public var headerValue: String {
        switch self {
        case .hmacSM3(let bytes): "hmac-sm3=" + Hex.encode(bytes)
        case .sm2(let bytes): "sm2=" + Data(bytes).base64EncodedString()
        }
    }
}

/// A partner's verifying credential (the gateway's side).
public enum VerifyingKey: Sendable {
    /// A shared HMAC-SM3 secret.
    case hmacSM3(SymmetricKey)
    /// An SM2 public key.
    case sm2(SM2.PublicKey)

    /// The credential kind as stored (`hmac-sm3` or `sm2`).
    public var kind: String {
        switch self {
        case .hmacSM3: "hmac-sm3"
        case .sm2: "sm2"
        }
    }

    /// Checks a signature over canonical bytes; a signature of the other kind is invalid.
    /// - Parameters:
    ///   - signature: The signature.
    ///   - bytes: The canonical request bytes.
    /// - Returns: Whether it verifies.
    public func isValid(_ signature: SignatureValue, for bytes: [UInt8]) -> Bool {
        switch (self, signature) {
        case (.hmacSM3(let key), .hmacSM3(let code)):
            return (try? HMACSM3.isValidAuthenticationCode(code, authenticating: bytes, using: key)) == true
        case (.sm2(let key), .sm2(let raw)):
            let parsed: SM2.Signature?
            if raw.count == SM2.Signature.rawByteCount {
                parsed = try? SM2.Signature(rawRepresentation: raw)
            } else {
                parsed = try? SM2.Signature(derRepresentation: raw)
            }
            guard let parsed else { return false }
            return key.isValidSignature(parsed, for: bytes, signerID: .default)
        default:
            return false
        }
    }
}

/// Signs requests for a partner: the client side of the scheme, for tests, tools and partners' reference.
public struct RequestSigner: Sendable {
    /// The partner's signing key.
    public enum Key: Sendable {
        /// A shared HMAC-SM3 secret.
        case hmacSM3(SymmetricKey)
        /// An SM2 private key.
        case sm2(SM2.PrivateKey)
    }

    /// The partner id.
    public let partner: String
    /// The key.
    public let key: Key

    /// Creates a signer.
    /// - Parameters:
    ///   - partner: The partner id.
    ///   - key: The signing key.
    public init(partner: String, key: Key) {
        self.partner = partner
        self.key = key
    }

    /// A fresh random nonce (32 hex characters).
    public static func makeNonce() -> String {
        Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
    }

    /// Signs a canonical request.
    /// - Parameter canonical: The canonical request.
    /// - Returns: The signature.
    /// - Throws: `CryptoError` if signing fails.
    public func signature(for canonical: CanonicalRequest) throws -> SignatureValue {
        switch key {
        case .hmacSM3(let secret):
            return .hmacSM3(try HMACSM3.authenticationCode(for: canonical.bytes, using: secret).bytes)
        case .sm2(let privateKey):
            return .sm2(Array(try privateKey.signature(for: canonical.bytes, signerID: .default).derRepresentation))
        }
    }

    /// The four headers of a signed request.
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - target: The path and query exactly as sent.
    ///   - body: The body (empty for GET).
    ///   - time: The signing time (default now).
    ///   - nonce: The nonce (default a fresh one).
    /// - Returns: Header name and value pairs.
    /// - Throws: `CryptoError` if signing fails.
    public func headers(
        method: String,
        target: String,
        body: some DataProtocol,
        time: Date = Date(),
        nonce: String = RequestSigner.makeNonce()
    ) throws -> [(name: String, value: String)] {
        let timestamp = String(Int64(time.timeIntervalSince1970.rounded(.down)))
        let canonical = try CanonicalRequest(
            method: method, target: target, partner: partner, timestamp: timestamp, nonce: nonce, body: body)
        return [
            (GatewayHeader.partner, partner),
            (GatewayHeader.timestamp, timestamp),
            (GatewayHeader.nonce, nonce),
            (GatewayHeader.signature, try signature(for: canonical).headerValue),
        ]
    }
}

/// Lowercase hex.
package enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
