import Foundation
public import HubCore

/// The message types compliance emits, with their payload schemas under `contracts/schemas/compliance/`.
public enum ComplianceEvents {
    /// The producer URI of every compliance message.
    public static let source = "urn:huitong:compliance"
    /// The base of the payload schemas' `$id`s.
    static let schemaBase = "https://huitong.example.com/contracts/schemas/compliance/"

    /// A rule fired: rule, severity, evidence, the message it concerns.
    public static let findingRaised = "compliance.finding.raised.v1"
    /// R-AML-8 large-value report with every data element and its filing deadline.
    public static let largeValueReport = "compliance.report.large-value.v1"
    /// A screened command needs no review (a verdict).
    public static let screeningCleared = "compliance.screening.cleared.v1"
    /// A screened command waits for a reviewer (a verdict).
    public static let holdPlaced = "compliance.hold.placed.v1"
    /// A reviewer (or two, in four-eyes mode) released a hold.
    public static let holdReleased = "compliance.hold.released.v1"
    /// A reviewer rejected a hold, or it expired.
    public static let holdRejected = "compliance.hold.rejected.v1"
    /// Four-eyes mode: the first of two approvals was recorded; the hold stays open.
    public static let holdReviewed = "compliance.hold.reviewed.v1"

    /// Every type compliance emits.
    public static let all: [String] = [
        findingRaised, largeValueReport, screeningCleared, holdPlaced, holdReleased, holdRejected, holdReviewed,
    ]

    /// The schema `$id` of a type's payload: `compliance.hold.placed.v1` → `…/compliance/hold-placed.v1.schema.json`.
    /// - Parameter type: A compliance type.
    /// - Returns: The schema URI.
    public static func schema(of type: String) -> String {
        let parts = type.split(separator: ".")
        return schemaBase + "\(parts[1])-\(parts[2]).\(parts[3]).schema.json"
    }

    /// An envelope caused by `cause` (same correlation and enterprise).
    static func envelope(_ type: String, data: JSONObject, causedBy cause: Envelope) throws -> Envelope {
        try Envelope(causedBy: cause, source: source, type: MessageType(type), dataSchema: schema(of: type), data: data)
    }

    /// An envelope with an explicit correlation and causation (decisions taken outside a handler).
    static func envelope(
        _ type: String, data: JSONObject, correlationID: UUID?, causationID: UUID?, enterpriseID: String?
    ) throws -> Envelope {
        try Envelope(
            source: source, type: MessageType(type), dataSchema: schema(of: type), data: data,
            correlationID: correlationID, causationID: causationID,
            enterpriseID: try enterpriseID.map { id throws(ValidationError) in try USCC(id) })
    }

    /// `{"value": "1250.00", "currency": "CNY"}`.
    static func amount(_ money: Money) -> JSONValue {
        ["value": .string(money.amountString), "currency": .string(money.currency.code)]
    }

    /// An amount in a column currency, rounded half-up to minor units (R-GEN-2) for display.
    static func amount(_ value: Decimal, currency: CurrencyCode) -> JSONValue {
        let money = (try? Money.rounded(value, currency: currency)) ?? Money.zero(currency)
        return amount(money)
    }
}

/// A rule's finding: a diagnostic, not an error (STYLE §5).
public struct Finding: Sendable, Hashable {
    /// How serious it is.
    public enum Severity: String, Sendable, Hashable {
        /// For the record.
        case note
        /// Needs a look.
        case warning
        /// Breaks a rule: holds a screened command (hold policy `onErrorFinding`).
        case error
    }

    /// The rule ID (REFERENCE.md), e.g. `R-AML-9`.
    public var rule: String
    /// The severity.
    public var severity: Severity
    /// One log-safe sentence: no names, accounts or ID numbers.
    public var summary: String
    /// The evidence: amounts, thresholds, pointers, list ids; identifiers masked.
    public var evidence: JSONObject

    /// Creates a finding.
    public init(rule: String, severity: Severity, summary: String, evidence: JSONObject = [:]) {
        self.rule = rule
        self.severity = severity
        self.summary = summary
        self.evidence = evidence
    }
}
