public import Foundation
public import HubAMQP
import HubCore
public import HubStore
public import Logging

/// A message recorded in `hub.parked`.
///
/// Encodes to JSON for `huitong dlq --json` (the body as base64 in `body`). ``description`` (``summary``) is
/// log-safe: it never includes the body or headers.
public struct ParkedMessage: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The record's id (what `show` and `redrive --id` take).
    public var id: Int64
    /// The consumer queue it was parked from.
    public var queue: String
    /// Its message id, when it had one.
    public var messageID: String?
    /// Its type, when known.
    public var messageType: String?
    /// Its correlation id, when known.
    public var correlationID: String?
    /// Why it was parked.
    public var reason: ParkReason
    /// The last failure's code.
    public var errorCode: String
    /// Attempts made.
    public var attempts: Int
    /// The exchange it was first published to (redrive publishes there).
    public var originalExchange: String
    /// The routing key it was first published with.
    public var originalRoutingKey: String
    /// When the first attempt failed.
    public var firstFailedAt: Date
    /// When the last attempt failed.
    public var lastFailedAt: Date
    /// When it was recorded.
    public var parkedAt: Date
    /// When an operator redrove it, if one did.
    public var redrivenAt: Date?
    /// Who redrove it.
    public var redrivenBy: String?
    /// The body, unchanged (may hold personal data: never log it).
    public var body: [UInt8]
    /// The AMQP headers as JSON text.
    public var headers: String

    /// One log-safe line: id, queue, message id, type, reason, code, attempts, times. No body.
    public var summary: String {
        var line = "#\(id) \(queue) \(messageID ?? "-") \(messageType ?? "-") \(reason) \(errorCode) attempts=\(attempts)"
        line += " parked=\(Timestamp(parkedAt).text)"
        if let redrivenAt { line += " redriven=\(Timestamp(redrivenAt).text) by=\(redrivenBy ?? "-")" }
        return line
    }

    /// The same as ``summary``.
    public var description: String { summary }

    private enum CodingKeys: String, CodingKey {
        case id, queue, messageID, messageType, correlationID, reason, errorCode, attempts, originalExchange
        case originalRoutingKey, firstFailedAt, lastFailedAt, parkedAt, redrivenAt, redrivenBy, body, headers
    }

    /// Decodes a parked message (body as base64).
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int64.self, forKey: .id)
        queue = try container.decode(String.self, forKey: .queue)
        messageID = try container.decodeIfPresent(String.self, forKey: .messageID)
        messageType = try container.decodeIfPresent(String.self, forKey: .messageType)
        correlationID = try container.decodeIfPresent(String.self, forKey: .correlationID)
        reason = try container.decode(ParkReason.self, forKey: .reason)
        errorCode = try container.decode(String.self, forKey: .errorCode)
        attempts = try container.decode(Int.self, forKey: .attempts)
        originalExchange = try container.decode(String.self, forKey: .originalExchange)
        originalRoutingKey = try container.decode(String.self, forKey: .originalRoutingKey)
        firstFailedAt = try container.decode(Date.self, forKey: .firstFailedAt)
        lastFailedAt = try container.decode(Date.self, forKey: .lastFailedAt)
        parkedAt = try container.decode(Date.self, forKey: .parkedAt)
        redrivenAt = try container.decodeIfPresent(Date.self, forKey: .redrivenAt)
        redrivenBy = try container.decodeIfPresent(String.self, forKey: .redrivenBy)
        let base64 = try container.decode(String.self, forKey: .body)
        guard let data = Data(base64Encoded: base64) else {
            throw DecodingError.dataCorruptedError(forKey: .body, in: container, debugDescription: "body is not base64")
        }
        body = Array(data)
        headers = try container.decode(String.self, forKey: .headers)
    }

    /// Encodes the parked message (body as base64).
    /// - Parameter encoder: The encoder.
    /// - Throws: What the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(queue, forKey: .queue)
        try container.encodeIfPresent(messageID, forKey: .messageID)
        try container.encodeIfPresent(messageType, forKey: .messageType)
        try container.encodeIfPresent(correlationID, forKey: .correlationID)
        try container.encode(reason, forKey: .reason)
        try container.encode(errorCode, forKey: .errorCode)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(originalExchange, forKey: .originalExchange)
        try container.encode(originalRoutingKey, forKey: .originalRoutingKey)
        try container.encode(firstFailedAt, forKey: .firstFailedAt)
        try container.encode(lastFailedAt, forKey: .lastFailedAt)
        try container.encode(parkedAt, forKey: .parkedAt)
        try container.encodeIfPresent(redrivenAt, forKey: .redrivenAt)
        try container.encodeIfPresent(redrivenBy, forKey: .redrivenBy)
        try container.encode(Data(body).base64EncodedString(), forKey: .body)
        try container.encode(headers, forKey: .headers)
    }

    init(row: PostgresRow) throws {
        id = try row.decode(Int64.self, at: 0)
        queue = try row.decode(String.self, at: 1)
        messageID = try row.decode(String?.self, at: 2)
        messageType = try row.decode(String?.self, at: 3)
        correlationID = try row.decode(String?.self, at: 4)
        reason = ParkReason(name: try row.decode(String.self, at: 5)) ?? .unknown
        errorCode = try row.decode(String.self, at: 6)
        attempts = Int(try row.decode(Int32.self, at: 7))
        originalExchange = try row.decode(String.self, at: 8)
        originalRoutingKey = try row.decode(String.self, at: 9)
        firstFailedAt = try row.decode(Date.self, at: 10)
        lastFailedAt = try row.decode(Date.self, at: 11)
        parkedAt = try row.decode(Date.self, at: 12)
        redrivenAt = try row.decode(Date?.self, at: 13)
        redrivenBy = try row.decode(String?.self, at: 14)
        body = try row.decode([UInt8].self, at: 15)
        headers = try row.decode(PostgresJSON.self, at: 16).text
    }
}

