public import HubCore

/// The payloads of the compliance verdicts and hold decisions: the interface between compliance and payments
/// (contracts/schemas/compliance/*.schema.json). Every screened command gets exactly one verdict:
/// ``ScreeningCleared`` or ``HoldPlaced``; a placed hold ends with ``HoldReleased`` or ``HoldRejected``.
public enum CompliancePayloads {
    /// `compliance.screening.cleared.v1`.
    public struct ScreeningCleared: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "compliance.screening.cleared.v1"
        /// The screened command's envelope id.
        public var subjectMessageId: MessageID
        /// The screened command's type.
        public var subjectType: MessageType
    }

    /// `compliance.hold.placed.v1`.
    public struct HoldPlaced: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "compliance.hold.placed.v1"
        /// The hold.
        public var holdId: String
        /// The held command's envelope id.
        public var subjectMessageId: MessageID
        /// The held command's type.
        public var subjectType: MessageType
        /// Why: rule IDs (at least one).
        public var rules: [String]
        /// Why: text.
        public var reason: String
    }

    /// `compliance.hold.released.v1`.
    public struct HoldReleased: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "compliance.hold.released.v1"
        /// The hold.
        public var holdId: String
        /// The held command's envelope id.
        public var subjectMessageId: MessageID
        /// Who released it (two in four-eyes mode).
        public var reviewers: [String]
    }

    /// `compliance.hold.rejected.v1` (also when the hold expired: reviewers empty).
    public struct HoldRejected: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "compliance.hold.rejected.v1"
        /// The hold.
        public var holdId: String
        /// The held command's envelope id.
        public var subjectMessageId: MessageID
        /// Why.
        public var reason: String
        /// Who rejected it (empty when it expired).
        public var reviewers: [String]
    }

    /// Decodes and checks a verdict or hold decision payload strictly (what the schemas refuse, this refuses).
    /// - Parameter envelope: A message of one of the four types.
    /// - Throws: `ValidationError` under `/data`.
    public static func validate(_ envelope: Envelope) throws(ValidationError) {
        switch envelope.type.value {
        case ScreeningCleared.messageType:
            _ = try envelope.decodeData(as: ScreeningCleared.self)
        case HoldPlaced.messageType:
            let payload = try envelope.decodeData(as: HoldPlaced.self)
            guard !payload.rules.isEmpty else {
                throw ValidationError(.outOfRange, pointer: "/data/rules", rule: "minItems", message: "a hold names at least one rule")
            }
        case HoldReleased.messageType:
            let payload = try envelope.decodeData(as: HoldReleased.self)
            guard !payload.reviewers.isEmpty else {
                throw ValidationError(.outOfRange, pointer: "/data/reviewers", rule: "minItems", message: "a release names its reviewers")
            }
        case HoldRejected.messageType:
            _ = try envelope.decodeData(as: HoldRejected.self)
        default:
            break
        }
    }
}
