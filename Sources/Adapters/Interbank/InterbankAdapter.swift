public import Foundation
import HubContracts
public import HubCore
public import HubRuntime
public import HubStore
import Logging

/// The interbank adapter's settings. Keys (env `HUITONG_INTERBANK_*`), all optional:
///
/// | key | type | default |
/// |---|---|---|
/// | `huitong.interbank.url` | http(s) URL of the bank's ISO 20022 endpoint | `http://127.0.0.1:8481` |
/// | `huitong.interbank.timeout` | seconds per HTTP exchange | `10` |
/// | `huitong.interbank.status-query-delay` | seconds before querying a non-final status | `5` |
/// | `huitong.interbank.retry-max-delay` | seconds, cap of the back-off after a failed exchange | `60` |
/// | `huitong.interbank.concurrency` | exchanges in flight per process | `8` |
public struct InterbankConfiguration: Sendable, Hashable {
    /// The bank's base URL.
    public var url: String = "http://127.0.0.1:8481"
    /// The deadline of one HTTP exchange.
    public var timeout: Duration = .seconds(10)
    /// How long after a non-final status (ACSP, ACTC, PDNG, …) the worker queries again.
    public var statusQueryDelay: Duration = .seconds(5)
    /// The first back-off after a failed exchange (doubling per attempt).
    public var retryBaseDelay: Duration = .seconds(1)
    /// The back-off cap.
    public var retryMaxDelay: Duration = .seconds(60)
    /// How often the worker looks for due work when idle.
    public var pollInterval: Duration = .milliseconds(200)
    /// Exchanges in flight at once.
    public var concurrency: Int = 8

    /// The defaults.
    public init() {}
}

/// Names of the interbank adapter's messages, queue and schemas.
public enum Interbank {
    /// The consumer queue of role `adapter.interbank`.
    public static let queue = "adp.interbank"
    /// The producer name on outbox rows written by the worker.
    public static let producer = "adp.interbank.worker"
    /// The envelope source of the adapter's events.
    public static let source = "urn:huitong:adp:interbank"
    /// Status reports for payments.
    public static let statusReportedType = "interbank.credit-transfer.status-reported.v1"
    /// A camt.053 statement.
    public static let statementReceivedType = "accounts.statement.received.v1"
    /// A camt.052 intraday report.
    public static let balanceReportedType = "accounts.balance.reported.v1"
    /// The schema base.
    public static let schemaBase = "https://huitong.example.com/contracts/schemas/"

    /// The topology consumer: `adp.interbank` bound on `hub.commands` to the submit, status-query and account-report
    /// commands.
    /// - Parameter retryDelaysMilliseconds: Retry tiers.
    /// - Returns: The consumer.
    public static func consumer(retryDelaysMilliseconds: [Int] = [1_000, 10_000, 60_000, 600_000]) -> Topology.Consumer {
        Topology.Consumer(
            queue: queue,
            bindings: [
                (exchange: Topology.ExchangeName.commands, pattern: "interbank.credit-transfer.submit"),
                (exchange: Topology.ExchangeName.commands, pattern: "interbank.credit-transfer.status-query"),
                (exchange: Topology.ExchangeName.commands, pattern: "interbank.account-report.request"),
            ],
            retryDelaysMilliseconds: retryDelaysMilliseconds)
    }

    /// The MsgId the hub gives the pacs.008 of a transfer: `HT` + the transfer id's 32 hex digits (34 characters,
    /// R-PAY-2). Derived, so a resend can never get a new one.
    /// - Parameter transferId: The transfer id.
    /// - Returns: The MsgId.
    public static func messageId(for transferId: UUID) -> String {
        "HT" + UUIDText.compact(transferId)
    }

    /// The TxId: the transfer id's 32 hex digits.
    /// - Parameter transferId: The transfer id.
    /// - Returns: The TxId.
    public static func transactionId(for transferId: UUID) -> String { UUIDText.compact(transferId) }
}

