import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import HubTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Helpers of the HubRuntime integration tests.
///
/// The runtime's tables live in schema `hub`. So that the migrations of this branch never reach the shared `huitong`
/// database (whose other users migrate with `HubMigrations.all` only and would refuse unknown versions), these
/// tests use a database of their own, `huitong_runtime` on the same server, created once through
/// `deploy/local/servers.sh psql` and migrated with `HubMigrations.all + RuntimeMigrations.all`.
enum RuntimeSupport {
    static let databaseName = "huitong_runtime"

    /// `HUITONG_DATABASE_URL` (or the default) with the database replaced by `database`.
    static func databaseURL(_ database: String = databaseName) -> String {
        let base = StoreSupport.databaseURL
        guard var components = URLComponents(string: base) else { return base }
        components.path = "/\(database)"
        return components.string ?? base
    }

    static func configuration(
        database: String = databaseName, poolSize: Int = 8, applicationName: String = "huitong-runtime-tests"
    ) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: databaseURL(database))
        configuration.poolSize = poolSize
        configuration.connectTimeout = .seconds(5)
        configuration.poolAcquireTimeout = .seconds(30)
        configuration.applicationName = applicationName
        return configuration
    }

    static let logger = Logger(label: "huitong.runtime.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Creates and migrates the test database once per process.
    static func prepareDatabase() async throws {
        try await prepared.value
    }

    private static let prepared = Task<Void, any Error> {
        do {
            try await migrate()
        } catch let error as PostgresError where error.code == .databaseNotFound {
            // Two test processes may race here; the loser's CREATE fails and the database exists anyway.
            _ = try? await psql(["-d", "postgres", "-c", "CREATE DATABASE \(databaseName) OWNER huitong"])
            try await migrate()
        }
    }

    /// Creates and migrates a database that only the calling test uses (see ``RuntimeHarness/with(label:retryDelays:deliveryLimit:isolated:_:)``).
    static func createIsolatedDatabase(_ name: String) async throws {
        _ = try await psql(["-d", "postgres", "-c", "CREATE DATABASE \(name) OWNER huitong"])
        try await migrate(database: name)
    }

    /// Drops a database made by ``createIsolatedDatabase(_:)``, closing whatever is still connected to it.
    static func dropIsolatedDatabase(_ name: String) async {
        _ = try? await psql(["-d", "postgres", "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    private static func migrate(database: String = databaseName) async throws {
        let pool = PostgresPool(configuration: try configuration(database: database, poolSize: 1), logger: logger)
        do {
            try await Migrator(migrations: HubMigrations.all + RuntimeMigrations.all, logger: logger).migrate(on: pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    /// Runs `deploy/local/servers.sh psql ARGS…` (superuser) and returns its output (no pipes, no blocked thread:
    /// ``Command``).
    static func psql(_ arguments: [String]) async throws -> String {
        let result = try await Command.run(
            AMQPSupport.repositoryRoot.appendingPathComponent("deploy/local/servers.sh").path, ["psql"] + arguments)
        guard result.status == 0 else { throw AMQPSupport.CommandFailed(description: "psql failed: " + result.stderr) }
        return result.stdout
    }

    /// Records an issue unless `condition` holds within `timeout` (see ``eventually(timeout:_:)``).
    static func expectEventually(
        timeout: Duration = .seconds(60),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () async throws -> Bool
    ) async throws {
        if try await !eventually(timeout: timeout, condition) {
            Issue.record("the condition did not hold within \(timeout)", sourceLocation: sourceLocation)
        }
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held. Not a timing
    /// assertion: the timeout only bounds a test that would otherwise hang.
    static func eventually(
        timeout: Duration = .seconds(60), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}

/// The payload of the test messages.
struct CounterPayload: Codable, Sendable {
    var key: String
    var n: Int
    var mode: String?
}

/// A handler that records each message as a row in `<schema>.effects` and can be told to fail.
///
/// `mode`: nil or `ok` (record; emit an event when `emits`), `transient` (record, then throw transient: the savepoint
/// rolls the row back), `permanent` (record, then throw permanent), `swallow` (record, run a failing statement and
/// ignore its error: the transaction is aborted).
struct CounterHandler: MessageHandler {
    let schema: SQLIdentifier
    let domain: String
    let emits: Bool

    var incrementType: String { "\(domain).counter.increment.v1" }
    var incrementedType: String { "\(domain).counter.incremented.v1" }
    var messageTypes: Set<String> { [incrementType] }

    func aggregateKey(for envelope: Envelope) -> String {
        envelope.data["key"]?.stringValue ?? ""
    }

    func validate(_ envelope: Envelope) throws {
        _ = try envelope.decodeData(as: CounterPayload.self)
    }

    func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage] {
        let payload = try message.envelope.decodeData(as: CounterPayload.self)
        try await context.transaction.execute(
            """
            INSERT INTO \(schema).effects (message_id, key, n, attempt) \
            VALUES (\(message.envelope.id.uuid), \(payload.key), \(payload.n), \(message.attempt))
            """)
        switch payload.mode {
        case "swallow":
            // A buggy handler: a statement fails and the handler carries on (the transaction is now aborted).
            _ = try? await context.transaction.execute("SELECT 1 / (n - n) FROM \(schema).effects")
        case "transient": throw HandlerFailure.transient(code: "test-busy", "the test says: later")
        case "permanent": throw HandlerFailure.permanent(code: "test-refused", "the test says: never")
        default: break
        }
        guard emits else { return [] }
        let event = try Envelope(
            causedBy: message.envelope, source: "urn:huitong:test", type: MessageType(incrementedType),
            dataSchema: "https://huitong.example/schemas/test.json",
            data: ["key": .string(payload.key), "n": .number(JSONNumber(payload.n))])
        return [OutboundMessage(envelope: event, aggregateKey: payload.key)]
    }
}

/// One test's world: a unique queue, domain and schema; a pool on the runtime database (or on a database of its own);
/// a publisher.
struct RuntimeHarness: Sendable {
    let queue: String
    /// The database the harness's pool (and every pool a test makes for it) uses.
    let database: String
    let domain: String
    let schema: SQLIdentifier
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let amqp: AMQPConfiguration
    let consumer: Topology.Consumer

    var eventsQueue: String { "\(queue).events" }
    var handler: CounterHandler { CounterHandler(schema: schema, domain: domain, emits: true) }

    /// Sets up, runs `body`, and removes the queues, schema and rows whatever happened.
    ///
    /// Tests share `huitong_runtime`, so a relay started by one test publishes every test's unsent outbox rows, and
    /// a publish that fails for another test's row makes the rows behind it in its lane go out again (at-least-once:
    /// duplicates are allowed). A test that counts the events published exactly passes `isolated: true` and gets a
    /// database of its own, where only its rows and its relays exist.
    static func with<R: Sendable>(
        label: String,
        retryDelays: [Int] = [200, 400],
        deliveryLimit: Int = 20,
        isolated: Bool = false,
        _ body: (RuntimeHarness) async throws -> R
    ) async throws -> R {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let database = isolated ? "huitong_rt_\(suffix)" : RuntimeSupport.databaseName
        if isolated {
            try await RuntimeSupport.createIsolatedDatabase(database)
        } else {
            try await RuntimeSupport.prepareDatabase()
        }
        let queue = "svc.test-\(label)-\(suffix)"
        let domain = "t\(suffix)"
        let pool = PostgresPool(
            configuration: try RuntimeSupport.configuration(database: database), logger: RuntimeSupport.logger)
        let schema = try SQLIdentifier("t_\(suffix)")
        let consumer = Topology.Consumer(
            queue: queue, bindings: [], deliveryLimit: deliveryLimit, retryDelaysMilliseconds: retryDelays)
        let amqp = try AMQPSupport.configuration(name: "runtime-\(label)-\(suffix)")
        let queues = [queue, consumer.parkingQueueName, "\(queue).events"]
            + retryDelays.indices.map { consumer.retryQueueName(tier: $0) }
        do {
            let result = try await run(
                queue: queue, database: database, domain: domain, schema: schema, pool: pool, amqp: amqp,
                consumer: consumer, queues: queues, body)
            if isolated { await RuntimeSupport.dropIsolatedDatabase(database) }
            return result
        } catch {
            if isolated { await RuntimeSupport.dropIsolatedDatabase(database) }
            throw error
        }
    }

    private static func run<R: Sendable>(
        queue: String, database: String, domain: String, schema: SQLIdentifier, pool: PostgresPool,
        amqp: AMQPConfiguration, consumer: Topology.Consumer, queues: [String], _ body: (RuntimeHarness) async throws -> R
    ) async throws -> R {
        try await AMQPPublisher.withPublisher(configuration: amqp, logger: RuntimeSupport.logger) { publisher in
            let harness = RuntimeHarness(
                queue: queue, database: database, domain: domain, schema: schema, pool: pool, publisher: publisher, amqp: amqp,
                consumer: consumer)
            do {
                try await harness.setUp()
                let result = try await body(harness)
                await harness.tearDown(queues: queues)
                return result
            } catch {
                await harness.tearDown(queues: queues)
                throw error
            }
        }
    }

    private func setUp() async throws {
        try await pool.query("CREATE SCHEMA \(schema)")
        try await pool.query(
            """
            CREATE TABLE \(schema).effects (seq bigserial PRIMARY KEY, message_id uuid NOT NULL, key text NOT NULL, \
            n int NOT NULL, attempt int NOT NULL)
            """)
        try await AMQPSupport.withConnection { connection in
            try await connection.declare(Topology.hub(consumers: [consumer]))
            // Observes the events this test's handler emits.
            try await connection.declare(
                Topology(
                    queues: [Topology.Queue(name: eventsQueue)],
                    bindings: [Topology.Binding(queue: eventsQueue, exchange: Topology.ExchangeName.events, routingKey: "\(domain).#")]))
        }
    }

    private func tearDown(queues: [String]) async {
        await AMQPSupport.cleanUp(queues: queues)
        _ = try? await pool.query("DROP SCHEMA \(schema) CASCADE")
        _ = try? await pool.query("DELETE FROM hub.inbox WHERE consumer = \(queue)")
        _ = try? await pool.query("DELETE FROM hub.outbox WHERE producer = \(queue)")
        _ = try? await pool.query("DELETE FROM hub.parked WHERE queue = \(queue)")
        _ = try? await pool.query("DELETE FROM hub.dlq_actions WHERE queue = \(queue)")
        await pool.close()
    }

    // MARK: Messages

    func envelope(key: String, n: Int, mode: String? = nil) throws -> Envelope {
        var data: JSONObject = ["key": .string(key), "n": .number(JSONNumber(n))]
        if let mode { data = ["key": .string(key), "n": .number(JSONNumber(n)), "mode": .string(mode)] }
        return try Envelope(
            source: "urn:huitong:test", type: MessageType(handler.incrementType),
            dataSchema: "https://huitong.example/schemas/test.json", data: data)
    }

    /// Publishes envelopes to the queue (default exchange) with confirms.
    func publish(_ envelopes: [Envelope]) async throws {
        let messages = envelopes.map { envelope in
            let properties = envelope.messageProperties
            return AMQPMessage(
                exchange: "", routingKey: queue, body: envelope.encode(),
                properties: AMQPMessage.Properties(
                    messageID: properties.messageID, type: properties.type, correlationID: properties.correlationID,
                    contentType: properties.contentType))
        }
        for result in try await publisher.publish(batch: messages) { try result.get() }
    }

    /// Publishes raw bytes to the queue with confirm.
    func publishRaw(_ body: [UInt8], messageID: String? = nil) async throws {
        try await publisher.publish(
            AMQPMessage(
                exchange: "", routingKey: queue, body: body, properties: AMQPMessage.Properties(messageID: messageID)))
    }

    // MARK: Services

    func consumerService(
        batchSize: Int = 64, maximumBatchWait: Duration = .milliseconds(5), lanes: Int = 2,
        maximumBodyBytes: Int = 1 << 20, optimistic: Bool = true, handler: (any MessageHandler)? = nil,
        pool: PostgresPool? = nil, logger: Logger? = nil
    ) -> ConsumerService {
        ConsumerService(
            configuration: ConsumerService.Configuration(
                consumer: consumer, batchSize: batchSize, maximumBatchWait: maximumBatchWait, lanes: lanes,
                maximumBodyBytes: maximumBodyBytes, queueDepthInterval: nil, optimisticBatches: optimistic),
            handler: handler ?? self.handler, amqp: amqp, pool: pool ?? self.pool, publisher: publisher,
            logger: logger ?? RuntimeSupport.logger)
    }

    func drainer() -> ParkingDrainer {
        ParkingDrainer(consumer: consumer, amqp: amqp, pool: pool, logger: RuntimeSupport.logger)
    }

    func relay(pollInterval: Duration = .milliseconds(200), publisher: AMQPPublisher? = nil) -> OutboxRelay {
        OutboxRelay(
            configuration: OutboxRelay.Configuration(name: queue, pollInterval: pollInterval),
            pool: pool, publisher: publisher ?? self.publisher, logger: RuntimeSupport.logger)
    }

    /// Runs the services in a group for the duration of `body`, then shuts them down gracefully and waits.
    func running<R: Sendable>(_ services: [any Service], _ body: () async throws -> R) async throws -> R {
        let group = ServiceGroup(services: services, logger: RuntimeSupport.logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    // MARK: Observations

    /// (rows, distinct message ids) in the effects table.
    func effects() async throws -> (rows: Int, distinct: Int) {
        let row = try await pool.query(
            "SELECT count(*)::int8, count(DISTINCT message_id)::int8 FROM \(schema).effects"
        ).rows[0]
        return (Int(try row.decode(Int64.self, at: 0)), Int(try row.decode(Int64.self, at: 1)))
    }

    /// The parked records of this queue: (message id, reason, attempts, error code).
    func parked() async throws -> [(messageID: String?, reason: String, attempts: Int, errorCode: String)] {
        try await pool.query(
            "SELECT message_id, reason, attempts, error_code FROM hub.parked WHERE queue = \(queue) ORDER BY id"
        ).rows.map {
            (try $0.decode(String?.self, at: 0), try $0.decode(String.self, at: 1),
             Int(try $0.decode(Int32.self, at: 2)), try $0.decode(String.self, at: 3))
        }
    }

    /// Reads and acks the events queue until `distinct` different message ids have arrived and the queue is empty,
    /// or `timeout` passes; returns every delivery (duplicates included) in arrival order as (message id, envelope).
    func readEvents(distinct expected: Int, timeout: Duration = .seconds(60)) async throws
        -> [(messageID: String, envelope: Envelope?)]
    {
        let consumer = AMQPConsumer(configuration: amqp, logger: RuntimeSupport.logger)
        let deliveries = consumer.consume(queue: eventsQueue, prefetch: 256)
        let seen = Box<[(messageID: String, envelope: Envelope?)]>([])
        let queue = eventsQueue
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await delivery in deliveries {
                    try await delivery.ack()
                    let envelope = try? Envelope.decode(bytes: delivery.body)
                    seen.withValue { $0.append((delivery.properties.messageID ?? "", envelope)) }
                }
            }
            _ = try await RuntimeSupport.eventually(timeout: timeout) {
                let count = Set(seen.get.map(\.messageID)).count
                guard count >= expected else { return false }
                return try await depth(queue) == 0
            }
            await deliveries.stop()
            try await group.waitForAll()
            return seen.get
        }
    }

    /// Messages ready in a queue.
    func depth(_ name: String) async throws -> Int {
        try await AMQPSupport.withConnection { connection in Int(try await connection.queueStatus(name).messageCount) }
    }
}
