import AsyncHTTPClient
import Foundation
import HubContracts
public import HubCore
public import HubCrypto
public import HubRuntime
public import HubStore
public import Hummingbird
import HTTPTypes
public import Logging
import Metrics
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// The e-CNY adapter's settings. Keys (env `HUITONG_ECNY_*`), all optional:
///
/// | key | type | default |
/// |---|---|---|
/// | `huitong.ecny.url` | the operator's base URL | `http://127.0.0.1:8482` |
/// | `huitong.ecny.keys-dir` | directory of the PEM keys (``ECNYKeys``) | `.local/keys/ecny` |
/// | `huitong.ecny.timeout` | seconds per HTTP exchange | `10` |
/// | `huitong.ecny.signer-id` | the hub's SM2 signer ID | `1234567812345678` |
/// | `huitong.ecny.operator-signer-id` | the operator's SM2 signer ID | `1234567812345678` |
/// | `huitong.ecny.settlement-query-delay` | seconds after ACCEPTED before querying (if no callback came) | `60` |
/// | `huitong.ecny.clock-skew` | seconds a signed message's timestamp may differ from now | `300` |
/// | `huitong.ecny.tier-caps` | R-ECNY-1 caps, `tier=amount|none,…` (read by the simulator) | `1=none,2=500000,3=20000,4=10000` |
public struct ECNYConfiguration: Sendable {
    /// The operator's base URL.
    public var url: String = "http://127.0.0.1:8482"
    /// The deadline of one exchange.
    public var timeout: Duration = .seconds(10)
    /// The hub's signing key.
    public var hubKey: SM2.PrivateKey
    /// The operator's public key.
    public var operatorKey: SM2.PublicKey
    /// The hub's signer ID.
    public var signerID: SM2.SignerID = .default
    /// The operator's signer ID.
    public var operatorSignerID: SM2.SignerID = .default
    /// Query delay after ACCEPTED.
    public var settlementQueryDelay: Duration = .seconds(60)
    /// Allowed clock difference of signed messages.
    public var clockSkew: Duration = .seconds(300)
    /// The first back-off after a failed exchange (doubling).
    public var retryBaseDelay: Duration = .seconds(1)
    /// The back-off cap.
    public var retryMaxDelay: Duration = .seconds(60)
    /// Idle poll interval of the worker.
    public var pollInterval: Duration = .milliseconds(200)
    /// Exchanges in flight.
    public var concurrency: Int = 8

    /// Creates the settings with the two keys.
    /// - Parameters:
    ///   - hubKey: The hub's private key.
    ///   - operatorKey: The operator's public key.
    public init(hubKey: SM2.PrivateKey, operatorKey: SM2.PublicKey) {
        self.hubKey = hubKey
        self.operatorKey = operatorKey
    }
}

/// Names of the e-CNY adapter's messages and queue.
public enum ECNY {
    /// The consumer queue of role `adapter.ecny`.
    public static let queue = "adp.ecny"
    /// The producer name of the worker's and callbacks' outbox rows.
    public static let producer = "adp.ecny.worker"
    /// The envelope source.
    public static let source = "urn:huitong:adp:ecny"
    /// The operator took the transfer.
    public static let acceptedType = "ecny.transfer.accepted.v1"
    /// Settled.
    public static let settledType = "ecny.transfer.settled.v1"
    /// Rejected.
    public static let rejectedType = "ecny.transfer.rejected.v1"
    /// Schema base.
    public static let schemaBase = "https://huitong.example.com/contracts/schemas/ecny/"

    /// `adp.ecny` bound on `hub.commands` to the submit and status-query commands.
    /// - Parameter retryDelaysMilliseconds: Retry tiers.
    /// - Returns: The consumer.
    public static func consumer(retryDelaysMilliseconds: [Int] = [1_000, 10_000, 60_000, 600_000]) -> Topology.Consumer {
        Topology.Consumer(
            queue: queue,
            bindings: [
                (exchange: Topology.ExchangeName.commands, pattern: "ecny.transfer.submit"),
                (exchange: Topology.ExchangeName.commands, pattern: "ecny.transfer.status-query"),
            ],
            retryDelaysMilliseconds: retryDelaysMilliseconds)
    }
}