enum UUIDText {
    static func compact(_ uuid: UUID) -> String { uuid.uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
}

/// The `interbank` schema (component `interbank`).
public enum InterbankMigrations {
    /// Every migration of the interbank adapter.
    public static let all: [Migration] = [
        Migration(
            component: "interbank",
            version: 1,
            name: "create interbank transfers and account reports",
            sql: """
                CREATE SCHEMA IF NOT EXISTS interbank;
                -- One row per transferId: the pacs.008 exactly as first built (a resend sends the same bytes, so the
                -- same MsgId, EndToEndId, TxId and UETR), and what the bank last said.
                CREATE TABLE interbank.transfers (
                    transfer_id      uuid PRIMARY KEY,
                    endpoint         text NOT NULL,
                    request          text NOT NULL,
                    uetr             uuid NOT NULL UNIQUE,
                    end_to_end_id    text NOT NULL,
                    msg_id           text NOT NULL UNIQUE,
                    amount           text NOT NULL,
                    currency         text NOT NULL,
                    pacs008          text NOT NULL,
                    command_id       uuid NOT NULL,
                    correlation_id   uuid,
                    enterprise_id    text,
                    next_action      text NOT NULL CHECK (next_action IN ('send', 'query', 'none')),
                    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                    lease_until      timestamptz,
                    attempts         integer NOT NULL DEFAULT 0,
                    sends            integer NOT NULL DEFAULT 0,
                    status           text,
                    reason_code      text,
                    accepted_at      text,
                    reported_status  text,
                    query_requested  boolean NOT NULL DEFAULT false,
                    last_error       text,
                    flag             text,
                    created_at       timestamptz NOT NULL DEFAULT now(),
                    updated_at       timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX transfers_due ON interbank.transfers (endpoint, next_attempt_at) WHERE next_action <> 'none';
                -- One row per account-report request id.
                CREATE TABLE interbank.account_reports (
                    request_id       text PRIMARY KEY,
                    endpoint         text NOT NULL,
                    request          text NOT NULL,
                    account          text NOT NULL,
                    agent            text NOT NULL,
                    kind             text NOT NULL CHECK (kind IN ('intraday', 'statement')),
                    business_date    text NOT NULL,
                    command_id       uuid NOT NULL,
                    correlation_id   uuid,
                    enterprise_id    text,
                    next_action      text NOT NULL CHECK (next_action IN ('fetch', 'none')),
                    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                    lease_until      timestamptz,
                    attempts         integer NOT NULL DEFAULT 0,
                    report_id        text,
                    last_error       text,
                    flag             text,
                    created_at       timestamptz NOT NULL DEFAULT now(),
                    updated_at       timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX account_reports_due ON interbank.account_reports (endpoint, next_attempt_at) WHERE next_action <> 'none';
                """
        )
    ]
}

/// The handler of `adp.interbank`: records each command in the runtime's transaction; the ``InterbankWorker``
/// does the HTTP exchange outside any transaction and emits the results through the outbox.
///
/// - `interbank.credit-transfer.submit.v1`: a new transferId gets a row and its pacs.008 (built once). The same
///   transferId again with the same payload (a retry, a redelivery) re-sends nothing new: a final status is
///   reported again, otherwise the pending exchange is brought forward. The same transferId with a different
///   payload, or a UETR already used by another transfer, is parked (`transfer-id-reused`, `uetr-reused`).
/// - `interbank.credit-transfer.status-query.v1`: a final status is reported at once (`source: status-query`);
///   otherwise a pacs.028 goes to the bank and its answer is reported. An unknown transferId is parked.
/// - `interbank.account-report.request.v1`: a camt.060 asks the bank for a camt.052/053.
public struct InterbankHandler: MessageHandler {
    /// The bank endpoint the recorded work is for (the worker with the same URL takes it).
    public let endpoint: String

    /// Creates the handler.
    /// - Parameter endpoint: The bank's base URL (``InterbankConfiguration/url``).
    public init(endpoint: String) { self.endpoint = endpoint }

    /// The command types handled.
    public var messageTypes: Set<String> {
        [CreditTransferSubmit.messageType, CreditTransferStatusQuery.messageType, AccountReportRequest.messageType]
    }

    /// Commands of one transfer (or report request) are handled in order.
    /// - Parameter envelope: The command.
    /// - Returns: The transfer id or request id.
    public func aggregateKey(for envelope: Envelope) -> String {
        envelope.data["transferId"]?.stringValue ?? envelope.data["requestId"]?.stringValue ?? ""
    }

    /// Validates the payload before a transaction opens.
    /// - Parameter envelope: The command.
    /// - Throws: `ValidationError` at the offending member.
    public func validate(_ envelope: Envelope) throws {
        switch envelope.type.value {
        case CreditTransferSubmit.messageType: _ = try envelope.decodeData(as: CreditTransferSubmit.self)
        case CreditTransferStatusQuery.messageType: _ = try envelope.decodeData(as: CreditTransferStatusQuery.self)
        default: _ = try envelope.decodeData(as: AccountReportRequest.self)
        }
    }

    /// Records the command.
    /// - Parameters:
    ///   - message: The command.
    ///   - context: The transaction.
    /// - Returns: A status report when the answer is already known.
    /// - Throws: ``HandlerFailure`` (permanent) for a reused id or an unknown transfer; database errors (transient).
    public func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage] {
        let envelope = message.envelope
        switch envelope.type.value {
        case CreditTransferSubmit.messageType:
            return try await submit(try envelope.decodeData(as: CreditTransferSubmit.self), envelope, context)
        case CreditTransferStatusQuery.messageType:
            return try await query(try envelope.decodeData(as: CreditTransferStatusQuery.self), envelope, context)
        default:
            try await report(try envelope.decodeData(as: AccountReportRequest.self), envelope, context)
            return []
        }
    }

