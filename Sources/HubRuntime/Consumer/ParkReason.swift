/// Why a message was parked: the `reason` column of `hub.parked` and the `x-huitong-reason` header.
public struct ParkReason: Sendable, Hashable, Codable, CustomStringConvertible {
    private enum Base: String, Sendable, Hashable, CaseIterable {
        case notJSON, tooLarge, missingMessageID, invalidMessageID, invalidEnvelope, unknownType, schemaViolation
        case permanentFailure, retriesExhausted, deliveryLimit, rejected, expired, unknown
    }
    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// Parses a reason name (`notJSON`, `deliveryLimit`, …).
    /// - Parameter name: The name.
    public init?(name: String) {
        guard let base = Base(rawValue: name) else { return nil }
        self.base = base
    }

    /// The body is not JSON.
    public static let notJSON = ParkReason(.notJSON)
    /// The body is larger than the consumer's limit.
    public static let tooLarge = ParkReason(.tooLarge)
    /// The envelope has no `id`.
    public static let missingMessageID = ParkReason(.missingMessageID)
    /// The envelope's `id` is not a UUIDv7.
    public static let invalidMessageID = ParkReason(.invalidMessageID)
    /// JSON, but not a valid CloudEvents envelope (a missing or malformed attribute other than `id`).
    public static let invalidEnvelope = ParkReason(.invalidEnvelope)
    /// A valid envelope of a type the consumer does not handle.
    public static let unknownType = ParkReason(.unknownType)
    /// The payload does not match its type's schema (`ValidationError` from validation or the handler).
    public static let schemaViolation = ParkReason(.schemaViolation)
    /// The handler reported a permanent failure.
    public static let permanentFailure = ParkReason(.permanentFailure)
    /// The handler failed transiently on every attempt, through the last retry tier.
    public static let retriesExhausted = ParkReason(.retriesExhausted)
    /// The broker dead-lettered it after the quorum queue's delivery limit (a message that crashes the consumer).
    public static let deliveryLimit = ParkReason(.deliveryLimit)
    /// The broker dead-lettered it because a client rejected it without requeue.
    public static let rejected = ParkReason(.rejected)
    /// The broker dead-lettered it because it expired.
    public static let expired = ParkReason(.expired)
    /// Dead-lettered for a reason the runtime does not know.
    public static let unknown = ParkReason(.unknown)

    /// Every reason, for listings and metric pre-registration.
    public static var all: [ParkReason] { Base.allCases.map(ParkReason.init) }

    /// The reason's name.
    public var description: String { base.rawValue }

    /// Decodes a reason from its name.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` for an unknown name.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let base = Base(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown reason"))
        }
        self.base = base
    }

    /// Encodes the reason as its name.
    /// - Parameter encoder: The encoder.
    /// - Throws: What the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(base.rawValue)
    }
}