/// The `ecny` schema.
public enum ECNYMigrations {
    /// Every migration of the e-CNY adapter.
    public static let all: [Migration] = [
        Migration(
            component: "ecny",
            version: 1,
            name: "create ecny transfers and callbacks",
            sql: """
                CREATE SCHEMA IF NOT EXISTS ecny;
                CREATE TABLE ecny.transfers (
                    transfer_id      uuid PRIMARY KEY,
                    endpoint         text NOT NULL,
                    request          text NOT NULL,
                    message_id       text NOT NULL UNIQUE,
                    amount_fen       bigint NOT NULL,
                    command_id       uuid NOT NULL,
                    correlation_id   uuid,
                    enterprise_id    text,
                    state            text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'accepted', 'settled', 'rejected')),
                    next_action      text NOT NULL CHECK (next_action IN ('send', 'query', 'none')),
                    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                    lease_until      timestamptz,
                    attempts         integer NOT NULL DEFAULT 0,
                    sends            integer NOT NULL DEFAULT 0,
                    operator_tx_id   text,
                    settled_at       text,
                    reason_code      text,
                    reason           text,
                    query_requested  boolean NOT NULL DEFAULT false,
                    last_error       text,
                    flag             text,
                    created_at       timestamptz NOT NULL DEFAULT now(),
                    updated_at       timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX transfers_due ON ecny.transfers (endpoint, next_attempt_at) WHERE next_action <> 'none';
                -- Every verified callback, once: a redelivered notification ends here.
                CREATE TABLE ecny.callbacks (
                    notification_id  text PRIMARY KEY,
                    transfer_id      uuid NOT NULL,
                    status           text NOT NULL,
                    applied          boolean NOT NULL,
                    received_at      timestamptz NOT NULL DEFAULT now()
                );
                """
        )
    ]
}

/// A row of `ecny.transfers`.
struct ECNYRow: Sendable {
    var transferId: UUID
    var request: String
    var messageId: String
    var commandId: UUID
    var correlationId: UUID?
    var enterpriseId: String?
    var state: String
    var nextAction: String
    var attempts: Int
    var operatorTransactionId: String?
    var settledAt: String?
    var reasonCode: String?
    var reason: String?
    var queryRequested: Bool

    init(_ row: PostgresRow) throws {
        transferId = try row.decode(UUID.self, column: "transfer_id")
        request = try row.decode(String.self, column: "request")
        messageId = try row.decode(String.self, column: "message_id")
        commandId = try row.decode(UUID.self, column: "command_id")
        correlationId = try row.decode(UUID?.self, column: "correlation_id")
        enterpriseId = try row.decode(String?.self, column: "enterprise_id")
        state = try row.decode(String.self, column: "state")
        nextAction = try row.decode(String.self, column: "next_action")
        attempts = try row.decode(Int.self, column: "attempts")
        operatorTransactionId = try row.decode(String?.self, column: "operator_tx_id")
        settledAt = try row.decode(String?.self, column: "settled_at")
        reasonCode = try row.decode(String?.self, column: "reason_code")
        reason = try row.decode(String?.self, column: "reason")
        queryRequested = try row.decode(Bool.self, column: "query_requested")
    }

    static func lock(_ id: UUID, in transaction: PostgresTransaction) async throws -> ECNYRow? {
        try await transaction.query("SELECT * FROM ecny.transfers WHERE transfer_id = \(id) FOR UPDATE").rows.first.map(ECNYRow.init)
    }

    var isFinal: Bool { state == "settled" || state == "rejected" }

