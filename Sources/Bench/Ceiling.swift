import Foundation
import HubAMQP
import HubCore
import HubStore
import Logging

/// The raw rates the hub is compared with, measured on the same servers in the same run.
enum Ceiling {
    /// Broker relay: `count` messages of `bodyBytes` pre-loaded into a quorum queue, then consumed (prefetch 256,
    /// like the runtime), republished with confirms to a second quorum queue in batches of up to `batchSize`, and
    /// acked after the confirms — the broker work of one hub hop without any database work.
    /// - Returns: Messages per second, first delivery to last ack.
    static func relay(
        amqp: AMQPConfiguration, runID: String, count: Int, bodyBytes: Int, batchSize: Int, logger: Logger
    ) async throws -> Double {
        let inbound = "bench.\(runID).ceiling.in"
        let outbound = "bench.\(runID).ceiling.out"
        let control = try await AMQPConnection.connect(configuration: amqp, logger: logger)
        try await control.declare(Topology(queues: [Topology.Queue(name: inbound), Topology.Queue(name: outbound)]))
        do {
            let body = [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes)
            try await AMQPPublisher.withPublisher(configuration: amqp, logger: logger) { publisher in
                var sent = 0
                while sent < count {
                    let chunk = min(2_000, count - sent)
                    let messages = (0..<chunk).map { _ in
                        AMQPMessage(exchange: "", routingKey: inbound, body: body, properties: .init(messageID: "\(MessageID.generate())"))
                    }
                    let outcomes = try await publisher.publish(batch: messages, window: 256)
                    guard outcomes.allSatisfy({ if case .success = $0 { true } else { false } }) else {
                        throw BenchError("the broker did not confirm every ceiling message")
                    }
                    sent += chunk
                }
            }
            let elapsed = try await AMQPPublisher.withPublisher(configuration: amqp, logger: logger) { publisher in
                let deliveries = AMQPConsumer(configuration: amqp, drainTimeout: .seconds(2), logger: logger)
                    .consume(queue: inbound, prefetch: 256)
                var received = 0
                var pending: [Delivery] = []
                var first: ContinuousClock.Instant?
                for try await delivery in deliveries {
                    if first == nil { first = .now }
                    received += 1
                    pending.append(delivery)
                    guard pending.count >= batchSize || received == count else { continue }
                    let messages = pending.map {
                        AMQPMessage(exchange: "", routingKey: outbound, body: $0.body, properties: $0.properties)
                    }
                    let outcomes = try await publisher.publish(batch: messages, window: 256)
                    guard outcomes.allSatisfy({ if case .success = $0 { true } else { false } }) else {
                        throw BenchError("the broker did not confirm every relayed ceiling message")
                    }
                    try await pending[pending.count - 1].ack(multiple: true)
                    pending.removeAll(keepingCapacity: true)
                    if received == count { break }
                }
                let end = ContinuousClock.now
                await deliveries.stop()
                return end - (first ?? end)
            }
            _ = try? await control.deleteQueue(inbound)
            _ = try? await control.deleteQueue(outbound)
            await control.close()
            return Double(count) / max(elapsed.seconds, 1e-9)
        } catch {
            _ = try? await control.deleteQueue(inbound)
            _ = try? await control.deleteQueue(outbound)
            await control.close()
            throw error
        }
    }

    /// Database commits: `count` messages in transactions of `batchSize` on `lanes` concurrent connections, each
    /// transaction one inbox-like INSERT … unnest … ON CONFLICT DO NOTHING RETURNING for the batch, one multi-row
    /// outbox-like INSERT with `bodyBytes` bodies and a `pg_notify`, exactly the statements of a runtime batch
    /// without a handler (tables `bench.ceiling_inbox` / `bench.ceiling_outbox`; the run's rows are deleted after).
    /// - Returns: Messages per second.
    static func database(
        pool: PostgresPool, runID: String, count: Int, bodyBytes: Int, batchSize: Int, lanes: Int
    ) async throws -> Double {
        let consumer = "bench.\(runID)"
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes)
        let batches = (count + batchSize - 1) / batchSize
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var batch = lane
                    while batch < batches {
                        let size = min(batchSize, count - batch * batchSize)
                        let ids = (0..<size).map { _ in MessageID.generate().uuid }
                        try await pool.withTransaction { transaction in
                            let list = ids.map { "\($0)".lowercased() }.joined(separator: ",")
                            _ = try await transaction.query(
                                """
                                INSERT INTO bench.ceiling_inbox (consumer, message_id) \
                                SELECT \(consumer), unnest(string_to_array(\(list), ',')::uuid[]) \
                                ON CONFLICT DO NOTHING RETURNING message_id
                                """
                            )
                            var sql = PostgresQuery.StringInterpolation(literalCapacity: 256, interpolationCount: size * 9)
                            sql.appendLiteral(
                                """
                                WITH inserted AS (INSERT INTO bench.ceiling_outbox (producer, aggregate_key, lane, exchange, routing_key, \
                                message_id, message_type, correlation_id, body) VALUES 
                                """)
                            for (index, id) in ids.enumerated() {
                                sql.appendLiteral(index == 0 ? "(" : ", (")
                                sql.appendInterpolation(consumer)
                                sql.appendLiteral(", ")
                                sql.appendInterpolation("key-\(index % 16)")
                                sql.appendLiteral(", ")
                                sql.appendInterpolation(Int32(index % 64))
                                sql.appendLiteral(", ")
                                sql.appendInterpolation("hub.events")
                                sql.appendLiteral(", ")
                                sql.appendInterpolation("bench.ceiling.event")
                                sql.appendLiteral(", ")
                                sql.appendInterpolation(id)
                                sql.appendLiteral(", ")
                                sql.appendInterpolation("bench.ceiling.event.v1")
                                sql.appendLiteral(", ")
                                sql.appendInterpolation(id)
                                sql.appendLiteral(", ")
                                sql.appendInterpolation(body)
                                sql.appendLiteral(")")
                            }
                            // As the runtime: the NOTIFY rides on the outbox INSERT.
                            sql.appendLiteral(" RETURNING 1) SELECT pg_notify('bench_ceiling', '')")
                            try await transaction.execute(PostgresQuery(stringInterpolation: sql))
                        }
                        batch += lanes
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        try await pool.withTransaction { transaction in
            try await transaction.execute("DELETE FROM bench.ceiling_inbox WHERE consumer = \(consumer)")
            try await transaction.execute("DELETE FROM bench.ceiling_outbox WHERE producer = \(consumer)")
        }
        return Double(count) / max(elapsed.seconds, 1e-9)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