    private func submit(_ submit: CreditTransferSubmit, _ envelope: Envelope, _ context: HandlerContext) async throws -> [OutboundMessage] {
        guard let transferId = UUID(uuidString: submit.transferId), let uetr = UUID(uuidString: submit.uetr) else {
            throw HandlerFailure.permanent(code: "invalid-id", "transferId or uetr is not a UUID")
        }
        let request = String(decoding: JSONValue.object(envelope.data).canonicalBytes(), as: UTF8.self)
        let others = try await context.transaction.query(
            "SELECT 1 FROM interbank.transfers WHERE uetr = \(uetr) AND transfer_id <> \(transferId)")
        guard others.rows.isEmpty else {
            throw HandlerFailure.permanent(code: "uetr-reused", "the UETR belongs to another transfer (R-PAY-2)")
        }
        let pacs = Pacs008(
            messageId: Interbank.messageId(for: transferId), creationDateTime: ISODate.shanghaiDateTime(Date()),
            clearingSystem: submit.rail.rawValue, instructingAgent: submit.debtor.agent,
            instructedAgent: submit.creditor.agent,
            transactions: [
                Pacs008.Transaction(
                    instructionId: submit.instructionId, endToEndId: submit.endToEndId,
                    transactionId: Interbank.transactionId(for: transferId), uetr: submit.uetr,
                    amount: submit.amount.money, settlementDate: submit.settlementDate,
                    debtor: PacsParty(name: submit.debtor.name, account: submit.debtor.account, agent: submit.debtor.agent),
                    creditor: PacsParty(name: submit.creditor.name, account: submit.creditor.account, agent: submit.creditor.agent),
                    purpose: submit.purpose, remittanceInformation: submit.remittanceInformation)
            ])
        let correlation = envelope.correlationID ?? envelope.id.uuid
        let inserted = try await context.transaction.execute(
            """
            INSERT INTO interbank.transfers (transfer_id, endpoint, request, uetr, end_to_end_id, msg_id, amount, currency, pacs008,
                command_id, correlation_id, enterprise_id, next_action)
            VALUES (\(transferId), \(endpoint), \(request), \(uetr), \(submit.endToEndId), \(pacs.messageId),
                \(submit.amount.money.amountString), \(submit.amount.money.currency.code), \(pacs.xml), \(envelope.id.uuid),
                \(correlation), \(envelope.enterpriseID?.value), 'send')
            ON CONFLICT (transfer_id) DO NOTHING
            """)
        if inserted == 1 {
            context.logger.info("interbank transfer recorded", metadata: [
                "transfer.id": "\(submit.transferId)", "interbank.rail": "\(submit.rail.rawValue)",
                "interbank.creditor.account": "\(submit.creditor.account)",
            ])
            return []
        }
        let existing = try await TransferRow.lock(transferId, in: context.transaction)
        guard let existing, existing.request == request else {
            throw HandlerFailure.permanent(
                code: "transfer-id-reused", "the transferId was submitted before with a different payload")
        }
        if let status = existing.status.flatMap(TransactionStatus.init(rawValue:)), status.isFinal {
            return [try existing.event(status: status, source: "pacs.002", cause: envelope)]
        }
        if existing.nextAction != "none" {
            try await context.transaction.execute(
                "UPDATE interbank.transfers SET next_attempt_at = now(), updated_at = now() WHERE transfer_id = \(transferId)")
        }
        return []
    }

    private func query(_ query: CreditTransferStatusQuery, _ envelope: Envelope, _ context: HandlerContext) async throws -> [OutboundMessage] {
        guard let transferId = UUID(uuidString: query.transferId) else {
            throw HandlerFailure.permanent(code: "invalid-id", "transferId is not a UUID")
        }
        guard let row = try await TransferRow.lock(transferId, in: context.transaction) else {
            throw HandlerFailure.permanent(code: "unknown-transfer", "no transfer with this transferId was submitted")
        }
        guard row.uetr == query.uetr, row.endToEndId == query.endToEndId else {
            throw HandlerFailure.permanent(code: "reference-mismatch", "uetr or endToEndId differ from the submitted ones")
        }
        if let status = row.status.flatMap(TransactionStatus.init(rawValue:)), status.isFinal {
            return [try row.event(status: status, source: "status-query", cause: envelope)]
        }
        try await context.transaction.execute(
            """
            UPDATE interbank.transfers SET query_requested = true, next_attempt_at = now(), updated_at = now(),
                next_action = CASE WHEN next_action = 'send' THEN 'send' ELSE 'query' END
            WHERE transfer_id = \(transferId)
            """)
        return []
    }

