/// A message type: `<domain>.<aggregate>.<verb>.v<N>`, e.g. `payments.transfer.request.v1`.
///
/// Each of domain, aggregate and verb is a lowercase segment of `[a-z0-9-]` that starts with a letter (at most 63
/// characters); `N` ≥ 1 without leading zeros. Commands use the imperative (`request`), events the past tense
/// (`accepted`). The AMQP routing key is the type without its version: ``routingKey``.
public struct MessageType: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The full type, e.g. `payments.transfer.request.v1`.
    public let value: String
    /// The domain, e.g. `payments`.
    public let domain: String
    /// The aggregate, e.g. `transfer`.
    public let aggregate: String
    /// The verb, e.g. `request`.
    public let verb: String
    /// The version, ≥ 1.
    public let version: Int

    /// Parses a type.
    /// - Parameter string: The type text.
    /// - Throws: `ValidationError` (`invalidFormat`, rule `CE-type`).
    public init(_ string: String) throws(ValidationError) {
        let parts = string.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let format = ValidationError(
            .invalidFormat, rule: "CE-type",
            message: "a message type is <domain>.<aggregate>.<verb>.v<N>: lowercase segments of a-z, 0-9 and '-' "
                + "starting with a letter, and a version N >= 1")
        guard parts.count == 4, parts[0...2].allSatisfy(Self.isSegment) else { throw format }
        let versionText = parts[3].utf8
        guard versionText.count >= 2, versionText.count <= 7, versionText.first == 0x76,
              versionText.dropFirst().first != 0x30,
              versionText.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let version = Int(parts[3].dropFirst()), version >= 1
        else { throw format }
        self.value = string
        self.domain = parts[0]
        self.aggregate = parts[1]
        self.verb = parts[2]
        self.version = version
    }

    /// Builds a type from its parts.
    /// - Parameters:
    ///   - domain: The domain.
    ///   - aggregate: The aggregate.
    ///   - verb: The verb.
    ///   - version: The version, ≥ 1.
    /// - Throws: `ValidationError` (`invalidFormat`, rule `CE-type`) if a part is invalid.
    public init(domain: String, aggregate: String, verb: String, version: Int) throws(ValidationError) {
        try self.init("\(domain).\(aggregate).\(verb).v\(version)")
    }

    /// The AMQP routing key: the type without its version, e.g. `payments.transfer.request`.
    public var routingKey: String { "\(domain).\(aggregate).\(verb)" }

    /// The full type.
    public var description: String { value }

    /// Decodes and checks a type from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try MessageType(s) }
    }

    /// Encodes the full type.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    private static func isSegment(_ segment: String) -> Bool {
        let bytes = segment.utf8
        guard let first = bytes.first, first >= 0x61, first <= 0x7A, bytes.count <= 63 else { return false }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}
