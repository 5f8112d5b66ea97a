import Foundation
import HubAMQP
import HubCore
public import HubRuntime
import HubStore
public import Logging

/// `huitong dlq`: parked messages for operators — list, show, redrive and purge, each action recorded.
public enum HubDeadLetters {
    /// What the operator selected on the command line.
    public struct Criteria: Sendable {
        /// Only this consumer queue.
        public var queue: String?
        /// Only this message type.
        public var type: String?
        /// Only this park reason (e.g. `schemaViolation`).
        public var reason: String?
        /// Parked at or after (RFC 3339 with offset).
        public var since: String?
        /// Parked before (RFC 3339 with offset).
        public var until: String?
        /// Also messages already redriven.
        public var includeRedriven: Bool
        /// At most this many.
        public var limit: Int?

        /// Creates criteria; every filter is optional.
        public init(
            queue: String? = nil, type: String? = nil, reason: String? = nil, since: String? = nil,
            until: String? = nil, includeRedriven: Bool = false, limit: Int? = nil
        ) {
            self.queue = queue
            self.type = type
            self.reason = reason
            self.since = since
            self.until = until
            self.includeRedriven = includeRedriven
            self.limit = limit
        }

        /// The library filter, validating every value.
        /// - Throws: ``HubAppError`` naming the option that is malformed.
        func filter() throws -> DeadLetters.Filter {
            var filter = DeadLetters.Filter(queue: queue, type: type, includeRedriven: includeRedriven, limit: limit)
            if let reason {
                guard let parsed = ParkReason(name: reason) else {
                    throw HubAppError(
                        .invalidConfiguration,
                        "--reason '\(reason)' is not a park reason",
                        fix: "use one of: \(ParkReason.all.map(\.description).joined(separator: ", "))"
                    )
                }
                filter.reason = parsed
            }
            filter.since = try Self.date(since, option: "--since")
            filter.until = try Self.date(until, option: "--until")
            if let limit, limit < 1 {
                throw HubAppError(.invalidConfiguration, "--limit must be at least 1")
            }
            return filter
        }

        private static func date(_ text: String?, option: String) throws -> Date? {
            guard let text else { return nil }
            do {
                return try Timestamp(rfc3339: text).date
            } catch {
                throw HubAppError(
                    .invalidConfiguration,
                    "\(option) '\(text)' is not an RFC 3339 time with an offset",
                    fix: "write e.g. 2026-11-22T09:30:00+08:00"
                )
            }
        }
    }

    /// Runs `body` with the dead-letter store (a database pool and a confirming publisher), closing both after.
    /// - Parameters:
    ///   - configuration: Broker and database.
    ///   - logger: The logger.
    ///   - body: The work.
    /// - Returns: What `body` returns.
    /// - Throws: ``HubAppError`` for an unreachable broker or database; what `body` throws.
    static func withDeadLetters<Result: Sendable>(
        configuration: HubConfiguration,
        logger: Logger,
        _ body: (DeadLetters) async throws -> Result
    ) async throws -> Result {
        let postgres = try Connections.postgres(configuration)
        let amqp = try Connections.amqp(configuration, name: "huitong dlq")
        let pool = PostgresPool(configuration: postgres, logger: logger)
        let publisher = AMQPPublisher(configuration: amqp, logger: logger)
        do {
            let result = try await body(DeadLetters(pool: pool, publisher: publisher, logger: logger))
            await publisher.close()
            await pool.close()
            return result
        } catch {
            await publisher.close()
            await pool.close()
            switch error {
            case is HubAppError: throw error
            case is AMQPError: throw HubAppError.broker(error, configuration: amqp)
            default: throw HubAppError.database(error, configuration: postgres)
            }
        }
    }

    /// `dlq list`: lines to print (a table, or JSON without bodies).
    public static func list(
        _ criteria: Criteria, json: Bool, configuration: HubConfiguration, logger: Logger
    ) async throws -> [String] {
        let filter = try criteria.filter()
        let messages = try await withDeadLetters(configuration: configuration, logger: logger) {
            try await $0.list(filter: filter)
        }
        return try render(messages, json: json)
    }