    func event(_ type: String, cause: Envelope? = nil) throws -> OutboundMessage {
        let id = transferId.uuidString.lowercased()
        var data: JSONObject = ["transferId": .string(id)]
        let schema: String
        switch type {
        case ECNY.settledType:
            data["operatorTransactionId"] = .string(operatorTransactionId ?? "")
            data["settledAt"] = .string(settledAt ?? "")
            schema = "transfer-settled.v1.schema.json"
        case ECNY.rejectedType:
            data["reasonCode"] = .string(reasonCode ?? "NARR")
            data["reason"] = .string(reason ?? "rejected by the operator")
            schema = "transfer-rejected.v1.schema.json"
        default:
            if let value = operatorTransactionId { data["operatorTransactionId"] = .string(value) }
            schema = "transfer-accepted.v1.schema.json"
        }
        let envelope = try Envelope(
            source: ECNY.source, type: MessageType(type), dataSchema: ECNY.schemaBase + schema, data: data,
            correlationID: cause?.correlationID ?? correlationId ?? commandId, causationID: cause?.id.uuid ?? commandId,
            enterpriseID: enterpriseId.flatMap { try? USCC($0) })
        return OutboundMessage(envelope: envelope, aggregateKey: id)
    }

    /// The event that reports the row's current state (for a repeated submit or a status query).
    func currentEvent(cause: Envelope? = nil) throws -> OutboundMessage? {
        switch state {
        case "settled": try event(ECNY.settledType, cause: cause)
        case "rejected": try event(ECNY.rejectedType, cause: cause)
        case "accepted": try event(ECNY.acceptedType, cause: cause)
        default: nil
        }
    }
}

/// Applies an operator's answer or callback to a locked row: at most one final outcome per transfer; anything
/// after it (a duplicate, a stale PROCESSING) is ignored. Returns the events to emit.
enum ECNYStateMachine {
    static func apply(
        _ message: OperatorMessage, to row: ECNYRow, settlementQueryDelay: Int, in transaction: PostgresTransaction
    ) async throws -> [OutboundMessage] {
        guard !row.isFinal else { return [] }
        var next = row
        var events: [OutboundMessage] = []
        let id = row.transferId
        switch message.status {
        case "SETTLED":
            next.state = "settled"
            next.operatorTransactionId = message.operatorTransactionId
            next.settledAt = message.settledAt
            events.append(try next.event(ECNY.settledType))
        case "REJECTED", "FAILED":
            next.state = "rejected"
            let operatorCode = message.reasonCode ?? "UNKNOWN"
            next.reasonCode = ECNYProtocol.isoReasonCode(for: operatorCode)
            next.reason = "\(operatorCode): \(message.reason ?? "rejected by the operator")"
            events.append(try next.event(ECNY.rejectedType))
        default:  // ACCEPTED, PROCESSING
            next.state = "accepted"
            next.operatorTransactionId = message.operatorTransactionId ?? row.operatorTransactionId
            if row.state == "new" || row.queryRequested { events.append(try next.event(ECNY.acceptedType)) }
        }
        let action = next.isFinal ? "none" : "query"
        try await transaction.execute(
            """
            UPDATE ecny.transfers SET state = \(next.state), operator_tx_id = \(next.operatorTransactionId),
                settled_at = \(next.settledAt), reason_code = \(next.reasonCode), reason = \(next.reason),
                query_requested = false, next_action = \(action),
                next_attempt_at = now() + (\(settlementQueryDelay)::bigint * interval '1 millisecond'),
                last_error = NULL, flag = NULL, updated_at = now()
            WHERE transfer_id = \(id)
            """)
        return events
    }
}

/// The handler of `adp.ecny`: records the command; the ``ECNYWorker`` talks to the operator.
///
/// - `ecny.transfer.submit.v1`: a new transferId gets a row (message id derived from it, R-ECNY-2). The same
///   transferId again with the same payload reports the known state again (or nothing while new); with another
///   payload it is parked (`transfer-id-reused`).
/// - `ecny.transfer.status-query.v1`: a known state is reported at once; otherwise the operator is queried. An
///   unknown transferId is parked (`unknown-transfer`).
public struct ECNYHandler: MessageHandler {
    /// The operator endpoint the recorded work is for (the worker with the same URL takes it).
    public let endpoint: String

