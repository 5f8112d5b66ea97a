public import HubCore

/// The message types the payments service consumes and emits (the fixed interface between payments, the adapters
/// and compliance; contracts/asyncapi.json and contracts/schemas/ are the source of truth).
public enum PaymentsMessageType {
    // Commands payments consumes (hub.commands).
    /// A single transfer request from a partner.
    public static let transferRequest = "payments.transfer.request.v1"
    /// A batch or payroll (代发工资) request from a partner.
    public static let batchRequest = "payments.batch.request.v1"

    // Events payments emits (hub.events).
    /// The transfer was accepted for execution.
    public static let transferAccepted = "payments.transfer.accepted.v1"
    /// The transfer was refused (ISO 20022 reason code).
    public static let transferRejected = "payments.transfer.rejected.v1"
    /// The transfer waits for compliance.
    public static let transferPendingCompliance = "payments.transfer.pending-compliance.v1"
    /// The transfer was submitted to a rail's adapter.
    public static let transferExecuting = "payments.transfer.executing.v1"
    /// The transfer settled.
    public static let transferSettled = "payments.transfer.settled.v1"
    /// The transfer failed at the rail (ISO 20022 reason code).
    public static let transferFailed = "payments.transfer.failed.v1"
    /// The adapter did not report a final status in time; payments is querying (R-PAY-4).
    public static let transferStatusUnknown = "payments.transfer.status-unknown.v1"
    /// The batch was accepted (per-line acceptance).
    public static let batchAccepted = "payments.batch.accepted.v1"
    /// The whole batch was refused (R-PAY-6, idempotency).
    public static let batchRejected = "payments.batch.rejected.v1"
    /// Every line of the batch is final (per-line results, R-PAY-7).
    public static let batchCompleted = "payments.batch.completed.v1"

    // Commands payments emits to the adapters (hub.commands).
    /// Submit a credit transfer on HVPS/BEPS/IBPS.
    public static let interbankSubmit = "interbank.credit-transfer.submit.v1"
    /// Ask the interbank adapter for a transfer's status.
    public static let interbankStatusQuery = "interbank.credit-transfer.status-query.v1"
    /// Submit an e-CNY wallet transfer.
    public static let ecnySubmit = "ecny.transfer.submit.v1"
    /// Ask the e-CNY adapter for a transfer's status.
    public static let ecnyStatusQuery = "ecny.transfer.status-query.v1"

    // Events payments consumes from the adapters and compliance (hub.events).
    /// pacs.002 or status-query answer from the interbank adapter.
    public static let interbankStatusReported = "interbank.credit-transfer.status-reported.v1"
    /// The e-CNY operator took the transfer.
    public static let ecnyAccepted = "ecny.transfer.accepted.v1"
    /// The e-CNY transfer settled.
    public static let ecnySettled = "ecny.transfer.settled.v1"
    /// The e-CNY operator refused the transfer.
    public static let ecnyRejected = "ecny.transfer.rejected.v1"
    /// Compliance cleared a screened command.
    public static let screeningCleared = "compliance.screening.cleared.v1"
    /// Compliance placed a hold on a screened command.
    public static let holdPlaced = "compliance.hold.placed.v1"
    /// A reviewer released a hold.
    public static let holdReleased = "compliance.hold.released.v1"
    /// A reviewer rejected a held command.
    public static let holdRejected = "compliance.hold.rejected.v1"

    /// The types the payments handler consumes.
    public static let consumed: Set<String> = [
        transferRequest, batchRequest, interbankStatusReported, ecnyAccepted, ecnySettled, ecnyRejected,
        screeningCleared, holdPlaced, holdReleased, holdRejected,
    ]

    /// The payload schema URI of a type: `…/contracts/schemas/<domain>/<aggregate>-<verb>.v<N>.schema.json`.
    /// - Parameter type: A message type such as `payments.transfer.accepted.v1`.
    /// - Returns: The schema's `$id`.
    public static func schemaURI(_ type: String) -> String {
        let parts = type.split(separator: ".")
        guard parts.count == 4 else { return "https://huitong.example.com/contracts/schemas/unknown.schema.json" }
        return "https://huitong.example.com/contracts/schemas/\(parts[0])/\(parts[1])-\(parts[2]).\(parts[3]).schema.json"
    }
}

/// An amount on the wire of this flow: `{"value": "1250.00", "currency": "CNY"}` (a decimal string, never a number).
public struct AmountPayload: Sendable, Hashable, Codable {
    /// The decimal string.
    public var value: String
    /// The ISO 4217 code.
    public var currency: String

    /// Creates an amount payload.
    /// - Parameters:
    ///   - value: The decimal string.
    ///   - currency: The ISO 4217 code.
    public init(value: String, currency: String) {
        self.value = value
        self.currency = currency
    }

    /// The canonical wire form of a `Money`.
    /// - Parameter money: The amount.
    public init(_ money: Money) {
        self.init(value: money.amountString, currency: money.currency.code)
    }

    /// The JSON value.
    public var json: JSONValue { ["value": .string(value), "currency": .string(currency)] }
}