/// The operator's view of parked messages: list, show, redrive, purge. Redrives and purges are recorded in
/// `hub.dlq_actions`.
public struct DeadLetters: Sendable {
    /// Which parked messages an operation applies to. Every field is optional; set fields combine with AND.
    ///
    /// | key | type | default |
    /// |---|---|---|
    /// | `queue` | `String?` | any queue |
    /// | `type` | `String?` | any type (full type, e.g. `payments.transfer.request.v1`) |
    /// | `reason` | `ParkReason?` | any reason |
    /// | `since` / `until` | `Date?` | parked at any time (`since` inclusive, `until` exclusive) |
    /// | `includeRedriven` | `Bool` | false: messages already redriven are left out |
    /// | `limit` | `Int?` | nil: no limit (oldest first) |
    public struct Filter: Sendable, Hashable {
        /// The consumer queue.
        public var queue: String?
        /// The message type.
        public var type: String?
        /// The park reason.
        public var reason: ParkReason?
        /// Parked at or after.
        public var since: Date?
        /// Parked before.
        public var until: Date?
        /// Include messages already redriven.
        public var includeRedriven: Bool
        /// At most this many (oldest first).
        public var limit: Int?

        /// Creates a filter.
        /// - Parameters:
        ///   - queue: The consumer queue (default any).
        ///   - type: The full message type (default any).
        ///   - reason: The park reason (default any).
        ///   - since: Parked at or after (default any time).
        ///   - until: Parked before (default any time).
        ///   - includeRedriven: Include redriven messages (default false).
        ///   - limit: At most this many (default no limit).
        public init(
            queue: String? = nil, type: String? = nil, reason: ParkReason? = nil, since: Date? = nil,
            until: Date? = nil, includeRedriven: Bool = false, limit: Int? = nil
        ) {
            self.queue = queue
            self.type = type
            self.reason = reason
            self.since = since
            self.until = until
            self.includeRedriven = includeRedriven
            self.limit = limit
        }
    }

    /// The messages a redrive applies to: by filter or by record ids.
    public struct Selection: Sendable, Hashable {
        fileprivate enum Base: Sendable, Hashable {
            case filter(Filter)
            case ids([Int64])
        }
        fileprivate let base: Base

        /// Every message the filter matches.
        /// - Parameter filter: The filter.
        /// - Returns: The selection.
        public static func filter(_ filter: Filter) -> Selection { Selection(base: .filter(filter)) }

