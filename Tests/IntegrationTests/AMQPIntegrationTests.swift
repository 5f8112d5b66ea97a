import Foundation
import HubAMQP
import HubCore
import Testing

/// HubAMQP against the real broker at `HUITONG_AMQP_URL`. Every test uses its own exchanges and queues and deletes
/// them afterwards.
@Suite("AMQP integration")
struct AMQPIntegrationTests {
    @Test("publish with confirm → consume → ack → queue empty; properties and headers survive")
    func publishConsumeAck() async throws {
        let queue = AMQPSupport.uniqueName("basic")
        let topology = Topology(queues: [Topology.Queue(name: queue)])
        try await AMQPSupport.withCleanup(queues: [queue]) {
            let stamp = Date(timeIntervalSince1970: 1_763_800_000)

            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-basic-pub"), topology: topology,
                logger: AMQPSupport.logger
            ) { publisher in
                try await publisher.publish(
                    AMQPMessage(
                        exchange: "", routingKey: queue, body: Array("汇通 body".utf8),
                        properties: .init(
                            messageID: "0192f7c3-0000-7000-8000-000000000001", type: "payments.transfer.request.v1",
                            correlationID: "corr-1", timestamp: stamp, contentType: "application/cloudevents+json",
                            appID: "huitong-test",
                            headers: ["attempt": .int64(1), "partner": .string("p-1"), "flags": .table(["x": .bool(true)])]
                        )
                    )
                )
            }

            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: "test-basic-con"), logger: AMQPSupport.logger
            )
            let deliveries = consumer.consume(queue: queue, prefetch: 4)
            var received: Delivery?
            for try await delivery in deliveries {
                received = delivery
                try await delivery.ack()
                break
            }
            await deliveries.stop()

            let delivery = try #require(received)
            #expect(delivery.body == Array("汇通 body".utf8))
            #expect(delivery.routingKey == queue)
            #expect(delivery.exchange == "")
            #expect(delivery.redelivered == false)
            #expect(delivery.deliveryMode == 2)
            #expect(delivery.properties.messageID == "0192f7c3-0000-7000-8000-000000000001")
            #expect(delivery.properties.type == "payments.transfer.request.v1")
            #expect(delivery.properties.correlationID == "corr-1")
            #expect(delivery.properties.timestamp == stamp)
            #expect(delivery.properties.contentType == "application/cloudevents+json")
            #expect(delivery.properties.appID == "huitong-test")
            #expect(delivery.headers["attempt"] == .int64(1))
            #expect(delivery.headers["partner"] == .string("p-1"))
            #expect(delivery.headers["flags"] == .table(["x": .bool(true)]))

            // After the consumer closed, an unacked message would be ready again: 0 proves the ack reached the broker.
            let status = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }
            #expect(status.messageCount == 0)
            #expect(status.consumerCount == 0)
        }
    }

    @Test("server properties for huitong doctor")
    func serverProperties() async throws {
        let properties = try await AMQPSupport.withConnection { await $0.serverProperties }
        #expect(properties.product == "RabbitMQ")
        #expect(properties.version?.hasPrefix("3.") == true)
    }

    @Test("a windowed batch of 10,000 (and 500 single publishes) is confirmed, then all consumed")
    func windowedBatch() async throws {
        let queue = AMQPSupport.uniqueName("batch")
        let topology = Topology(queues: [Topology.Queue(name: queue)])
        try await AMQPSupport.withCleanup(queues: [queue]) {
            let count = 10_000
            let messages = (0..<count).map { AMQPSupport.message(exchange: "", routingKey: queue, number: $0) }

            let publishStart = ContinuousClock.now
            let outcomes = try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-batch-pub"), topology: topology,
                logger: AMQPSupport.logger
            ) { publisher in
                try await publisher.publish(batch: messages, window: 500)
            }
            // For comparison: one at a time, each waiting for its own confirm.
            let single = 500
            let singleStart = ContinuousClock.now
            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-single-pub"), logger: AMQPSupport.logger
            ) { publisher in
                for number in count..<(count + single) {
                    try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: number))
                }
            }
            let singleTime = ContinuousClock.now - singleStart
            let publishTime = ContinuousClock.now - publishStart
            let failures = outcomes.filter { if case .failure = $0 { true } else { false } }
            #expect(outcomes.count == count)
            #expect(failures.isEmpty, "\(failures.prefix(3))")

            let consumeStart = ContinuousClock.now
            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: "test-batch-con"), logger: AMQPSupport.logger
            )
            let deliveries = consumer.consume(queue: queue, prefetch: 500)
            var seen = Set<Int>()
            var sinceAck = 0
            for try await delivery in deliveries {
                if let number = AMQPSupport.number(of: delivery) { seen.insert(number) }
                sinceAck += 1
                // Multiple-ack every 100 deliveries (and at the end).
                if sinceAck == 100 || seen.count == count + single {
                    try await delivery.ack(multiple: true)
                    sinceAck = 0
                }
                if seen.count == count + single { break }
            }
            await deliveries.stop()
            let consumeTime = ContinuousClock.now - consumeStart
            #expect(seen.count == count + single)

            func rate(_ duration: Duration, _ count: Int = count) -> Int {
                let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                return Int(Double(count) / max(seconds, 0.001))
            }
            print("AMQP single: published+confirmed \(single) one at a time in \(singleTime) (\(rate(singleTime, single)) msgs/s)")
            print("AMQP batch: published+confirmed \(count) in \(publishTime) (\(rate(publishTime)) msgs/s, window 500, quorum queue)")
            print("AMQP batch: consumed+acked \(count + single) in \(consumeTime) (\(rate(consumeTime, count + single)) msgs/s, prefetch 500)")
            let status = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }
            #expect(status.messageCount == 0)
        }
    }

    @Test("mandatory publish to an unbound key → unroutable; routable neighbours in the batch are confirmed")
    func unroutable() async throws {
        let exchange = AMQPSupport.uniqueName("unroutable-x")
        let queue = AMQPSupport.uniqueName("unroutable-q")
        let topology = Topology(
            exchanges: [Topology.Exchange(name: exchange, kind: .topic)],
            queues: [Topology.Queue(name: queue, kind: .classic)],
            bindings: [Topology.Binding(queue: queue, exchange: exchange, routingKey: "bound.#")]
        )
        try await AMQPSupport.withCleanup(queues: [queue], exchanges: [exchange]) {

            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-unroutable"), topology: topology,
                logger: AMQPSupport.logger
            ) { publisher in
                await #expect {
                    try await publisher.publish(AMQPSupport.message(exchange: exchange, routingKey: "nobody.home", number: 1))
                } throws: { error in
                    (error as? AMQPError)?.code == .unroutable && (error as? AMQPError)?.replyCode == 312
                }
                let outcomes = try await publisher.publish(batch: [
                    AMQPSupport.message(exchange: exchange, routingKey: "bound.a", number: 2),
                    AMQPSupport.message(exchange: exchange, routingKey: "nobody.home", number: 3),
                    AMQPSupport.message(exchange: exchange, routingKey: "bound.b", number: 4),
                ])
                #expect(throws: Never.self) { try outcomes[0].get() }
                #expect { try outcomes[1].get() } throws: { ($0 as? AMQPError)?.code == .unroutable }
                #expect(throws: Never.self) { try outcomes[2].get() }
                // The publisher is still usable.
                try await publisher.publish(AMQPSupport.message(exchange: exchange, routingKey: "bound.c", number: 5))
            }
            let status = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }
            #expect(status.messageCount == 3)
        }
    }

    @Test("a full queue with x-overflow reject-publish → nacked; the channel is reopened and publishing goes on")
    func nacked() async throws {
        let queue = AMQPSupport.uniqueName("nack")
        let topology = Topology(queues: [
            Topology.Queue(
                name: queue, kind: .classic,
                extraArguments: ["x-max-length": .int(1), "x-overflow": .string("reject-publish")]
            )
        ])
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-nack"), topology: topology,
                logger: AMQPSupport.logger
            ) { publisher in
                try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 1))
                await #expect {
                    try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 2))
                } throws: { ($0 as? AMQPError)?.code == .nacked }
                try await AMQPSupport.withConnection { try await $0.purgeQueue(queue) }
                try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 3))
            }
            let status = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }
            #expect(status.messageCount == 1)
        }
    }

    @Test("publishing to a missing exchange fails with channelClosed (404) and the publisher recovers")
    func missingExchange() async throws {
        let queue = AMQPSupport.uniqueName("missing-x")
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-missing-x"),
                topology: Topology(queues: [Topology.Queue(name: queue, kind: .classic)]), logger: AMQPSupport.logger
            ) { publisher in
                await #expect {
                    try await publisher.publish(
                        AMQPSupport.message(exchange: AMQPSupport.uniqueName("nope"), routingKey: "k", number: 1)
                    )
                } throws: { error in
                    (error as? AMQPError)?.code == .channelClosed && (error as? AMQPError)?.replyCode == 404
                }
                try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 2))
            }
        }
    }

    @Test("nack(requeue: false) and reject(requeue: false) dead-letter with an x-death header")
    func deadLettering() async throws {
        let deadExchange = AMQPSupport.uniqueName("dlx")
        let deadQueue = AMQPSupport.uniqueName("dlq")
        let workQueue = AMQPSupport.uniqueName("work")
        let topology = Topology(
            exchanges: [Topology.Exchange(name: deadExchange, kind: .fanout)],
            queues: [
                Topology.Queue(name: deadQueue),
                Topology.Queue(name: workQueue, deliveryLimit: 5, deadLetterExchange: deadExchange),
            ],
            bindings: [Topology.Binding(queue: deadQueue, exchange: deadExchange, routingKey: "")]
        )
        try await AMQPSupport.withCleanup(queues: [workQueue, deadQueue], exchanges: [deadExchange]) {

            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-dlx-pub"), topology: topology,
                logger: AMQPSupport.logger
            ) { publisher in
                for number in 1...2 {
                    try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: workQueue, number: number))
                }
            }

            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: "test-dlx-con"), logger: AMQPSupport.logger
            )
            let work = consumer.consume(queue: workQueue, prefetch: 2)
            var settled = 0
            for try await delivery in work {
                if AMQPSupport.number(of: delivery) == 1 {
                    try await delivery.nack(requeue: false)
                } else {
                    try await delivery.reject(requeue: false)
                }
                settled += 1
                if settled == 2 { break }
            }
            await work.stop()

            let dead = consumer.consume(queue: deadQueue, prefetch: 2)
            var deadNumbers: Set<Int> = []
            for try await delivery in dead {
                let death = try #require(delivery.headers["x-death"]?.arrayValue?.first?.tableValue)
                #expect(death["queue"] == .string(workQueue))
                #expect(death["reason"] == .string("rejected"))
                #expect(death["count"]?.int64Value == 1)
                if let number = AMQPSupport.number(of: delivery) { deadNumbers.insert(number) }
                try await delivery.ack()
                if deadNumbers.count == 2 { break }
            }
            await dead.stop()
            #expect(deadNumbers == [1, 2])
        }
    }

    @Test("Topology.hub for a consumer declared twice is a no-op; the queue is quorum with the delivery limit")
    func hubTopologyIdempotent() async throws {
        let name = AMQPSupport.uniqueName("svc")
        let consumer = Topology.Consumer(
            queue: name, bindings: [(exchange: Topology.ExchangeName.commands, pattern: "\(name).#")],
            deliveryLimit: 7, retryDelaysMilliseconds: [1_000, 10_000]
        )
        let topology = Topology.hub(consumers: [consumer])
        let queues = topology.queues.map(\.name)
        try await AMQPSupport.withCleanup(queues: queues) {

            try await AMQPSupport.withConnection { connection in
                try await connection.declare(topology)
                try await connection.declare(topology)
                for queue in queues { _ = try await connection.queueStatus(queue) }
            }
            let listing = try await AMQPSupport.rabbitmqctl(["-q", "list_queues", "-p", "huitong", "name", "type", "arguments"])
            let line = try #require(listing.split(separator: "\n").first { $0.hasPrefix(name + "\t") })
            #expect(line.contains("\tquorum\t"))
            #expect(line.contains("x-delivery-limit"))
            #expect(line.contains("7"))
            #expect(line.contains("at-least-once"))
            let count = listing.split(separator: "\n").filter { $0.hasPrefix(name) }.count
            #expect(count == 4)  // the queue, two retry tiers, the parking queue
        }
    }

    @Test("a conflicting re-declare → preconditionFailed naming the queue; the connection stays usable")
    func conflictingDeclare() async throws {
        let queue = AMQPSupport.uniqueName("conflict")
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPSupport.withConnection { connection in
                try await connection.declare(Topology(queues: [Topology.Queue(name: queue, kind: .quorum)]))
                await #expect {
                    try await connection.declare(Topology(queues: [Topology.Queue(name: queue, kind: .classic)]))
                } throws: { error in
                    guard let error = error as? AMQPError else { return false }
                    return error.code == .preconditionFailed && error.replyCode == 406
                        && error.description.contains("queue '\(queue)'")
                }
                // The channel was reopened: the same connection still works.
                #expect(try await connection.queueStatus(queue).messageCount == 0)
                #expect(await connection.isOpen)
            }
        }
    }

    @Test("passive declare of a missing queue → channelClosed 404; purge empties a queue")
    func passiveAndPurge() async throws {
        let queue = AMQPSupport.uniqueName("purge")
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPSupport.withConnection { connection in
                await #expect {
                    _ = try await connection.queueStatus(AMQPSupport.uniqueName("absent"))
                } throws: { ($0 as? AMQPError)?.replyCode == 404 }
                try await connection.declare(Topology(queues: [Topology.Queue(name: queue, kind: .classic)]))
            }
            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-purge"), logger: AMQPSupport.logger
            ) { publisher in
                let outcomes = try await publisher.publish(
                    batch: (0..<3).map { AMQPSupport.message(exchange: "", routingKey: queue, number: $0) }
                )
                #expect(outcomes.allSatisfy { (try? $0.get()) != nil })
            }
            try await AMQPSupport.withConnection { connection in
                let purged = try await connection.purgeQueue(queue)
                let status = try await connection.queueStatus(queue)
                #expect(purged == 3)
                #expect(status.messageCount == 0)
            }
        }
    }
}
