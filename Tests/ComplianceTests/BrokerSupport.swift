import ComplianceChecker
import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// A running checker on the real broker: the runtime's consumer on a test-only tap queue, the outbox relay, and an
/// observer queue bound to `compliance.#` on `hub.events`. Only this test's correlation ids are counted.
struct RunningChecker: Sendable {
    let queue: String
    let observerQueue: String
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let amqp: AMQPConfiguration
    let consumer: Topology.Consumer
    let collected: Collected

    final class Collected: Sendable {
        let envelopes = Mutex<[Envelope]>([])
        func append(_ envelope: Envelope) { envelopes.withLock { $0.append(envelope) } }
        func snapshot() -> [Envelope] { envelopes.withLock { $0 } }
    }

    /// Sets up queues and services, runs `body` while the checker runs, then shuts down and removes the queues.
    static func with<R: Sendable>(
        label: String, checker: ComplianceChecker, extraServices: @Sendable (PostgresPool) -> [any Service] = { _ in [] },
        _ body: (RunningChecker) async throws -> R
    ) async throws -> R {
        try await ComplianceSupport.prepareDatabase()
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let queue = "tap.compliance.test-\(label)-\(suffix)"
        let observer = "test.compliance.observe-\(label)-\(suffix)"
        let consumer = Topology.Consumer(queue: queue, bindings: [], retryDelaysMilliseconds: [200, 400])
        let amqp = try AMQPConfiguration(url: ComplianceSupport.amqpURL, connectionName: "compliance-test-\(label)-\(suffix)")
        let pool = try ComplianceSupport.pool(size: 6)
        let queues = [queue, consumer.parkingQueueName, observer] + (0..<2).map { consumer.retryQueueName(tier: $0) }
        let result: R
        do {
            result = try await AMQPPublisher.withPublisher(configuration: amqp, logger: ComplianceSupport.logger) { publisher in
                let connection = try await AMQPConnection.connect(configuration: amqp, logger: ComplianceSupport.logger)
                try await connection.declare(Topology.hub(consumers: [consumer]))
                try await connection.declare(
                    Topology(
                        queues: [Topology.Queue(name: observer)],
                        bindings: [Topology.Binding(queue: observer, exchange: Topology.ExchangeName.events, routingKey: "compliance.#")]))
                await connection.close()
                let harness = RunningChecker(
                    queue: queue, observerQueue: observer, pool: pool, publisher: publisher, amqp: amqp, consumer: consumer,
                    collected: Collected())
                let services: [any Service] = [
                    ConsumerService(
                        configuration: ConsumerService.Configuration(consumer: consumer, queueDepthInterval: nil),
                        handler: checker, amqp: amqp, pool: pool, publisher: publisher, logger: ComplianceSupport.logger),
                    OutboxRelay(
                        configuration: OutboxRelay.Configuration(name: queue, pollInterval: .milliseconds(200)), pool: pool,
                        publisher: publisher, logger: ComplianceSupport.logger),
                ] + extraServices(pool)
                return try await harness.running(services, body)
            }
        } catch {
            await cleanUp(queues)
            await pool.close()
            throw error
        }
        await cleanUp(queues)
        await pool.close()
        return result
    }

    static func cleanUp(_ queues: [String]) async {
        guard let amqp = try? AMQPConfiguration(url: ComplianceSupport.amqpURL, connectionName: "compliance-test-cleanup"),
              let connection = try? await AMQPConnection.connect(configuration: amqp, logger: ComplianceSupport.logger)
        else { return }
        for queue in queues { _ = try? await connection.deleteQueue(queue) }
        await connection.close()
    }

    /// Runs the services and the observer for the duration of `body`. The services stop gracefully (a relay
    /// cancelled mid-pass would leave published rows unsent, and another test's relay would publish them again);
    /// only the observer is cancelled.
    private func running<R: Sendable>(_ services: [any Service], _ body: (RunningChecker) async throws -> R) async throws -> R {
        let group = ServiceGroup(services: services, logger: ComplianceSupport.logger)
        let observer = Task { try await self.observe() }
        defer { observer.cancel() }
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body(self)
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    private func observe() async throws {
        let consumer = AMQPConsumer(configuration: amqp, logger: ComplianceSupport.logger)
        for try await delivery in consumer.consume(queue: observerQueue, prefetch: 64) {
            if let envelope = try? Envelope.decode(bytes: delivery.body) { collected.append(envelope) }
            try await delivery.ack()
        }
    }

    /// Publishes envelopes to the tap queue (default exchange), persistent, with confirms.
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

    /// The compliance messages seen on `hub.events` for one correlation id, in arrival order.
    func events(correlation: UUID) -> [Envelope] {
        collected.snapshot().filter { $0.correlationID == correlation }
    }

    /// Waits until `condition` holds over this correlation's events (the timeout only bounds a hung test).
    func waitFor(
        correlation: UUID, timeout: Duration = .seconds(60), _ condition: ([Envelope]) -> Bool
    ) async throws -> [Envelope] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let events = events(correlation: correlation)
            if condition(events) { return events }
            try await Task.sleep(for: .milliseconds(50))
        }
        return events(correlation: correlation)
    }
}