        /// The records with these ids (already redriven ones too).
        /// - Parameter ids: Record ids (``ParkedMessage/id``).
        /// - Returns: The selection.
        public static func ids(_ ids: [Int64]) -> Selection { Selection(base: .ids(ids)) }
    }

    /// What a redrive did.
    public struct RedriveReport: Sendable, Hashable, Codable {
        /// Records published back (with confirm) and marked redriven.
        public var redriven: [Int64]
        /// Records whose publish failed; they stay parked and can be redriven again.
        public var failed: [Int64]
    }

    private let pool: PostgresPool
    private let publisher: AMQPPublisher
    private let logger: Logger

    /// Creates the dead-letter operations.
    /// - Parameters:
    ///   - pool: The database pool.
    ///   - publisher: The publisher for redrives (confirms on); run it alongside.
    ///   - logger: The logger (message ids and counts only, never bodies).
    public init(pool: PostgresPool, publisher: AMQPPublisher, logger: Logger) {
        self.pool = pool
        self.publisher = publisher
        self.logger = logger
    }

    /// The parked messages the filter matches, oldest first.
    /// - Parameter filter: The filter (default: every message not redriven).
    /// - Returns: The messages.
    /// - Throws: `PostgresError`.
    public func list(filter: Filter = Filter()) async throws -> [ParkedMessage] {
        let limit = filter.limit ?? Int(Int32.max)
        let since = filter.since
        let until = filter.until
        let rows = try await pool.query(
            """
            SELECT id, queue, message_id, message_type, correlation_id, reason, error_code, attempts, original_exchange, \
            original_routing_key, first_failed_at, last_failed_at, parked_at, redriven_at, redriven_by, body, headers FROM hub.parked \
            WHERE (\(filter.queue)::text IS NULL OR queue = \(filter.queue)) \
            AND (\(filter.type)::text IS NULL OR message_type = \(filter.type)) \
            AND (\(filter.reason?.description)::text IS NULL OR reason = \(filter.reason?.description)) \
            AND (\(since)::timestamptz IS NULL OR parked_at >= \(since)) \
            AND (\(until)::timestamptz IS NULL OR parked_at < \(until)) \
            AND (\(filter.includeRedriven) OR redriven_at IS NULL) \
            ORDER BY id LIMIT \(limit)
            """
        ).rows
        return try rows.map(ParkedMessage.init(row:))
    }

    /// One parked message.
    /// - Parameter id: The record's id.
    /// - Returns: The message, or nil when there is no such record.
    /// - Throws: `PostgresError`.
    public func show(id: Int64) async throws -> ParkedMessage? {
        try await pool.query(
            """
            SELECT id, queue, message_id, message_type, correlation_id, reason, error_code, attempts, original_exchange, \
            original_routing_key, first_failed_at, last_failed_at, parked_at, redriven_at, redriven_by, body, headers FROM hub.parked WHERE id = \(id)
            """
        ).rows.first.map(ParkedMessage.init(row:))
    }