    /// Creates the handler.
    /// - Parameter endpoint: The operator's base URL (``ECNYConfiguration/url``).
    public init(endpoint: String) { self.endpoint = endpoint }

    /// The types handled.
    public var messageTypes: Set<String> { [ECNYTransferSubmit.messageType, ECNYStatusQuery.messageType] }

    /// One transfer's commands in order.
    /// - Parameter envelope: The command.
    /// - Returns: The transfer id.
    public func aggregateKey(for envelope: Envelope) -> String { envelope.data["transferId"]?.stringValue ?? "" }

    /// Validates the payload.
    /// - Parameter envelope: The command.
    /// - Throws: `ValidationError`.
    public func validate(_ envelope: Envelope) throws {
        if envelope.type.value == ECNYTransferSubmit.messageType {
            _ = try envelope.decodeData(as: ECNYTransferSubmit.self)
        } else {
            _ = try envelope.decodeData(as: ECNYStatusQuery.self)
        }
    }

    /// Records the command.
    /// - Parameters:
    ///   - message: The command.
    ///   - context: The transaction.
    /// - Returns: The current state's event when already known.
    /// - Throws: ``HandlerFailure`` for a reused id or unknown transfer.
    public func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage] {
        let envelope = message.envelope
        if envelope.type.value == ECNYStatusQuery.messageType {
            let query = try envelope.decodeData(as: ECNYStatusQuery.self)
            guard let id = UUID(uuidString: query.transferId),
                  let row = try await ECNYRow.lock(id, in: context.transaction)
            else {
                throw HandlerFailure.permanent(code: "unknown-transfer", "no e-CNY transfer with this transferId was submitted")
            }
            if row.state != "new", let event = try row.currentEvent(cause: envelope), row.isFinal {
                return [event]
            }
            try await context.transaction.execute(
                """
                UPDATE ecny.transfers SET query_requested = true, next_attempt_at = now(), updated_at = now(),
                    next_action = CASE WHEN next_action = 'send' THEN 'send' ELSE 'query' END
                WHERE transfer_id = \(id)
                """)
            return []
        }
        let submit = try envelope.decodeData(as: ECNYTransferSubmit.self)
        guard let id = UUID(uuidString: submit.transferId), let fen = submit.amount.money.minorUnits else {
            throw HandlerFailure.permanent(code: "invalid-id", "transferId is not a UUID")
        }
        let request = String(decoding: JSONValue.object(envelope.data).canonicalBytes(), as: UTF8.self)
        let inserted = try await context.transaction.execute(
            """
            INSERT INTO ecny.transfers (transfer_id, endpoint, request, message_id, amount_fen, command_id, correlation_id,
                enterprise_id, next_action)
            VALUES (\(id), \(endpoint), \(request), \(ECNYProtocol.messageId(for: id)), \(fen), \(envelope.id.uuid),
                \(envelope.correlationID ?? envelope.id.uuid), \(submit.enterpriseId.value), 'send')
            ON CONFLICT (transfer_id) DO NOTHING
            """)
        if inserted == 1 {
            context.logger.info("e-CNY transfer recorded", metadata: ["transfer.id": "\(submit.transferId)"])
            return []
        }
        guard let row = try await ECNYRow.lock(id, in: context.transaction), row.request == request else {
            throw HandlerFailure.permanent(code: "transfer-id-reused", "the transferId was submitted before with a different payload")
        }
        if let event = try row.currentEvent(cause: envelope), row.isFinal { return [event] }
        if row.nextAction != "none" {
            try await context.transaction.execute(
                "UPDATE ecny.transfers SET next_attempt_at = now(), updated_at = now() WHERE transfer_id = \(id)")
        }
        return []
    }
}

