import AsyncHTTPClient
import Foundation
import HubContracts
import HubCore
import HubRuntime
public import HubStore
public import Logging
import Metrics
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// What one HTTP exchange with the bank gave.
enum BankReply: Sendable {
    /// 2xx with a body.
    case document([UInt8])
    /// 404: the bank does not know the references.
    case notFound
}

/// A failure of an exchange that a later attempt may cure (timeout, connection refused, 5xx).
struct TransientExchangeError: Error, Sendable {
    var code: String
    var message: String
}

/// A definitive HTTP refusal (4xx other than 404): the bank will not accept this request as sent.
struct RefusedExchangeError: Error, Sendable {
    var status: Int
}

/// The bank's ISO 20022 over HTTP endpoint: `POST {url}/iso20022/pacs.008`, `…/pacs.028`, `…/camt.060`, XML in,
/// XML out.
struct BankClient: Sendable {
    var baseURL: String
    var timeout: Duration

    func post(_ path: String, xml: String) async throws -> BankReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/xml; charset=utf-8")
        request.body = .bytes(ByteBuffer(string: xml))
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: Self.timeAmount(timeout))
            body = try await response.body.collect(upTo: 4 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw TransientExchangeError(code: "timeout", message: "the bank did not answer in time")
        } catch {
            throw TransientExchangeError(code: "connection", message: "the exchange with the bank failed: \(String(describing: type(of: error)))")
        }
        switch response.status.code {
        case 200..<300: return .document(Array(body.readableBytesView))
        case 404: return .notFound
        case 500..<600: throw TransientExchangeError(code: "http-\(response.status.code)", message: "the bank answered \(response.status.code)")
        default: throw RefusedExchangeError(status: Int(response.status.code))
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// The interbank adapter's worker: takes due transfers and report requests (leased, so several processes share
/// the work and a crashed one's work is taken over), talks to the bank OUTSIDE any database transaction, then
/// records the answer and emits its events in one short transaction through ``Outbox``.
///
/// A transfer whose send timed out or failed is next QUERIED (pacs.028 by the original references, R-PAY-4), and
/// re-sent — the same stored pacs.008 bytes, so the same MsgId, EndToEndId and UETR — only when the bank answers
/// that it does not know it. A pacs.002 that does not answer what was sent (references, amount, currency) or
/// breaks the field rules is not applied: the row is flagged with the reason (`interbank.transfers.flag`), the
/// metric `interbank_responses_invalid_total` counts it, and the worker queries again later.
public struct InterbankWorker: Service {
    let pool: PostgresPool
    let configuration: InterbankConfiguration
    let logger: Logger
    let client: BankClient

    /// Creates the worker.
    /// - Parameters:
    ///   - pool: The database.
    ///   - configuration: The settings.
    ///   - logger: The logger.
    public init(pool: PostgresPool, configuration: InterbankConfiguration, logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
        self.client = BankClient(baseURL: configuration.url, timeout: configuration.timeout)
    }

    /// Runs until graceful shutdown; in-flight exchanges finish and are recorded first.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var worked = 0
            do {
                worked = try await pass()
            } catch {
                logger.warning("interbank worker pass failed", metadata: ["error.type": "\(String(describing: type(of: error)))"])
            }
            if worked == 0 {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.pollInterval) }
            }
        }
    }

    /// One pass: claims due work and handles it. Returns how many items were handled.
    func pass() async throws -> Int {
        let leaseMilliseconds = Self.milliseconds(configuration.timeout) + 30_000
        let limit = configuration.concurrency
        let transfers = try await pool.query(
            """
            UPDATE interbank.transfers t SET lease_until = now() + (\(leaseMilliseconds)::bigint * interval '1 millisecond'),
                attempts = t.attempts + 1, updated_at = now()
            FROM (SELECT transfer_id FROM interbank.transfers
                  WHERE endpoint = \(configuration.url) AND next_action <> 'none' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
                  ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED) due
            WHERE t.transfer_id = due.transfer_id
            RETURNING t.*
            """
        ).rows.map(TransferRow.init)
        let reports = try await pool.query(
            """
            UPDATE interbank.account_reports r SET lease_until = now() + (\(leaseMilliseconds)::bigint * interval '1 millisecond'),
                attempts = r.attempts + 1, updated_at = now()
            FROM (SELECT request_id FROM interbank.account_reports
                  WHERE endpoint = \(configuration.url) AND next_action <> 'none' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
                  ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED) due
            WHERE r.request_id = due.request_id
            RETURNING r.request_id, r.account, r.agent, r.kind, r.business_date, r.command_id, r.correlation_id,
                r.enterprise_id, r.attempts
            """
        ).rows.map(ReportRow.init)
        await withTaskGroup(of: Void.self) { group in
            for row in transfers {
                group.addTask {
                    let outcome = await exchange(row)
                    do {
                        try await record(outcome, for: row)
                    } catch {
                        logger.warning("recording a bank answer failed; the lease expires and it is tried again", metadata: [
                            "transfer.id": "\(row.transferId.uuidString.lowercased())", "error.type": "\(String(describing: type(of: error)))",
                        ])
                    }
                }
            }
            for row in reports {
                group.addTask {
                    do {
                        try await fetch(row)
                    } catch {
                        logger.warning("account report failed", metadata: [
                            "report.request.id": "\(row.requestId)", "error.type": "\(String(describing: type(of: error)))",
                        ])
                    }
                }
            }
        }
        return transfers.count + reports.count
    }

    enum Outcome: Sendable {
        case report(Pacs002, source: String)
        case notFound
        case transient(code: String, message: String)
        case invalid(String)
    }

    func exchange(_ row: TransferRow) async -> Outcome {
        let action = row.nextAction
        let started = ContinuousClock.now
        defer {
            Metrics.Timer(label: "interbank_round_trip_seconds", dimensions: [("action", action)])
                .recordNanoseconds(Int64((ContinuousClock.now - started).components.attoseconds / 1_000_000_000
                    + (ContinuousClock.now - started).components.seconds * 1_000_000_000))
        }
        do {
            let reply: BankReply
            let source: String
            if action == "send" {
                reply = try await client.post("/iso20022/pacs.008", xml: row.pacs008)
                source = "pacs.002"
            } else {
                let request = Pacs028(
                    messageId: "HQ" + UUIDText.compact(UUID()), creationDateTime: ISODate.shanghaiDateTime(Date()),
                    originalMessageId: row.messageId, originalEndToEndId: row.endToEndId, originalUETR: row.uetr)
                reply = try await client.post("/iso20022/pacs.028", xml: request.xml)
                source = "status-query"
            }
            guard case .document(let bytes) = reply else { return .notFound }
            let report = try Pacs002.parse(bytes)
            try report.check(answering: row.messageId, endToEndId: row.endToEndId, uetr: row.uetr, amount: row.amount)
            return .report(report, source: source)
        } catch let error as TransientExchangeError {
            return .transient(code: error.code, message: error.message)
        } catch let error as RefusedExchangeError {
            return .invalid("the bank refused the request with HTTP \(error.status)")
        } catch let error as ISO20022Error {
            return .invalid(error.description)
        } catch {
            return .transient(code: "unexpected", message: String(describing: type(of: error)))
        }
    }

    func record(_ outcome: Outcome, for claimed: TransferRow) async throws {
        let backoff = backoffMilliseconds(attempt: claimed.attempts)
        let queryDelay = Self.milliseconds(configuration.statusQueryDelay)
        let id = claimed.transferId
        let wasSend = claimed.nextAction == "send" ? 1 : 0
        let outcomeLabel: String
        switch outcome {
        case .report(let report, _): outcomeLabel = report.status.rawValue
        case .notFound: outcomeLabel = "not-found"
        case .transient(let code, _): outcomeLabel = code
        case .invalid: outcomeLabel = "invalid"
        }
        Counter(label: "interbank_exchanges_total", dimensions: [("action", claimed.nextAction), ("outcome", outcomeLabel)]).increment()
        try await pool.withTransaction { transaction in
            guard let current = try await TransferRow.lock(id, in: transaction) else { return }
            if let status = current.status.flatMap(TransactionStatus.init(rawValue:)), status.isFinal {
                // An answer that arrives after the final one (a duplicate or stale report) changes nothing.
                try await transaction.execute("UPDATE interbank.transfers SET lease_until = NULL WHERE transfer_id = \(id)")
                return
            }
            switch outcome {
            case .report(let report, let source):
                var events: [OutboundMessage] = []
                if report.status.reported != current.reportedStatus || current.queryRequested {
                    events.append(try current.event(
                        status: report.status, reasonCode: report.reasonCode, acceptedAt: report.acceptanceDateTime,
                        source: source))
                }
                let next = report.status.isFinal ? "none" : "query"
                try await transaction.execute(
                    """
                    UPDATE interbank.transfers SET status = \(report.status.rawValue), reason_code = \(report.reasonCode),
                        accepted_at = COALESCE(\(report.acceptanceDateTime), accepted_at),
                        reported_status = \(report.status.reported), query_requested = false, next_action = \(next),
                        next_attempt_at = now() + (\(queryDelay)::bigint * interval '1 millisecond'), lease_until = NULL,
                        last_error = NULL, flag = NULL, sends = sends + \(wasSend), updated_at = now()
                    WHERE transfer_id = \(id)
                    """)
                try await Outbox.enqueue(events, producer: Interbank.producer, in: transaction)
                logger.info("interbank status", metadata: [
                    "transfer.id": "\(id.uuidString.lowercased())", "interbank.status": "\(report.status.rawValue)",
                    "interbank.reason": "\(report.reasonCode ?? "-")", "interbank.source": "\(source)",
                ])
            case .notFound:
                try await transaction.execute(
                    """
                    UPDATE interbank.transfers SET next_action = 'send', next_attempt_at = now(), lease_until = NULL,
                        last_error = 'the bank does not know the transfer: re-sending the same pacs.008', updated_at = now()
                    WHERE transfer_id = \(id)
                    """)
            case .transient(let code, let message):
                try await transaction.execute(
                    """
                    UPDATE interbank.transfers SET next_action = 'query',
                        next_attempt_at = now() + (\(backoff)::bigint * interval '1 millisecond'), lease_until = NULL,
                        last_error = \("\(code): \(message)"), sends = sends + \(wasSend), updated_at = now()
                    WHERE transfer_id = \(id)
                    """)
                logger.notice("interbank exchange failed; querying later", metadata: [
                    "transfer.id": "\(id.uuidString.lowercased())", "error.code": "\(code)",
                ])
            case .invalid(let reason):
                Counter(label: "interbank_responses_invalid_total").increment()
                try await transaction.execute(
                    """
                    UPDATE interbank.transfers SET flag = \(reason), next_action = 'query',
                        next_attempt_at = now() + (\(backoff)::bigint * interval '1 millisecond'), lease_until = NULL,
                        sends = sends + \(wasSend), updated_at = now()
                    WHERE transfer_id = \(id)
                    """)
                logger.error("the bank's answer was not applied", metadata: ["transfer.id": "\(id.uuidString.lowercased())", "interbank.flag": "\(reason)"])
            }
        }
    }

    func fetch(_ row: ReportRow) async throws {
        let backoff = backoffMilliseconds(attempt: row.attempts)
        let request = AccountReportingRequest(
            messageId: "HR" + UUIDText.compact(UUID()), creationDateTime: ISODate.shanghaiDateTime(Date()),
            requestedMessage: row.kind == "intraday" ? "camt.052.001.08" : "camt.053.001.08",
            account: try AccountNumber(row.account), servicer: try CNAPSCode(row.agent), date: row.date)
        var flag: String?
        var report: AccountReport?
        var transient: String?
        do {
            switch try await client.post("/iso20022/camt.060", xml: request.xml) {
            case .notFound:
                flag = "the bank does not know the account"
            case .document(let bytes):
                let parsed = try AccountReport.parse(bytes)
                if parsed.account.unmaskedValue != row.account { flag = "the report is for another account" }
                else if (parsed.kind == .intraday) != (row.kind == "intraday") { flag = "the bank sent the other report kind" }
                else if parsed.kind == .statement && parsed.date != row.date { flag = "the statement is for another date" }
                else { report = parsed }
            }
        } catch let error as TransientExchangeError {
            transient = "\(error.code): \(error.message)"
        } catch let error as RefusedExchangeError {
            flag = "the bank refused the request with HTTP \(error.status)"
        } catch let error as ISO20022Error {
            flag = error.description
        }
        try await pool.withTransaction { transaction in
            if let report {
                try await Outbox.enqueue([try row.event(report)], producer: Interbank.producer, in: transaction)
                try await transaction.execute(
                    """
                    UPDATE interbank.account_reports SET next_action = 'none', report_id = \(report.id), lease_until = NULL,
                        last_error = NULL, flag = NULL, updated_at = now() WHERE request_id = \(row.requestId)
                    """)
            } else if let flag {
                Counter(label: "interbank_responses_invalid_total").increment()
                try await transaction.execute(
                    """
                    UPDATE interbank.account_reports SET next_action = 'none', flag = \(flag), lease_until = NULL,
                        updated_at = now() WHERE request_id = \(row.requestId)
                    """)
                logger.error("account report not applied", metadata: ["report.request.id": "\(row.requestId)", "interbank.flag": "\(flag)"])
            } else {
                try await transaction.execute(
                    """
                    UPDATE interbank.account_reports SET last_error = \(transient),
                        next_attempt_at = now() + (\(backoff)::bigint * interval '1 millisecond'), lease_until = NULL,
                        updated_at = now() WHERE request_id = \(row.requestId)
                    """)
            }
        }
    }

    func backoffMilliseconds(attempt: Int) -> Int {
        let base = Self.milliseconds(configuration.retryBaseDelay)
        let cap = Self.milliseconds(configuration.retryMaxDelay)
        let exponent = min(max(attempt - 1, 0), 20)
        return min(base << exponent, cap)
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

/// A claimed account-report request.
struct ReportRow: Sendable {
    var requestId: String
    var account: String
    var agent: String
    var kind: String
    var date: String
    var commandId: UUID
    var correlationId: UUID?
    var enterpriseId: String?
    var attempts: Int

    init(_ row: PostgresRow) throws {
        requestId = try row.decode(String.self, column: "request_id")
        account = try row.decode(String.self, column: "account")
        agent = try row.decode(String.self, column: "agent")
        kind = try row.decode(String.self, column: "kind")
        date = try row.decode(String.self, column: "business_date")
        commandId = try row.decode(UUID.self, column: "command_id")
        correlationId = try row.decode(UUID?.self, column: "correlation_id")
        enterpriseId = try row.decode(String?.self, column: "enterprise_id")
        attempts = try row.decode(Int.self, column: "attempts")
    }

    /// `accounts.statement.received.v1` (camt.053) or `accounts.balance.reported.v1` (camt.052).
    func event(_ report: AccountReport) throws -> OutboundMessage {
        func amount(_ money: Money) -> JSONValue { AmountValue(money).jsonValue }
        let balances: [JSONValue] = report.balances.map { balance in
            .object([
                "type": .string(balance.type), "amount": amount(balance.amount),
                "creditDebit": .string(balance.creditDebit.rawValue), "date": .string(balance.date),
            ])
        }
        let entries: [JSONValue] = report.entries.map { entry in
            var object: JSONObject = [
                "amount": amount(entry.amount), "creditDebit": .string(entry.creditDebit.rawValue),
                "reversal": .bool(entry.reversal), "status": .string(entry.status),
            ]
            if let value = entry.bookingDate { object["bookingDate"] = .string(value) }
            if let value = entry.valueDate { object["valueDate"] = .string(value) }
            if let value = entry.servicerReference { object["servicerReference"] = .string(value) }
            if let value = entry.endToEndId { object["endToEndId"] = .string(value) }
            if let value = entry.remittanceInformation { object["remittanceInformation"] = .string(value) }
            return .object(object)
        }
        let data: JSONObject = [
            "requestId": .string(requestId), "account": .string(account), "agent": .string(agent),
            "kind": .string(kind), "date": .string(date), "reportId": .string(report.id),
            "currency": .string(report.currency.code), "balances": .array(balances), "entries": .array(entries),
        ]
        let statement = report.kind == .statement
        let envelope = try Envelope(
            source: Interbank.source,
            type: MessageType(statement ? Interbank.statementReceivedType : Interbank.balanceReportedType),
            dataSchema: Interbank.schemaBase
                + (statement ? "accounts/statement-received.v1.schema.json" : "accounts/balance-reported.v1.schema.json"),
            data: data, correlationID: correlationId ?? commandId, causationID: commandId,
            enterpriseID: enterpriseId.flatMap { try? USCC($0) })
        return OutboundMessage(envelope: envelope, aggregateKey: requestId)
    }
}
