import Foundation
import HubAMQP
import HubApp
import HubCore
import HubRuntime
import HubStore
import Logging
import PaymentsService
import ServiceLifecycle
import Synchronization
import Testing

/// A test clock: a fixed Asia/Shanghai instant (Monday 2099-11-23 10:00, HVPS open) that tests move forward.
/// Far in the future on purpose: a payments timer running on the real clock elsewhere in the same test process
/// (e.g. `huitong serve` in the CLI tests) never finds these transfers due.
final class TestClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    let base: Date

    init(base: Date = PaymentsHarness.monday10) { self.base = base }

    var now: Date { base.addingTimeInterval(offset.withLock { $0 }) }
    func advance(seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

/// One payments test's world: its own queue (published to directly, so parallel tests and other suites never
/// share deliveries), its own enterprise (so idempotency keys, R-PAY-5 and cleanup are per test), the payments
/// handler in the real runtime, and the hub.outbox rows of its flows as the observation point.
struct PaymentsHarness: Sendable {
    static let monday10: Date = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar.date(from: DateComponents(year: 2099, month: 11, day: 23, hour: 10))!
    }()

    static let logger = Logger(label: "huitong.payments.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    let queue: String
    let consumer: Topology.Consumer
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let amqp: AMQPConfiguration
    let enterprise: USCC
    let clock: TestClock
    let configuration: PaymentsConfiguration
    let suffix: String

    /// Sets up, runs `body` with the consumer (and the relay when asked) running, then removes the queues and the
    /// test's rows whatever happened.
    static func with<R: Sendable>(
        label: String,
        start: Date = PaymentsHarness.monday10,
        configure: (inout PaymentsConfiguration) -> Void = { _ in },
        _ body: (PaymentsHarness) async throws -> R
    ) async throws -> R {
        try await prepareDatabase()
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let queue = "svc.payments-test-\(label)-\(suffix)"
        // No bindings: the test publishes to the queue itself (the role's bindings are checked in a unit test).
        let consumer = Topology.Consumer(queue: queue, bindings: [], retryDelaysMilliseconds: [200, 400])
        var configuration = PaymentsConfiguration()
        configuration.adapterTimeout = .seconds(30)
        configure(&configuration)
        var storeConfiguration = try PostgresConfiguration(url: StoreSupport.databaseURL)
        storeConfiguration.poolSize = 6
        storeConfiguration.applicationName = "huitong-payments-tests"
        let pool = PostgresPool(configuration: storeConfiguration, logger: logger)
        let amqp = try AMQPSupport.configuration(name: "payments-\(label)-\(suffix)")
        let queues = [queue, consumer.parkingQueueName] + [0, 1].map { consumer.retryQueueName(tier: $0) }
        return try await AMQPPublisher.withPublisher(configuration: amqp, logger: logger) { publisher in
            let harness = PaymentsHarness(
                queue: queue, consumer: consumer, pool: pool, publisher: publisher, amqp: amqp,
                enterprise: uniqueEnterprise(), clock: TestClock(base: start), configuration: configuration, suffix: String(suffix))
            do {
                try await AMQPSupport.withConnection { try await $0.declare(Topology.hub(consumers: [consumer])) }
                let result = try await harness.running(body)
                await harness.tearDown(queues: queues)
                return result
            } catch {
                await harness.tearDown(queues: queues)
                throw error
            }
        }
    }

    /// A valid USCC no other test uses (R-ID-2 check character computed).
    static func uniqueEnterprise() -> USCC {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        let body = (0..<10).map { _ in String(alphabet[Int.random(in: 0..<alphabet.count)]) }.joined()
        let first17 = "91320500" + body.prefix(9)
        return try! USCC(first17 + String(USCC.checkCharacter(for: String(first17))!))
    }

    static func prepareDatabase() async throws { try await prepared.value }

    private static let prepared = Task<Void, any Error> {
        var configuration = try PostgresConfiguration(url: StoreSupport.databaseURL)
        configuration.poolSize = 1
        let pool = PostgresPool(configuration: configuration, logger: logger)
        do {
            try await Migrator(migrations: HubMigrate.migrations, logger: logger).migrate(on: pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    var handler: PaymentsHandler { PaymentsHandler(configuration: configuration, clock: { [clock] in clock.now }) }
    var timer: PaymentsTimer {
        PaymentsTimer(configuration: configuration, pool: pool, logger: Self.logger, clock: { [clock] in clock.now },
                      enterprise: enterprise.value)
    }

    private func running<R: Sendable>(_ body: (PaymentsHarness) async throws -> R) async throws -> R {
        let service = ConsumerService(
            configuration: ConsumerService.Configuration(
                consumer: consumer, batchSize: 16, maximumBatchWait: .milliseconds(5), lanes: 2,
                queueDepthInterval: nil),
            handler: handler, amqp: amqp, pool: pool, publisher: publisher, logger: Self.logger)
        let drainer = ParkingDrainer(consumer: consumer, amqp: amqp, pool: pool, logger: Self.logger)
        let group = ServiceGroup(services: [drainer, service], logger: Self.logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body(self)
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

    private func tearDown(queues: [String]) async {
        await AMQPSupport.cleanUp(queues: queues)
        let enterpriseID = enterprise.value
        _ = try? await pool.query(
            """
            DELETE FROM hub.outbox WHERE correlation_id IN (SELECT correlation_id FROM payments.transfers \
            WHERE enterprise_id = \(enterpriseID) UNION SELECT correlation_id FROM payments.batches \
            WHERE enterprise_id = \(enterpriseID)) OR producer = \(queue)
            """)
        _ = try? await pool.query(
            "DELETE FROM payments.compliance_verdicts WHERE subject_message_id IN (SELECT subject_message_id FROM payments.transfers WHERE enterprise_id = \(enterpriseID))")
        _ = try? await pool.query("DELETE FROM payments.transfers WHERE enterprise_id = \(enterpriseID) AND retry_of IS NOT NULL")
        _ = try? await pool.query("DELETE FROM payments.transfers WHERE enterprise_id = \(enterpriseID)")
        _ = try? await pool.query(
            "DELETE FROM payments.batch_rejected_lines WHERE batch_ref IN (SELECT batch_ref FROM payments.batches WHERE enterprise_id = \(enterpriseID))")
        _ = try? await pool.query("DELETE FROM payments.batches WHERE enterprise_id = \(enterpriseID) AND original_batch_ref IS NOT NULL")
        _ = try? await pool.query("DELETE FROM payments.batches WHERE enterprise_id = \(enterpriseID)")
        _ = try? await pool.query("DELETE FROM payments.requests WHERE enterprise_id = \(enterpriseID)")
        _ = try? await pool.query("DELETE FROM hub.inbox WHERE consumer = \(queue)")
        _ = try? await pool.query("DELETE FROM hub.parked WHERE queue = \(queue)")
        await pool.close()
    }

    // MARK: Messages

    /// A transfer request of this test's enterprise; `debtorAccount` defaults to one unique to the test.
    func transferRequest(
        clientRequestId: String, amount: String = "60000.00", creditor: JSONValue? = nil,
        extra: [(String, JSONValue)] = [], enterprise: USCC?? = .none, correlationID: UUID = UUID()
    ) throws -> Envelope {
        var data: [(String, JSONValue)] = [
            ("clientRequestId", .string(clientRequestId)),
            ("debtor", ["name": "苏州汇通制造有限公司", "account": .string(debtorAccount), "agent": "102305000014",
                        "kind": "enterprise"]),
            ("creditor", creditor ?? ["name": "上海供应商有限公司", "kind": "enterprise", "account": "31001234567890",
                                      "agent": "104290003019"]),
            ("amount", ["value": .string(amount), "currency": "CNY"]),
        ]
        data += extra
        return try Envelope(
            source: "/partners/test-erp", type: MessageType(PaymentsMessageType.transferRequest),
            dataSchema: PaymentsMessageType.schemaURI(PaymentsMessageType.transferRequest), data: JSONObject(data),
            correlationID: correlationID, enterpriseID: enterprise ?? self.enterprise)
    }

    var debtorAccount: String { "6222" + String(suffix.unicodeScalars.map { String($0.value % 10) }.joined()) }

    /// An adapter or compliance event.
    func event(_ type: String, _ data: [(String, JSONValue)], correlationID: UUID? = nil) throws -> Envelope {
        try Envelope(
            source: "urn:huitong:test:peer", type: MessageType(type), dataSchema: PaymentsMessageType.schemaURI(type),
            data: JSONObject(data), correlationID: correlationID)
    }

    func cleared(_ command: Envelope) throws -> Envelope {
        try event(PaymentsMessageType.screeningCleared,
                  [("subjectMessageId", .string(command.id.description)), ("subjectType", .string(command.type.value))],
                  correlationID: command.correlationID)
    }

    /// Publishes envelopes straight to the test's queue, with confirms.
    func publish(_ envelopes: Envelope...) async throws {
        for envelope in envelopes {
            let properties = envelope.messageProperties
            try await publisher.publish(AMQPMessage(
                exchange: "", routingKey: queue, body: envelope.encode(),
                properties: AMQPMessage.Properties(
                    messageID: properties.messageID, type: properties.type, correlationID: properties.correlationID,
                    contentType: properties.contentType)))
        }
    }

    // MARK: Observations

    /// The messages emitted for a flow (handler and timer), in outbox order.
    func emitted(_ correlationID: UUID) async throws -> [Envelope] {
        try await pool.query(
            "SELECT body FROM hub.outbox WHERE correlation_id = \(correlationID) ORDER BY id"
        ).rows.map { try Envelope.decode(bytes: try $0.decode([UInt8].self, at: 0)) }
    }

    func emitted(_ correlationID: UUID, type: String) async throws -> [Envelope] {
        try await emitted(correlationID).filter { $0.type.value == type }
    }

    /// Waits until the flow has emitted at least `count` messages of `type`, and returns them.
    @discardableResult
    func waitFor(_ correlationID: UUID, _ type: String, count: Int = 1,
                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> [Envelope]
    {
        try await RuntimeSupport.expectEventually(timeout: .seconds(60), sourceLocation: sourceLocation) {
            try await emitted(correlationID, type: type).count >= count
        }
        return try await emitted(correlationID, type: type)
    }

    /// Waits until the queue is drained and every delivery handled (depth 0 and nothing unacked).
    func settle() async throws {
        try await RuntimeSupport.expectEventually {
            try await AMQPSupport.withConnection { connection in
                let status = try await connection.queueStatus(queue)
                return status.messageCount == 0 && status.consumerCount >= 1
            }
        }
        // A delivery taken but not yet committed is not in messageCount; give the lanes a moment to commit.
        try await Task.sleep(for: .milliseconds(300))
    }

    func state(of transferID: String) async throws -> String? {
        guard let uuid = UUID(uuidString: transferID) else { return nil }
        return try await pool.query("SELECT state FROM payments.transfers WHERE transfer_id = \(uuid)")
            .rows.first.map { try $0.decode(String.self, at: 0) }
    }

    func parked() async throws -> [(messageID: String?, reason: String, errorCode: String)] {
        try await pool.query("SELECT message_id, reason, error_code FROM hub.parked WHERE queue = \(queue) ORDER BY id")
            .rows.map { (try $0.decode(String?.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String.self, at: 2)) }
    }
}

extension Envelope {
    /// A string member of the payload.
    func string(_ key: String) -> String? { data[key]?.stringValue }
}
