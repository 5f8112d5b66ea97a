public import Foundation
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
        /// Who rejected it (`system:hold-expiry` when it expired).
        public var reviewers: [String]
    }

    /// `{"value": "1250.00", "currency": "CNY"}` as in the payments interface; the value is checked as `Money`.
    public struct Amount: Sendable, Hashable, Codable {
        /// The decimal string.
        public var value: String
        /// The currency.
        public var currency: CurrencyCode

        private enum CodingKeys: String, CodingKey { case value, currency }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            value = try container.decode(String.self, forKey: .value)
            currency = try container.decode(CurrencyCode.self, forKey: .currency)
            do {
                _ = try Money(string: value, currency: currency)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: error.message)
            }
        }
    }

    /// Any JSON value (finding evidence is free-form by design).
    public indirect enum AnyJSON: Sendable, Hashable, Codable {
        case null, bool(Bool), number(Decimal), string(String), array([AnyJSON]), object([String: AnyJSON])

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode(Decimal.self) { self = .number(value) }
            else if let value = try? container.decode([AnyJSON].self) { self = .array(value) }
            else { self = .object(try container.decode([String: AnyJSON].self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }
    }

    /// `compliance.finding.raised.v1`.
    public struct FindingRaised: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "compliance.finding.raised.v1"
        public var findingId: String
        public var rule: String
        public var severity: String
        public var summary: String
        public var subjectMessageId: MessageID
        public var subjectType: MessageType
        public var evidence: [String: AnyJSON]
    }

    /// The data elements of a party in a report.
    public struct PartyElements: Sendable, Hashable, Codable {
        public var name: String?
        public var kind: String?
        public var uscc: String?
        public var idNumber: String?
        public var account: String?
        public var agent: String?
        public var wallet: String?
        public var walletOperator: String?
    }

    /// `compliance.report.large-value.v1` (R-AML-8).
    public struct LargeValueReport: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "compliance.report.large-value.v1"
        public struct Customer: Sendable, Hashable, Codable {
            public var id: String
            public var kind: String
            public var name: String?
        }
        public struct Movement: Sendable, Hashable, Codable {
            public var messageId: MessageID
            public var messageType: MessageType
            public var occurredAt: Timestamp
            public var amount: Amount
            public var crossBorder: Bool
            public var cash: Bool
            public var debtor: PartyElements
            public var creditor: PartyElements
            public var channel: String?
            public var purpose: String?
            public var lineSequence: Int?
        }
        public var reportId: String
        public var rules: [String]
        public var criterion: String
        public var customer: Customer
        public var direction: String
        public var businessDay: LocalDate
        public var total: Amount
        public var threshold: Amount
        public var deadline: LocalDate
        public var calendar: String
        /// Which part of a report split over several messages (same `reportId`, transactions in order).
        public struct Part: Sendable, Hashable, Codable {
            public var number: Int
            public var of: Int
        }
        public var supplementsReportId: String?
        public var subjectMessageId: MessageID
        /// Absent when the report is one message.
        public var part: Part?
        public var transactions: [Movement]
    }

    /// `compliance.hold.reviewed.v1` (four-eyes: first approval).
    public struct HoldReviewed: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "compliance.hold.reviewed.v1"
        public var holdId: String
        public var subjectMessageId: MessageID
        public var reviewer: String
        public var decision: String
        public var approvals: [String]
        public var approvalsRequired: Int
    }

    /// PROVISIONAL `accounts.transaction.booked.v1`.
    public struct TransactionBooked: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "accounts.transaction.booked.v1"
        public struct Customer: Sendable, Hashable, Codable {
            public var id: String
            public var kind: String
            public var name: String?
        }
        public struct Counterparty: Sendable, Hashable, Codable {
            public var name: String
            public var kind: String?
            public var account: String?
            public var agent: String?
            public var id: String?
        }
        public var transactionId: String
        public var customer: Customer
        public var account: String
        public var agent: String?
        public var direction: String
        public var method: String
        public var amount: Amount
        public var crossBorder: Bool?
        public var counterparty: Counterparty?
        public var channel: String?
        public var purpose: String?
        public var bookedAt: Timestamp?
    }

    /// PROVISIONAL `fx.purchase.request.v1` and `fx.settlement.request.v1`.
    public struct FXRequest: Sendable, Hashable, Codable {
        /// The message types.
        public static let messageTypes = ["fx.purchase.request.v1", "fx.settlement.request.v1"]
        public struct Person: Sendable, Hashable, Codable {
            public var name: String
            public var idNumber: ResidentID
        }
        public var requestId: String
        public var person: Person
        public var amount: Amount
        public var usdEquivalent: Amount?
        public var usedThisYearUSD: String
        public var purpose: String?
    }

    /// PROVISIONAL `ecny.wallet-credit.request.v1`.
    public struct WalletCredit: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "ecny.wallet-credit.request.v1"
        public var creditId: String
        public var wallet: String
        public var walletOperator: String?
        public var tier: Int
        public var balance: Amount
        public var amount: Amount
    }

    /// PROVISIONAL `redpacket.payout.request.v1`.
    public struct RedPacketPayout: Sendable, Hashable, Codable {
        /// The message type.
        public static let messageType = "redpacket.payout.request.v1"
        public struct Recipient: Sendable, Hashable, Codable {
            public var kind: String
            public var name: String?
            public var idNumber: String?
        }
        public var payoutId: String
        public var recipient: Recipient
        public var amount: Amount
        public var taxWithheld: Amount
        public var payerBorne: Bool?
    }

    /// Every type ``validate(_:)`` knows.
    public static let messageTypes: [String] = [
        ScreeningCleared.messageType, HoldPlaced.messageType, HoldReleased.messageType, HoldRejected.messageType,
        FindingRaised.messageType, LargeValueReport.messageType, HoldReviewed.messageType, TransactionBooked.messageType,
        WalletCredit.messageType, RedPacketPayout.messageType,
    ] + FXRequest.messageTypes

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
            let payload = try envelope.decodeData(as: HoldRejected.self)
            guard !payload.reviewers.isEmpty else {
                throw ValidationError(.outOfRange, pointer: "/data/reviewers", rule: "minItems", message: "a rejection names who decided")
            }
        case FindingRaised.messageType:
            _ = try envelope.decodeData(as: FindingRaised.self)
        case LargeValueReport.messageType:
            _ = try envelope.decodeData(as: LargeValueReport.self)
        case HoldReviewed.messageType:
            _ = try envelope.decodeData(as: HoldReviewed.self)
        case TransactionBooked.messageType:
            _ = try envelope.decodeData(as: TransactionBooked.self)
        case WalletCredit.messageType:
            _ = try envelope.decodeData(as: WalletCredit.self)
        case RedPacketPayout.messageType:
            _ = try envelope.decodeData(as: RedPacketPayout.self)
        case let type where FXRequest.messageTypes.contains(type):
            _ = try envelope.decodeData(as: FXRequest.self)
        default:
            break
        }
    }
}