/// The signed JSON request of R-ECNY-2 for a recorded submit: unique message id, payer wallet (or bank account)
/// and payee wallet with operator, amount in fen, purpose, timestamp, and the enterprise's USCC and authoriser.
enum ECNYRequest {
    static func transfer(_ submit: ECNYTransferSubmit, messageId: String, now: Date = Date()) -> [UInt8] {
        var payer: JSONObject = [:]
        if let wallet = submit.payerWallet { payer["wallet"] = .string(wallet) }
        if let account = submit.payerAccount {
            payer["account"] = .string(account.account.unmaskedValue)
            payer["agent"] = .string(account.agent.value)
        }
        var object: JSONObject = [
            "messageId": .string(messageId), "transferId": .string(submit.transferId), "payer": .object(payer),
            "payee": ["wallet": .string(submit.payeeWallet), "operator": .string(submit.payeeOperator)],
            "amountFen": .number(JSONNumber(Int(submit.amount.money.minorUnits ?? 0))), "currency": "CNY",
            "timestamp": .string(ECNYProtocol.timestamp(now)), "enterpriseId": .string(submit.enterpriseId.value),
        ]
        if let purpose = submit.purpose { object["purpose"] = .string(purpose) }
        if let authoriser = submit.authoriser { object["authoriser"] = .string(authoriser) }
        return JSONValue.object(object).canonicalBytes()
    }

    static func query(messageId: String, now: Date = Date()) -> [UInt8] {
        JSONValue.object(["messageId": .string(messageId), "timestamp": .string(ECNYProtocol.timestamp(now))]).canonicalBytes()
    }
}

/// Sends recorded e-CNY transfers to the operator (signed), queries them when no answer or callback came,
/// verifies every answer's signature, and records outcomes with their events in one short transaction. HTTP never
/// runs inside a database transaction.
public struct ECNYWorker: Service {
    let pool: PostgresPool
    let configuration: ECNYConfiguration
    let logger: Logger