/// The payer of a request as sent by the partner (structure only; ``TransferValidation`` checks the values).
public struct DebtorPayload: Sendable, Hashable, Codable {
    /// The account holder's name.
    public var name: String
    /// The account number.
    public var account: String
    /// The account bank's 12-digit CNAPS code.
    public var agent: String
    /// Always `enterprise`.
    public var kind: String
}

/// The payee of a request as sent by the partner: an interbank account (`account` + `agent`) or an e-CNY wallet
/// (`wallet` + `walletOperator`).
public struct CreditorPayload: Sendable, Hashable, Codable {
    /// The payee's name.
    public var name: String
    /// `enterprise` or `person`.
    public var kind: String
    /// The account number (interbank rails).
    public var account: String?
    /// The account bank's CNAPS code (interbank rails).
    public var agent: String?
    /// The 16-digit e-CNY wallet id.
    public var wallet: String?
    /// The wallet's operator code, e.g. `ICBC`.
    public var walletOperator: String?
}

/// The data of `payments.transfer.request.v1`, structurally decoded (JSON types, required and unknown members). A
/// payload that does not decode is parked by the runtime as `schemaViolation`; one that decodes but breaks a
/// business rule is answered with `payments.transfer.rejected.v1`.
public struct TransferRequestPayload: Sendable, Hashable, Codable {
    /// The client's idempotency reference (≤ 35 of `[A-Za-z0-9._:/-]`).
    public var clientRequestId: String
    /// The channel (default `api`).
    public var channel: String?
    /// The payer.
    public var debtor: DebtorPayload
    /// The payee.
    public var creditor: CreditorPayload
    /// The amount.
    public var amount: AmountPayload
    /// `YYYY-MM-DD`, Asia/Shanghai.
    public var requestedExecutionDate: String?
    /// ISO 20022 purpose code or text.
    public var purpose: String?
    /// Unstructured remittance information (≤ 140 characters).
    public var remittanceInformation: String?
    /// Cross-border (not supported on these rails).
    public var crossBorder: Bool?
    /// Explicit override of the R-PAY-5 duplicate check.
    public var duplicateOverride: Bool?
    /// The documented basis of a corporate→person transfer above the limit (R-PAY-8).
    public var documentedBasis: String?
}

/// One line of a batch request.
public struct BatchLinePayload: Sendable, Hashable, Codable {
    /// The line's sequence number (≥ 1, unique in the batch; in a retry batch, the original line's number).
    public var sequence: Int
    /// The payee.
    public var creditor: CreditorPayload
    /// The amount.
    public var amount: AmountPayload
    /// The payee's resident ID number (payroll), masked everywhere it is shown.
    public var idNumber: String?
}

/// The data of `payments.batch.request.v1`, structurally decoded.
public struct BatchRequestPayload: Sendable, Hashable, Codable {
    /// The client's batch reference (≤ 35), the idempotency key with the enterprise and channel.
    public var batchId: String
    /// The channel (default `api`).
    public var channel: String?
    /// `payroll` or `transfers`.
    public var kind: String
    /// The payer.
    public var payer: DebtorPayload
    /// The purpose, e.g. `工资`.
    public var purpose: String?
    /// NbOfTxs.
    public var numberOfTransactions: Int
    /// CtrlSum, a decimal string.
    public var controlSum: String
    /// The batch currency.
    public var currency: String
    /// `YYYY-MM-DD`, Asia/Shanghai.
    public var requestedExecutionDate: String?
    /// The batch whose failed lines this one retries (R-PAY-7).
    public var originalBatchId: String?
    /// The documented basis (payroll agreement and payee list, R-PAY-8).
    public var documentedBasis: String?
    /// The lines.
    public var lines: [BatchLinePayload]
}

/// The data of `interbank.credit-transfer.status-reported.v1`.
public struct InterbankStatusPayload: Sendable, Hashable, Codable {
    /// The transfer.
    public var transferId: String
    /// The UETR sent with the transfer.
    public var uetr: String
    /// The EndToEndId sent with the transfer.
    public var endToEndId: String
    /// The pacs.002 transaction status.
    public var status: String
    /// The status reason code (RJCT).
    public var reasonCode: String?
    /// When the rail accepted it.
    public var acceptedAt: String?
    /// `pacs.002` or `status-query`.
    public var source: String
}

/// The data of the e-CNY adapter's events (`accepted`, `settled`, `rejected`).
public struct ECNYEventPayload: Sendable, Hashable, Codable {
    /// The transfer.
    public var transferId: String
    /// The operator's transaction id (accepted, settled).
    public var operatorTransactionId: String?
    /// When it settled (settled).
    public var settledAt: String?
    /// The refusal code (rejected).
    public var reasonCode: String?
    /// The refusal text (rejected).
    public var reason: String?
}

/// The data of the compliance verdict events.
public struct ComplianceVerdictPayload: Sendable, Hashable, Codable {
    /// The hold (placed, released, rejected).
    public var holdId: String?
    /// The envelope id of the screened command.
    public var subjectMessageId: String
    /// The screened command's type (cleared, placed).
    public var subjectType: String?
    /// The rules that hit (placed).
    public var rules: [String]?
    /// Why (placed, rejected).
    public var reason: String?
    /// Who decided (released, rejected).
    public var reviewers: [String]?
}
