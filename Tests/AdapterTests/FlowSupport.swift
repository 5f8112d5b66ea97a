import AdapterSimulation
import ECNYAdapter
import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import Hummingbird
import InterbankAdapter
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A thread-safe box.
final class Box<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func update(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}

/// The adapters' flow tests' world: the real broker (own vhost) and database, a unique consumer queue for the
/// adapter's handler, an observer queue on `hub.events`, the runtime (consumer, relay, drainer), the adapter's worker
/// and the simulator, all in one service group.
struct FlowHarness: Sendable {
    static let logger = Logger(label: "huitong.adapter.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    static var amqpURL: String {
        ProcessInfo.processInfo.environment["HUITONG_AMQP_URL"] ?? "amqp://huitong:huitong@127.0.0.1:5673/huitong"
    }

    static var databaseURL: String {
        ProcessInfo.processInfo.environment["HUITONG_DATABASE_URL"] ?? PostgresConfiguration.defaultURL
    }

    static let migrated = Task<Void, any Error> {
        var configuration = try PostgresConfiguration(url: databaseURL)
        configuration.poolSize = 1
        let pool = PostgresPool(configuration: configuration, logger: logger)
        do {
            try await Migrator(
                migrations: HubMigrations.all + RuntimeMigrations.all + InterbankMigrations.all + ECNYMigrations.all,
                logger: logger
            ).migrate(on: pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    let queue: String
    let observer: String
    let consumer: Topology.Consumer
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let amqp: AMQPConfiguration
    let events: Box<[Envelope]>

    static func with<R: Sendable>(
        label: String, observe patterns: [String], _ body: (FlowHarness) async throws -> R
    ) async throws -> R {
        try await migrated.value
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let queue = "adp.test-\(label)-\(suffix)"
        let observer = "test.adp-\(label)-\(suffix).events"
        let consumer = Topology.Consumer(queue: queue, bindings: [], retryDelaysMilliseconds: [200, 400])
        var database = try PostgresConfiguration(url: databaseURL)
        database.poolSize = 6
        database.applicationName = "huitong-adapter-tests"
        let pool = PostgresPool(configuration: database, logger: logger)
        let amqp = try AMQPConfiguration(url: amqpURL, connectionName: "adapter-tests-\(label)-\(suffix)")
        let queues = [queue, consumer.parkingQueueName, observer] + [0, 1].map { consumer.retryQueueName(tier: $0) }
        let setup = try await AMQPConnection.connect(configuration: amqp, logger: logger)
        try await setup.declare(Topology.hub(consumers: [consumer]))
        try await setup.declare(Topology(
            queues: [Topology.Queue(name: observer)],
            bindings: patterns.map { Topology.Binding(queue: observer, exchange: Topology.ExchangeName.events, routingKey: $0) }))
        await setup.close()
        func cleanUp() async {
            _ = try? await pool.query("DELETE FROM hub.inbox WHERE consumer = \(queue)")
            _ = try? await pool.query("DELETE FROM hub.parked WHERE queue = \(queue)")
            await pool.close()
            if let connection = try? await AMQPConnection.connect(configuration: amqp, logger: logger) {
                for name in queues { _ = try? await connection.deleteQueue(name) }
                await connection.close()
            }
        }
        do {
            let result = try await AMQPPublisher.withPublisher(configuration: amqp, logger: logger) { publisher in
                let harness = FlowHarness(
                    queue: queue, observer: observer, consumer: consumer, pool: pool, publisher: publisher, amqp: amqp,
                    events: Box([]))
                return try await body(harness)
            }
            await cleanUp()
            return result
        } catch {
            await cleanUp()
            throw error
        }
    }

    /// The runtime services of the harness's handler.
    func runtime(_ handler: any MessageHandler) -> [any Service] {
        [
            OutboxRelay(
                configuration: OutboxRelay.Configuration(name: queue, pollInterval: .milliseconds(100)), pool: pool,
                publisher: publisher, logger: Self.logger),
            ParkingDrainer(consumer: consumer, amqp: amqp, pool: pool, logger: Self.logger),
            ConsumerService(
                configuration: ConsumerService.Configuration(consumer: consumer, queueDepthInterval: nil),
                handler: handler, amqp: amqp, pool: pool, publisher: publisher, logger: Self.logger),
            EventObserver(harness: self),
        ]
    }

    /// Runs services for the duration of `body`, then shuts them down gracefully.
    func running<R: Sendable>(_ services: [any Service], _ body: () async throws -> R) async throws -> R {
        var configuration = ServiceGroupConfiguration(services: services, logger: Self.logger)
        configuration.maximumGracefulShutdownDuration = .seconds(15)
        let group = ServiceGroup(configuration: configuration)
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

    /// Publishes commands straight to the harness's queue with confirms.
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

    /// Events observed on `hub.events` whose data names this transfer (or request).
    func observed(_ key: String, type: String? = nil) -> [Envelope] {
        events.value.filter {
            ($0.data["transferId"]?.stringValue == key || $0.data["requestId"]?.stringValue == key)
                && (type == nil || $0.type.value == type)
        }
    }

    /// The outbox rows (the authoritative record of what was emitted) for an aggregate key: (type, sent).
    func emitted(_ key: String) async throws -> [(type: String, sent: Bool, body: [UInt8])] {
        try await pool.query(
            "SELECT message_type, sent_at IS NOT NULL, body FROM hub.outbox WHERE aggregate_key = \(key) ORDER BY id"
        ).rows.map { (try $0.decode(String.self, at: 0), try $0.decode(Bool.self, at: 1), try $0.decode([UInt8].self, at: 2)) }
    }

    /// Emitted envelopes for a key.
    func emittedEnvelopes(_ key: String) async throws -> [Envelope] {
        try await emitted(key).map { try Envelope.decode(bytes: $0.body) }
    }

    /// Parked records of the queue: (message id, error code).
    func parked() async throws -> [(messageID: String?, code: String)] {
        try await pool.query("SELECT message_id, error_code FROM hub.parked WHERE queue = \(queue) ORDER BY id").rows.map {
            (try $0.decode(String?.self, at: 0), try $0.decode(String.self, at: 1))
        }
    }

    /// Polls until `condition` holds (bounded, not a timing assertion).
    static func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    /// Starts an HTTP application on a free port; returns the port once it listens.
    static func portOf(_ start: (@escaping @Sendable (Int) async -> Void) -> any Service) async throws -> (any Service, () async -> Int) {
        let port = Box<Int?>(nil)
        let service = start { bound in port.update { $0 = bound } }
        return (service, {
            while port.value == nil { try? await Task.sleep(for: .milliseconds(20)) }
            return port.value ?? 0
        })
    }
}

/// Reads the observer queue into the harness's event list.
struct EventObserver: Service {
    let harness: FlowHarness

    func run() async throws {
        let consumer = AMQPConsumer(configuration: harness.amqp, logger: FlowHarness.logger)
        // Ends quietly at shutdown (a cancelled read is not a failure of the group).
        try? await cancelWhenGracefulShutdown {
            for try await delivery in consumer.consume(queue: harness.observer, prefetch: 256) {
                try await delivery.ack()
                if let envelope = try? Envelope.decode(bytes: delivery.body) {
                    harness.events.update { $0.append(envelope) }
                }
            }
        }
    }
}

/// Test data builders.
enum Commands {
    static let enterprise = try! USCC("91320500MA1Q7H2K3A")

    static func uetr() -> String { UUID().uuidString.lowercased() }

    static func transferId() -> String { MessageID.generate().description }

    static func submit(
        transferId: String = transferId(), uetr: String = uetr(), amount: String = "1250.00", rail: String = "HVPS",
        debtorAccount: String = "32250199880600001234", creditorAccount: String = "512345678900010",
        creditorAgent: String = "308305067890", remittance: String = "Invoice 2026-0917"
    ) throws -> Envelope {
        try Envelope(
            source: "urn:huitong:svc:payments", type: MessageType("interbank.credit-transfer.submit.v1"),
            dataSchema: "https://huitong.example.com/contracts/schemas/interbank/credit-transfer-submit.v1.schema.json",
            data: [
                "transferId": .string(transferId), "uetr": .string(uetr), "endToEndId": .string("E2E-\(transferId.suffix(12))"),
                "instructionId": .string("I-\(transferId.suffix(12))"), "rail": .string(rail), "settlementDate": "2026-11-23",
                "amount": ["value": .string(amount), "currency": "CNY"],
                "debtor": ["name": "苏州示例科技有限公司", "account": .string(debtorAccount), "agent": "102305012345"],
                "creditor": ["name": "Wuxi Parts & Tools", "account": .string(creditorAccount), "agent": .string(creditorAgent)],
                "remittanceInformation": .string(remittance), "purpose": "SUPP",
            ],
            correlationID: UUID(), enterpriseID: enterprise)
    }

    static func statusQuery(_ submit: Envelope) throws -> Envelope {
        try Envelope(
            source: "urn:huitong:svc:payments", type: MessageType("interbank.credit-transfer.status-query.v1"),
            dataSchema: "https://huitong.example.com/contracts/schemas/interbank/credit-transfer-status-query.v1.schema.json",
            data: ["transferId": submit.data["transferId"]!, "uetr": submit.data["uetr"]!, "endToEndId": submit.data["endToEndId"]!],
            correlationID: submit.correlationID, enterpriseID: enterprise)
    }

    static func accountReport(requestId: String, account: String, kind: String = "statement") throws -> Envelope {
        try Envelope(
            source: "urn:huitong:svc:accounts", type: MessageType("interbank.account-report.request.v1"),
            dataSchema: "https://huitong.example.com/contracts/schemas/interbank/account-report-request.v1.schema.json",
            data: ["requestId": .string(requestId), "account": .string(account), "agent": "308305067890",
                   "kind": .string(kind), "date": "2026-11-22"],
            correlationID: UUID(), enterpriseID: enterprise)
    }

    static func ecnySubmit(transferId: String = transferId(), wallet: String, amount: String = "100.00") throws -> Envelope {
        try Envelope(
            source: "urn:huitong:svc:payments", type: MessageType("ecny.transfer.submit.v1"),
            dataSchema: "https://huitong.example.com/contracts/schemas/ecny/transfer-submit.v1.schema.json",
            data: [
                "transferId": .string(transferId),
                "payerAccount": ["account": "32250199880600001234", "agent": "102305012345"],
                "payeeWallet": .string(wallet), "payeeOperator": "ICBC",
                "amount": ["value": .string(amount), "currency": "CNY"], "purpose": "工资",
                "enterpriseId": .string(enterprise.value), "authoriser": "财务 张三",
            ],
            correlationID: UUID(), enterpriseID: enterprise)
    }
}