    /// Creates the worker.
    /// - Parameters:
    ///   - pool: The database.
    ///   - configuration: The settings.
    ///   - logger: The logger.
    public init(pool: PostgresPool, configuration: ECNYConfiguration, logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until graceful shutdown.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var worked = 0
            do {
                worked = try await pass()
            } catch {
                logger.warning("e-CNY worker pass failed", metadata: ["error.type": "\(String(describing: type(of: error)))"])
            }
            if worked == 0 {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.pollInterval) }
            }
        }
    }

    func pass() async throws -> Int {
        let lease = milliseconds(configuration.timeout) + 30_000
        let rows = try await pool.query(
            """
            UPDATE ecny.transfers t SET lease_until = now() + (\(lease)::bigint * interval '1 millisecond'),
                attempts = t.attempts + 1, updated_at = now()
            FROM (SELECT transfer_id FROM ecny.transfers
                  WHERE endpoint = \(configuration.url) AND next_action <> 'none' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
                  ORDER BY next_attempt_at LIMIT \(configuration.concurrency) FOR UPDATE SKIP LOCKED) due
            WHERE t.transfer_id = due.transfer_id
            RETURNING t.*
            """
        ).rows.map(ECNYRow.init)
        await withTaskGroup(of: Void.self) { group in
            for row in rows {
                group.addTask {
                    do {
                        try await process(row)
                    } catch {
                        logger.warning("e-CNY exchange could not be recorded; the lease expires and it is retried", metadata: [
                            "transfer.id": "\(row.transferId.uuidString.lowercased())", "error.type": "\(String(describing: type(of: error)))",
                        ])
                    }
                }
            }
        }
        return rows.count
    }

    enum Outcome {
        case answer(OperatorMessage)
        case notFound
        case transient(String)
        case invalid(String)
    }

    func exchange(_ row: ECNYRow) async -> Outcome {
        let body: [UInt8]
        let path: String
        if row.nextAction == "send" {
            guard let submit = try? JSONDecoder().decode(ECNYTransferSubmit.self, from: Data(row.request.utf8)) else {
                return .invalid("the recorded request cannot be read")
            }
            body = ECNYRequest.transfer(submit, messageId: row.messageId)
            path = ECNYProtocol.transfersPath
        } else {
            body = ECNYRequest.query(messageId: row.messageId)
            path = ECNYProtocol.queriesPath
        }
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            Metrics.Timer(label: "ecny_round_trip_seconds", dimensions: [("action", row.nextAction)])
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        do {
            var request = HTTPClientRequest(url: configuration.url + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(
                name: ECNYProtocol.signatureHeader,
                value: try ECNYProtocol.sign(body, key: configuration.hubKey, signerID: configuration.signerID))
            request.body = .bytes(ByteBuffer(bytes: body))
            let (seconds, attoseconds) = configuration.timeout.components
            let response = try await HTTPClient.shared.execute(
                request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
            let bytes = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
            switch response.status.code {
            case 404: return .notFound
            case 500..<600: return .transient("the operator answered \(response.status.code)")
            case 200..<300: break
            default: return .invalid("the operator refused the request with HTTP \(response.status.code)")
            }
            guard ECNYProtocol.verify(
                bytes, header: response.headers.first(name: ECNYProtocol.signatureHeader), key: configuration.operatorKey,
                signerID: configuration.operatorSignerID)
            else { return .invalid("the operator's answer has no valid SM2 signature") }
            guard let answer = OperatorMessage.parse(bytes) else { return .invalid("the operator's answer is malformed") }
            guard answer.messageId == row.messageId, answer.transferId == row.transferId.uuidString.lowercased() else {
                return .invalid("the operator's answer is for another message")
            }
            return .answer(answer)
        } catch {
            return .transient("the exchange failed: \(String(describing: type(of: error)))")
        }
    }

    func process(_ claimed: ECNYRow) async throws {
        let outcome = await exchange(claimed)
        let id = claimed.transferId
        let backoff = min(milliseconds(configuration.retryBaseDelay) << min(max(claimed.attempts - 1, 0), 20),
                          milliseconds(configuration.retryMaxDelay))
        let wasSend = claimed.nextAction == "send" ? 1 : 0
        try await pool.withTransaction { transaction in
            guard let row = try await ECNYRow.lock(id, in: transaction) else { return }
            try await transaction.execute(
                "UPDATE ecny.transfers SET lease_until = NULL, sends = sends + \(wasSend) WHERE transfer_id = \(id)")
            switch outcome {
            case .answer(let answer):
                let events = try await ECNYStateMachine.apply(
                    answer, to: row, settlementQueryDelay: milliseconds(configuration.settlementQueryDelay), in: transaction)
                try await Outbox.enqueue(events, producer: ECNY.producer, in: transaction)
                Counter(label: "ecny_exchanges_total", dimensions: [("outcome", answer.status)]).increment()
            case .notFound:
                guard !row.isFinal else { return }
                try await transaction.execute(
                    """
                    UPDATE ecny.transfers SET next_action = 'send', next_attempt_at = now(),
                        last_error = 'the operator does not know the message: re-sending it' WHERE transfer_id = \(id)
                    """)
            case .transient(let reason):
                guard !row.isFinal else { return }
                Counter(label: "ecny_exchanges_total", dimensions: [("outcome", "transient")]).increment()
                try await transaction.execute(
                    """
                    UPDATE ecny.transfers SET next_action = 'query', last_error = \(reason),
                        next_attempt_at = now() + (\(backoff)::bigint * interval '1 millisecond') WHERE transfer_id = \(id)
                    """)
            case .invalid(let reason):
                guard !row.isFinal else { return }
                Counter(label: "ecny_responses_invalid_total").increment()
                logger.error("the operator's answer was not applied", metadata: ["transfer.id": "\(id.uuidString.lowercased())", "ecny.flag": "\(reason)"])
                try await transaction.execute(
                    """
                    UPDATE ecny.transfers SET next_action = 'query', flag = \(reason),
                        next_attempt_at = now() + (\(backoff)::bigint * interval '1 millisecond') WHERE transfer_id = \(id)
                    """)
            }
        }
    }

    func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// The settlement callback route: `POST /callbacks/ecny/v1/settlements`. Verifies the operator's SM2 signature
/// (401 otherwise) and freshness, records the notification once (a redelivery is answered 200 and changes
/// nothing), applies it to the transfer (stale or out-of-order notifications after a final outcome are ignored),
/// and emits the event through the outbox; it answers 2xx only after the commit. An unknown transfer is answered
/// 404 (the operator retries).
public struct ECNYCallbacks: Sendable {
    let pool: PostgresPool
    let configuration: ECNYConfiguration
    let logger: Logger

    /// Creates the route's handler.
    /// - Parameters:
    ///   - pool: The database.
    ///   - configuration: The settings (keys, signer IDs, clock skew).
    ///   - logger: The logger.
    public init(pool: PostgresPool, configuration: ECNYConfiguration, logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
    }

    /// Adds the route.
    /// - Parameter router: The process's router.
    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(ECNYProtocol.callbackPath)) { request, _ -> Response in
            var request = request
            let body = Array(try await request.collectBody(upTo: 64 << 10).readableBytesView)
            let signature = request.headers[HTTPField.Name(ECNYProtocol.signatureHeader)!]
            let (status, text) = try await self.receive(body: body, signature: signature)
            return Response(
                status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }

    /// Handles one callback; returns the HTTP status and a small JSON body.
    /// - Parameters:
    ///   - body: The exact bytes.
    ///   - signature: The signature header.
    /// - Returns: Status and body.
    /// - Throws: Database errors (the server answers 500 and the operator retries).
    public func receive(body: [UInt8], signature: String?) async throws -> (Int, String) {
        guard ECNYProtocol.verify(body, header: signature, key: configuration.operatorKey, signerID: configuration.operatorSignerID) else {
            Counter(label: "ecny_callbacks_total", dimensions: [("outcome", "bad-signature")]).increment()
            logger.warning("e-CNY callback refused: no valid SM2 signature")
            return (401, #"{"error":"invalid signature"}"#)
        }
        guard let message = OperatorMessage.parse(body), let notification = message.notificationId,
              let id = UUID(uuidString: message.transferId)
        else {
            Counter(label: "ecny_callbacks_total", dimensions: [("outcome", "malformed")]).increment()
            return (400, #"{"error":"malformed notification"}"#)
        }
        guard ECNYProtocol.isFresh(message.timestamp, skew: configuration.clockSkew) else {
            Counter(label: "ecny_callbacks_total", dimensions: [("outcome", "stale")]).increment()
            return (401, #"{"error":"timestamp outside the allowed clock skew"}"#)
        }
        let delay = Int(configuration.settlementQueryDelay.components.seconds) * 1000
        let outcome: String = try await pool.withTransaction { transaction in
            guard let row = try await ECNYRow.lock(id, in: transaction), row.messageId == message.messageId else {
                return "unknown"
            }
            let inserted = try await transaction.execute(
                """
                INSERT INTO ecny.callbacks (notification_id, transfer_id, status, applied)
                VALUES (\(notification), \(id), \(message.status), \(!row.isFinal))
                ON CONFLICT (notification_id) DO NOTHING
                """)
            guard inserted == 1 else { return "duplicate" }
            let events = try await ECNYStateMachine.apply(message, to: row, settlementQueryDelay: delay, in: transaction)
            try await Outbox.enqueue(events, producer: ECNY.producer, in: transaction)
            return events.isEmpty ? "ignored" : "applied"
        }
        Counter(label: "ecny_callbacks_total", dimensions: [("outcome", outcome)]).increment()
        if outcome == "unknown" { return (404, #"{"error":"unknown transfer"}"#) }
        return (200, "{\"result\":\"\(outcome)\"}")
    }
}