    /// Publishes parked messages back to their original exchange and routing key (with confirms, fresh retry
    /// budget: the runtime's failure headers and the broker's `x-death` are removed), marks them redriven and
    /// records the action.
    /// - Parameters:
    ///   - selection: Which messages.
    ///   - actor: Who does it (recorded; e.g. the operator's user name).
    /// - Returns: Which records were redriven and which failed to publish.
    /// - Throws: `PostgresError`; publish failures are reported in the result, not thrown.
    public func redrive(_ selection: Selection, actor: String) async throws -> RedriveReport {
        let messages: [ParkedMessage]
        switch selection.base {
        case .filter(let filter):
            messages = try await list(filter: filter)
        case .ids(let ids):
            var found: [ParkedMessage] = []
            for id in ids { if let message = try await show(id: id) { found.append(message) } }
            messages = found
        }
        guard !messages.isEmpty else { return RedriveReport(redriven: [], failed: []) }
        let amqpMessages = messages.map { message -> AMQPMessage in
            let headers = HeaderJSON.decode(message.headers).filter {
                !RuntimeHeader.all.contains($0.key) && !RuntimeHeader.broker.contains($0.key)
            }
            return AMQPMessage(
                exchange: message.originalExchange,
                routingKey: message.originalRoutingKey,
                body: message.body,
                properties: AMQPMessage.Properties(
                    messageID: message.messageID,
                    type: message.messageType,
                    correlationID: message.correlationID,
                    contentType: message.messageType == nil ? nil : Envelope.structuredContentType,
                    headers: headers
                ),
                mandatory: true
            )
        }
        let results: [Result<Void, AMQPError>]
        do {
            results = try await publisher.publish(batch: amqpMessages)
        } catch {
            let failure = (error as? AMQPError) ?? AMQPError(.connectionLost, "publishing failed")
            results = Array(repeating: .failure(failure), count: amqpMessages.count)
        }
        var report = RedriveReport(redriven: [], failed: [])
        for (message, result) in zip(messages, results) {
            if case .success = result { report.redriven.append(message.id) } else { report.failed.append(message.id) }
        }
        let redriven = messages.filter { report.redriven.contains($0.id) }
        if !redriven.isEmpty {
            let idList = redriven.map { String($0.id) }.joined(separator: ",")
            let messageIDs = redriven.map { $0.messageID ?? "#\($0.id)" }
            let queues = Set(redriven.map(\.queue))
            let queue = queues.count == 1 ? queues.first : nil
            try await pool.withTransaction { transaction in
                try await transaction.execute(
                    """
                    UPDATE hub.parked SET redriven_at = now(), redriven_by = \(actor) \
                    WHERE id = ANY(string_to_array(\(idList), ',')::bigint[])
                    """)
                try await Self.recordAction("redrive", actor: actor, queue: queue, messageIDs: messageIDs, in: transaction)
            }
        }
        logger.info(
            "parked messages redriven",
            metadata: ["hub.dlq.redriven": "\(report.redriven.count)", "hub.dlq.failed": "\(report.failed.count)"])
        return report
    }

    /// Deletes the parked messages the filter matches and records the action.
    /// - Parameters:
    ///   - filter: Which messages (with `includeRedriven` false, redriven ones are kept).
    ///   - actor: Who does it.
    /// - Returns: How many were deleted.
    /// - Throws: `PostgresError`.
    @discardableResult
    public func purge(filter: Filter, actor: String) async throws -> Int {
        let limit = filter.limit ?? Int(Int32.max)
        let since = filter.since
        let until = filter.until
        let deleted: Int = try await pool.withTransaction { transaction in
            let rows = try await transaction.query(
                """
                DELETE FROM hub.parked WHERE id IN (SELECT id FROM hub.parked \
                WHERE (\(filter.queue)::text IS NULL OR queue = \(filter.queue)) \
                AND (\(filter.type)::text IS NULL OR message_type = \(filter.type)) \
                AND (\(filter.reason?.description)::text IS NULL OR reason = \(filter.reason?.description)) \
                AND (\(since)::timestamptz IS NULL OR parked_at >= \(since)) \
                AND (\(until)::timestamptz IS NULL OR parked_at < \(until)) \
                AND (\(filter.includeRedriven) OR redriven_at IS NULL) \
                ORDER BY id LIMIT \(limit)) RETURNING id, message_id
                """
            ).rows
            let messageIDs = try rows.map { row in
                try row.decode(String?.self, at: 1) ?? "#\(try row.decode(Int64.self, at: 0))"
            }
            if !rows.isEmpty {
                try await Self.recordAction("purge", actor: actor, queue: filter.queue, messageIDs: messageIDs, in: transaction)
            }
            return rows.count
        }
        logger.info("parked messages purged", metadata: ["hub.dlq.purged": "\(deleted)"])
        return deleted
    }

    private static func recordAction(
        _ action: String, actor: String, queue: String?, messageIDs: [String], in transaction: PostgresTransaction
    ) async throws {
        let list = String(decoding: JSONValue.array(messageIDs.map { .string($0) }).canonicalBytes(), as: UTF8.self)
        try await transaction.execute(
            """
            INSERT INTO hub.dlq_actions (action, actor, queue, message_ids, count) \
            VALUES (\(action), \(actor), \(queue), ARRAY(SELECT jsonb_array_elements_text(\(PostgresJSON(list)))), \(Int32(clamping: messageIDs.count)))
            """)
    }
}
