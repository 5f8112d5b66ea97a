import Foundation
import HubAMQP
import HubCore
import HubCrypto
import HubStore
import Logging
import ServiceLifecycle
import Testing

@testable import AuditSink

/// The real servers of deploy/local (HUITONG_AMQP_URL, HUITONG_DATABASE_URL), unique names, and a sink to run.
enum AuditTestSupport {
    static var databaseURL: String {
        ProcessInfo.processInfo.environment["HUITONG_DATABASE_URL"] ?? PostgresConfiguration.defaultURL
    }
    static var amqpURL: String {
        ProcessInfo.processInfo.environment["HUITONG_AMQP_URL"] ?? "amqp://huitong:huitong@127.0.0.1:5673/huitong"
    }

    static let logger: Logger = {
        var logger = Logger(label: "huitong.audit.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Test queues bind only `test.audit.#`: a short-lived queue bound `#` would take every other suite's traffic,
    /// and deleting it while they publish makes the broker nack their messages.
    static let testPattern = "test.audit.#"

    static func unique(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// A migrated pool; closed after the body.
    static func withPool<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
        var configuration = try PostgresConfiguration(url: databaseURL)
        configuration.poolSize = 4
        configuration.applicationName = "huitong-audit-tests"
        let pool = PostgresPool(configuration: configuration, logger: logger)
        do {
            _ = try await Migrator(migrations: AuditMigrations.all, logger: logger).migrate(on: pool)
            let result = try await body(pool)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }

    static func keyring(_ version: UInt32 = 1, previous: [UInt32] = []) throws -> SM4.Keyring {
        func key(_ v: UInt32) throws -> SM4.SealingKey {
            try SM4.SealingKey(masterKey: SymmetricKey(data: [UInt8](repeating: UInt8(v &+ 7), count: 32)), version: v)
        }
        return try SM4.Keyring(current: try key(version), previous: try previous.map(key))
    }

    static func amqp(_ name: String) throws -> AMQPConfiguration {
        try AMQPConfiguration(url: amqpURL, connectionName: name)
    }

    /// An envelope's bytes with a given correlation id.
    static func envelope(type: String, correlation: UUID, data: JSONObject = ["n": 1], enterprise: String? = "91320500MA1Q7H2K3A")
        throws -> Envelope
    {
        try Envelope(
            source: "/tests/audit", type: try MessageType(type), dataSchema: "https://huitong.example/schemas/test.json",
            data: data, correlationID: correlation, enterpriseID: try enterprise.map { try USCC($0) })
    }

    /// Appends `count` simple records to `chain` directly (no broker).
    @discardableResult
    static func appendRecords(_ store: AuditStore, chain: String, count: Int, batch: Int = 5) async throws -> [AuditRecord] {
        let intake = AuditIntake(keyring: try keyring())
        var all: [AuditRecord] = []
        var n = 0
        while n < count {
            let prepared = try (n..<min(n + batch, count)).map { i in
                try intake.prepare(
                    IncomingMessage(
                        exchange: "hub.events", routingKey: "test.audit.record",
                        properties: .init(messageID: "\(chain)-\(i)"), body: Array("{\"i\":\(i)}".utf8)))
            }
            all += try await store.append(prepared, chain: chain)
            n += prepared.count
        }
        return all
    }

    /// Runs a sink on its own queue until the body returns, then shuts it down gracefully and deletes the queue.
    static func withSink<T: Sendable>(
        queue: String, chain: String, pool: PostgresPool, batchSize: Int = 64,
        keepQueue: Bool = false, crashAfter: Int? = nil,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        var configuration = AuditSinkService.Configuration(
            consumer: AuditSinkService.consumer(queue: queue, pattern: testPattern), chain: chain, batchSize: batchSize,
            maximumBatchWait: .milliseconds(20), checkpointInterval: nil, partitionsAhead: 1)
        configuration.crashAfterCommittedBatches = crashAfter
        configuration.drainTimeout = .milliseconds(200)
        let sink = AuditSinkService(
            configuration: configuration, store: AuditStore(pool: pool),
            intake: AuditIntake(keyring: try keyring()), amqp: try amqp("audit-test-\(queue)"), signer: nil,
            logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [sink], logger: logger))
        // Declare the queue before publishing, so nothing published by the body is missed.
        let connection = try await AMQPConnection.connect(configuration: try amqp("audit-test-admin"), logger: logger)
        try await connection.declare(Topology.hub(consumers: [configuration.consumer]))
        await connection.close()
        let running = Task { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            if !keepQueue { await deleteQueues(configuration.consumer) }
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            await deleteQueues(configuration.consumer)
            throw error
        }
    }

    static func deleteQueues(_ consumer: Topology.Consumer) async {
        guard let connection = try? await AMQPConnection.connect(configuration: try amqp("audit-test-cleanup"), logger: logger)
        else { return }
        var names = [consumer.queue, consumer.parkingQueueName]
        names += consumer.retryDelaysMilliseconds.indices.map { consumer.retryQueueName(tier: $0) }
        for name in names { _ = try? await connection.deleteQueue(name) }
        await connection.close()
    }

    /// Publishes with confirms.
    static func publish(_ messages: [AMQPMessage]) async throws {
        try await AMQPPublisher.withPublisher(configuration: try amqp("audit-test-publisher"), logger: logger) {
            publisher in
            // A nack (e.g. a queue deleted while the message was routed to it) means: republish.
            var pending = messages
            for attempt in 1...5 where !pending.isEmpty {
                let results = try await publisher.publish(batch: pending)
                let failed = zip(pending, results).filter { if case .failure = $0.1 { true } else { false } }
                if attempt == 5, let first = failed.first { try first.1.get() }
                pending = failed.map(\.0)
            }
        }
    }

    /// Waits until `condition` holds (polling), failing after `timeout`.
    static func eventually(
        timeout: Duration = .seconds(60), _ what: String, _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
            } catch let error as PostgresError where error.isDeadlock {
                // A probe over every partition of audit.records can deadlock with another test's partition drop
                // (retention tests share the table): PostgreSQL aborts the probe, which is then simply asked again.
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    /// Records of a chain whose message id is in `ids`, in chain order.
    static func records(_ pool: PostgresPool, chain: String, messageIDs ids: [String]) async throws -> [AuditStore.StoredRecord] {
        let list = ids.joined(separator: ",")
        return try await pool.query(
            """
            SELECT chain, seq, (extract(epoch FROM received_at) * 1000000)::bigint AS micros, kind, exchange,
                routing_key, properties, body, body_sm3, body_sealed, malformed, key_version, redelivered, message_id,
                message_type, correlation_id, enterprise_id, repeat_of, prev_hash, hash
            FROM audit.records WHERE chain = \(chain) AND message_id = ANY(string_to_array(\(list), ','))
            ORDER BY seq
            """
        ).rows.map(AuditStore.decode)
    }
}
