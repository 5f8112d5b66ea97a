/// A partner identifier: `^[a-z0-9][a-z0-9-]{1,62}$` (2–63 characters), e.g. `acme-erp`.
public struct PartnerID: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The identifier.
    public let value: String

    /// Checks a partner identifier.
    /// - Parameter string: The identifier.
    /// - Throws: `ValidationError` (`invalidFormat`, rule `CE-partnerid`).
    public init(_ string: String) throws(ValidationError) {
        let bytes = Array(string.utf8)
        let allowed = { (b: UInt8) in (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D }
        guard (2...63).contains(bytes.count), bytes[0] != 0x2D, bytes.allSatisfy(allowed) else {
            throw ValidationError(
                .invalidFormat, rule: "CE-partnerid",
                message: "a partner id is 2 to 63 characters of a-z, 0-9 and '-', not starting with '-'")
        }
        self.value = string
    }

    /// The identifier.
    public var description: String { value }

    /// Decodes and checks an identifier from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try PartnerID(s) }
    }

    /// Encodes the identifier.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// A W3C Trace Context `traceparent` (version 00): `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, all
/// lowercase; neither the trace id nor the parent id may be all zeros.
public struct TraceParent: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The header value.
    public let value: String

    /// Checks a `traceparent` value.
    /// - Parameter string: The value.
    /// - Throws: `ValidationError`: `invalidFormat` (layout) or `invalidValue` (an all-zero id), rule `W3C-traceparent`.
    public init(_ string: String) throws(ValidationError) {
        let b = Array(string.utf8)
        let isHex = { (x: UInt8) in (x >= 0x30 && x <= 0x39) || (x >= 0x61 && x <= 0x66) }
        guard b.count == 55, b[0] == 0x30, b[1] == 0x30, b[2] == 0x2D, b[35] == 0x2D, b[52] == 0x2D,
              b[3..<35].allSatisfy(isHex), b[36..<52].allSatisfy(isHex), b[53..<55].allSatisfy(isHex)
        else {
            throw ValidationError(
                .invalidFormat, rule: "W3C-traceparent",
                message: "a traceparent is 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>, lowercase")
        }
        guard !b[3..<35].allSatisfy({ $0 == 0x30 }), !b[36..<52].allSatisfy({ $0 == 0x30 }) else {
            throw ValidationError(
                .invalidValue, rule: "W3C-traceparent", message: "the trace id and parent id must not be all zeros")
        }
        self.value = string
    }

    /// The 32-hex-digit trace id.
    public var traceID: Substring { value.dropFirst(3).prefix(32) }
    /// The 16-hex-digit parent (span) id.
    public var parentID: Substring { value.dropFirst(36).prefix(16) }
    /// Whether the sampled flag is set.
    public var isSampled: Bool { (UInt8(value.suffix(2), radix: 16) ?? 0) & 1 == 1 }

    /// The header value.
    public var description: String { value }

    /// Decodes and checks a value from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try TraceParent(s) }
    }

    /// Encodes the header value.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// URI syntax checks (RFC 3986), shared by the envelope and the schema validator's `format` keyword.
package enum URISyntax {
    /// Whether every character is allowed in a URI (unreserved, reserved or a `%XX` escape) and nothing else:
    /// no spaces, controls or non-ASCII.
    package static func hasValidCharacters(_ string: String) -> Bool {
        let b = Array(string.utf8)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == 0x25 {
                guard i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                i += 3
                continue
            }
            let isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            guard isAlnum || punctuation[Int(c)] else { return false }
            i += 1
        }
        return true
    }

    /// The RFC 3986 unreserved and reserved punctuation, indexed by byte value.
    private static let punctuation: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in "-._~:/?#[]@!$&'()*+,;=".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// A URI-reference (RFC 3986 §4.1): valid characters, at most one `#`.
    package static func isURIReference(_ string: String) -> Bool {
        hasValidCharacters(string) && string.utf8.filter { $0 == 0x23 }.count <= 1
    }

    /// An absolute URI (RFC 3986 §3): a scheme `[A-Za-z][A-Za-z0-9+.-]*`, a colon, and valid characters.
    package static func isAbsoluteURI(_ string: String) -> Bool {
        guard isURIReference(string), let colon = string.utf8.firstIndex(of: 0x3A) else { return false }
        let scheme = string.utf8[..<colon]
        guard let first = scheme.first, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A) else {
            return false
        }
        return scheme.allSatisfy {
            ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B
                || $0 == 0x2D || $0 == 0x2E
        }
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }
}
