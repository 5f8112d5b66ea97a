import Foundation
import HubCore
import HubStore

/// One outbox row to insert.
struct OutboxRow: Sendable {
    /// Outbox partitions: a key's rows are all in one lane, and one relay at a time publishes a lane.
    static let laneCount = 64

    var producer: String
    var aggregateKey: String
    var lane: Int
    var exchange: String
    var routingKey: String
    var messageID: UUID
    var messageType: String
    var correlationID: UUID?
    var body: [UInt8]

    init(producer: String, message: OutboundMessage) {
        self.producer = producer
        self.aggregateKey = message.aggregateKey
        self.lane = StableHash.lane(for: message.aggregateKey, lanes: Self.laneCount)
        self.exchange = message.exchange
        self.routingKey = message.envelope.routingKey
        self.messageID = message.envelope.id.uuid
        self.messageType = message.envelope.type.value
        self.correlationID = message.envelope.correlationID
        self.body = message.envelope.encode()
    }

    /// Multi-row INSERTs, in order (ids grow in the order given), 500 rows per statement; the last one also sends
    /// `NOTIFY hub_outbox` (delivered at commit, so the relay never wakes for rows it cannot see yet). One round trip
    /// for the usual batch instead of two.
    /// - Parameter lastAtCommit: Run the last statement with COMMIT, in the same round trip (the caller runs no
    ///   statement after this one that must see the rows; a failure then surfaces from the commit).
    static func insertAndNotify(_ rows: [OutboxRow], in transaction: PostgresTransaction, lastAtCommit: Bool = false)
        async throws
    {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + 500, rows.count)]
            let last = chunk.endIndex == rows.count
            var sql = PostgresQuery.StringInterpolation(literalCapacity: 256, interpolationCount: chunk.count * 9)
            if last { sql.appendLiteral("WITH inserted AS (") }
            sql.appendLiteral(
                """
                INSERT INTO hub.outbox (producer, aggregate_key, lane, exchange, routing_key, message_id, message_type, \
                correlation_id, body) VALUES 
                """)
            for (index, row) in chunk.enumerated() {
                sql.appendLiteral(index == 0 ? "(" : ", (")
                sql.appendInterpolation(row.producer)
                sql.appendLiteral(", ")
                sql.appendInterpolation(row.aggregateKey)
                sql.appendLiteral(", ")
                sql.appendInterpolation(Int32(row.lane))
                sql.appendLiteral(", ")
                sql.appendInterpolation(row.exchange)
                sql.appendLiteral(", ")
                sql.appendInterpolation(row.routingKey)
                sql.appendLiteral(", ")
                sql.appendInterpolation(row.messageID)
                sql.appendLiteral(", ")
                sql.appendInterpolation(row.messageType)
                sql.appendLiteral(", ")
                sql.appendInterpolation(row.correlationID)
                sql.appendLiteral(", ")
                sql.appendInterpolation(row.body)
                sql.appendLiteral(")")
            }
            // A data-modifying CTE runs to completion whether or not the outer query reads it.
            if last { sql.appendLiteral(" RETURNING 1) SELECT pg_notify('hub_outbox', '')") }
            if last && lastAtCommit {
                try await transaction.executeAtCommit(PostgresQuery(stringInterpolation: sql))
            } else {
                try await transaction.execute(PostgresQuery(stringInterpolation: sql))
            }
            start += chunk.count
        }
    }
}