    /// `dlq show`: the message as JSON (headers and base64 body), or nil if there is none with that id.
    public static func show(id: Int64, configuration: HubConfiguration, logger: Logger) async throws -> String? {
        let message = try await withDeadLetters(configuration: configuration, logger: logger) { try await $0.show(id: id) }
        return try message.map { try json($0) }
    }

    /// `dlq redrive`: republishes the given ids, or what the criteria select; returns (redriven, failed) counts.
    public static func redrive(
        ids: [Int64], criteria: Criteria, actor: String, configuration: HubConfiguration, logger: Logger
    ) async throws -> (redriven: Int, failed: Int) {
        let selection: DeadLetters.Selection = ids.isEmpty ? .filter(try criteria.filter()) : .ids(ids)
        let report = try await withDeadLetters(configuration: configuration, logger: logger) {
            try await $0.redrive(selection, actor: actor)
        }
        return (report.redriven.count, report.failed.count)
    }

    /// How many parked messages the criteria select (for purge's confirmation).
    public static func count(_ criteria: Criteria, configuration: HubConfiguration, logger: Logger) async throws -> Int {
        let filter = try criteria.filter()
        return try await withDeadLetters(configuration: configuration, logger: logger) {
            try await $0.list(filter: filter).count
        }
    }

    /// `dlq purge`: deletes what the criteria select, recorded under `actor`; returns how many.
    public static func purge(
        _ criteria: Criteria, actor: String, configuration: HubConfiguration, logger: Logger
    ) async throws -> Int {
        let filter = try criteria.filter()
        return try await withDeadLetters(configuration: configuration, logger: logger) {
            try await $0.purge(filter: filter, actor: actor)
        }
    }

    /// One line per parked message, for `dlq list` (no bodies).
    /// - Parameter messages: The messages.
    /// - Returns: The lines, with a header.
    public static func table(_ messages: [ParkedMessage]) -> [String] {
        let formatter = ISO8601DateFormatter()
        var lines = ["ID       PARKED AT             QUEUE                REASON            CODE              ATTEMPTS  TYPE"]
        for message in messages {
            let columns = [
                String(message.id).padding(toLength: 8, withPad: " ", startingAt: 0),
                formatter.string(from: message.parkedAt).padding(toLength: 21, withPad: " ", startingAt: 0),
                message.queue.padding(toLength: 20, withPad: " ", startingAt: 0),
                message.reason.description.padding(toLength: 17, withPad: " ", startingAt: 0),
                message.errorCode.padding(toLength: 17, withPad: " ", startingAt: 0),
                String(message.attempts).padding(toLength: 9, withPad: " ", startingAt: 0),
                message.messageType ?? "-",
            ]
            lines.append(columns.joined(separator: " "))
        }
        lines.append("\(messages.count) parked message(s)")
        return lines
    }

    /// `dlq list` output: a table, or JSON without bodies.
    /// - Parameters:
    ///   - messages: The messages.
    ///   - json: JSON instead of a table.
    /// - Returns: Lines to print.
    public static func render(_ messages: [ParkedMessage], json: Bool) throws -> [String] {
        json ? [try Self.json(messages.map(ParkedSummary.init))] : table(messages)
    }

    /// JSON for `--json` (bodies base64-encoded).
    /// - Parameter value: What to encode.
    /// - Returns: Pretty, sorted JSON text.
    public static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// `dlq list --json`: a parked message without its body.
struct ParkedSummary: Encodable {
    var id: Int64
    var queue: String
    var messageID: String?
    var messageType: String?
    var reason: String
    var errorCode: String
    var attempts: Int
    var originalExchange: String
    var originalRoutingKey: String
    var firstFailedAt: Date
    var lastFailedAt: Date
    var parkedAt: Date
    var redrivenAt: Date?
    var redrivenBy: String?

    init(_ message: ParkedMessage) {
        id = message.id
        queue = message.queue
        messageID = message.messageID
        messageType = message.messageType
        reason = message.reason.description
        errorCode = message.errorCode
        attempts = message.attempts
        originalExchange = message.originalExchange
        originalRoutingKey = message.originalRoutingKey
        firstFailedAt = message.firstFailedAt
        lastFailedAt = message.lastFailedAt
        parkedAt = message.parkedAt
        redrivenAt = message.redrivenAt
        redrivenBy = message.redrivenBy
    }
}