    private func report(_ request: AccountReportRequest, _ envelope: Envelope, _ context: HandlerContext) async throws {
        let text = String(decoding: JSONValue.object(envelope.data).canonicalBytes(), as: UTF8.self)
        let inserted = try await context.transaction.execute(
            """
            INSERT INTO interbank.account_reports (request_id, endpoint, request, account, agent, kind, business_date, command_id,
                correlation_id, enterprise_id, next_action)
            VALUES (\(request.requestId), \(endpoint), \(text), \(request.account.unmaskedValue), \(request.agent.value),
                \(request.kind.rawValue), \(request.date), \(envelope.id.uuid), \(envelope.correlationID ?? envelope.id.uuid),
                \(envelope.enterpriseID?.value), 'fetch')
            ON CONFLICT (request_id) DO NOTHING
            """)
        if inserted == 0 {
            let existing = try await context.transaction.query(
                "SELECT request FROM interbank.account_reports WHERE request_id = \(request.requestId)")
            guard try existing.rows.first?.decode(String.self, at: 0) == text else {
                throw HandlerFailure.permanent(code: "request-id-reused", "the requestId was used before with a different payload")
            }
        }
    }
}

/// A row of `interbank.transfers` as the handler and worker need it.
struct TransferRow: Sendable {
    var transferId: UUID
    var request: String
    var uetr: String
    var endToEndId: String
    var messageId: String
    var amount: Money
    var pacs008: String
    var commandId: UUID
    var correlationId: UUID?
    var enterpriseId: String?
    var nextAction: String
    var attempts: Int
    var status: String?
    var reasonCode: String?
    var acceptedAt: String?
    var reportedStatus: String?
    var queryRequested: Bool

    init(_ row: PostgresRow) throws {
        transferId = try row.decode(UUID.self, column: "transfer_id")
        request = try row.decode(String.self, column: "request")
        uetr = try row.decode(UUID.self, column: "uetr").uuidString.lowercased()
        endToEndId = try row.decode(String.self, column: "end_to_end_id")
        messageId = try row.decode(String.self, column: "msg_id")
        amount = try Money(string: try row.decode(String.self, column: "amount"), currencyCode: try row.decode(String.self, column: "currency"))
        pacs008 = try row.decode(String.self, column: "pacs008")
        commandId = try row.decode(UUID.self, column: "command_id")
        correlationId = try row.decode(UUID?.self, column: "correlation_id")
        enterpriseId = try row.decode(String?.self, column: "enterprise_id")
        nextAction = try row.decode(String.self, column: "next_action")
        attempts = try row.decode(Int.self, column: "attempts")
        status = try row.decode(String?.self, column: "status")
        reasonCode = try row.decode(String?.self, column: "reason_code")
        acceptedAt = try row.decode(String?.self, column: "accepted_at")
        reportedStatus = try row.decode(String?.self, column: "reported_status")
        queryRequested = try row.decode(Bool.self, column: "query_requested")
    }

    static func lock(_ transferId: UUID, in transaction: PostgresTransaction) async throws -> TransferRow? {
        let result = try await transaction.query(
            "SELECT * FROM interbank.transfers WHERE transfer_id = \(transferId) FOR UPDATE")
        return try result.rows.first.map(TransferRow.init)
    }

    /// The `interbank.credit-transfer.status-reported.v1` event for a status.
    /// - Parameter cause: The command being answered (a repeated submit or a status query); default the submit.
    func event(
        status: TransactionStatus, reasonCode: String? = nil, acceptedAt: String? = nil, source: String, cause: Envelope? = nil
    ) throws -> OutboundMessage {
        var data: JSONObject = [
            "transferId": .string(transferId.uuidString.lowercased()),
            "uetr": .string(uetr),
            "endToEndId": .string(endToEndId),
            "status": .string(status.reported),
        ]
        if let code = reasonCode ?? self.reasonCode, status == .rejected { data["reasonCode"] = .string(code) }
        if let accepted = acceptedAt ?? self.acceptedAt { data["acceptedAt"] = .string(accepted) }
        data["source"] = .string(source)
        let envelope = try Envelope(
            source: Interbank.source, type: MessageType(Interbank.statusReportedType),
            dataSchema: Interbank.schemaBase + "interbank/credit-transfer-status-reported.v1.schema.json", data: data,
            correlationID: cause?.correlationID ?? correlationId ?? commandId, causationID: cause?.id.uuid ?? commandId,
            enterpriseID: enterpriseId.flatMap { try? USCC($0) })
        return OutboundMessage(envelope: envelope, aggregateKey: transferId.uuidString.lowercased())
    }
}
