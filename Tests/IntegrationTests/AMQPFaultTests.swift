import Foundation
import HubAMQP
import HubCore
import Testing

/// Failure handling against the real broker: broker-side kills, heartbeats, bad credentials, bad addresses.
@Suite("AMQP faults")
struct AMQPFaultTests {
    @Test("broker-side kill of publisher and consumer: connectionLost, republish, reconnect, every confirmed message consumed")
    func brokerSideKill() async throws {
        let queue = AMQPSupport.uniqueName("kill")
        let publisherName = AMQPSupport.uniqueName("kill-pub")
        let consumerName = AMQPSupport.uniqueName("kill-con")
        let topology = Topology(queues: [Topology.Queue(name: queue)])
        let total = 2_000

        try await AMQPSupport.withCleanup(queues: [queue]) {
            let received = Box([Int: Int]())  // number → times consumed
            let confirmed = Box(Set<Int>())
            let lostReports = Box(0)
            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: consumerName), topology: topology,
                logger: AMQPSupport.logger
            )
            // Declare before either side starts, so no message is published before the queue exists.
            try await AMQPSupport.withConnection { try await $0.declare(topology) }
            let deliveries = consumer.consume(queue: queue, prefetch: 100)

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await delivery in deliveries {
                        if let number = AMQPSupport.number(of: delivery) {
                            received.withValue { $0[number, default: 0] += 1 }
                        }
                        do {
                            try await delivery.ack()
                        } catch let error as AMQPError where error.code == .staleDelivery || error.code == .connectionLost {
                            // The connection died under us: the broker redelivers this message.
                        }
                    }
                }

                // The publisher: numbered messages in windows of 50; whatever is not confirmed is republished.
                // No heartbeats: nothing services them while this loop waits for the consumer to catch up, and
                // the broker must not close the connection before the test does (the point is the publish that
                // finds it dead: connectionLost).
                let publisher = AMQPPublisher(
                    configuration: try AMQPSupport.configuration(name: publisherName, query: "heartbeat=0"), topology: topology,
                    logger: AMQPSupport.logger
                )
                var toSend = Array(0..<total)
                var killed = false
                while !toSend.isEmpty {
                    let chunk = Array(toSend.prefix(50))
                    toSend.removeFirst(chunk.count)
                    let outcomes: [Result<Void, AMQPError>]
                    do {
                        outcomes = try await publisher.publish(
                            batch: chunk.map { AMQPSupport.message(exchange: "", routingKey: queue, number: $0) },
                            window: 50
                        )
                    } catch {
                        toSend.insert(contentsOf: chunk, at: 0)  // no connection yet: try again after the backoff
                        continue
                    }
                    for (number, outcome) in zip(chunk, outcomes) {
                        switch outcome {
                        case .success:
                            confirmed.withValue { _ = $0.insert(number) }
                        case .failure(let error):
                            if error.code == .connectionLost { lostReports.withValue { $0 += 1 } }
                            toSend.append(number)  // republish: at-least-once
                        }
                    }
                    // Kill both connections from the broker once a quarter is confirmed and some are consumed.
                    if !killed && confirmed.get.count >= total / 4 {
                        // Let the consumer get going (bounded wait), so that both sides die mid-stream whatever the
                        // relative speed of publishing and consuming on this machine.
                        let catchUp = ContinuousClock.now + .seconds(30)
                        while received.get.count < 100 && ContinuousClock.now < catchUp {
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        killed = true
                        let closedPublisher = try await AMQPSupport.closeConnections(named: publisherName)
                        let closedConsumer = try await AMQPSupport.closeConnections(named: consumerName)
                        #expect(closedPublisher == 1)
                        #expect(closedConsumer == 1)
                    }
                }
                #expect(killed)
                await publisher.close()

                // Wait (bounded, as a safety net only) until every confirmed message was consumed.
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    let missing = confirmed.get.subtracting(received.get.keys)
                    if missing.isEmpty { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                await deliveries.stop()
                try await group.waitForAll()
            }

            let confirmedSet = confirmed.get
            let counts = received.get
            let missing = confirmedSet.subtracting(counts.keys)
            let duplicates = counts.values.reduce(0) { $0 + max($1 - 1, 0) }
            print(
                "AMQP kill: \(confirmedSet.count) confirmed, \(counts.count) distinct consumed, \(duplicates) duplicates,"
                    + " \(lostReports.get) publishes failed with connectionLost and were republished"
            )
            #expect(confirmedSet.count == total)
            #expect(missing.isEmpty, "confirmed but never consumed: \(missing.sorted().prefix(10))")
            #expect(lostReports.get > 0, "the publisher must report connectionLost for its unconfirmed messages")
        }
    }

    @Test("a delivery from a killed connection cannot be acked (staleDelivery); the broker redelivers it")
    func staleDelivery() async throws {
        let queue = AMQPSupport.uniqueName("stale")
        let consumerName = AMQPSupport.uniqueName("stale-con")
        try await AMQPSupport.withCleanup(queues: [queue]) {
            let topology = Topology(queues: [Topology.Queue(name: queue)])
            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-stale-pub"), topology: topology,
                logger: AMQPSupport.logger
            ) { try await $0.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 7)) }

            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: consumerName), logger: AMQPSupport.logger
            )
            let deliveries = consumer.consume(queue: queue, prefetch: 1)
            var first: Delivery?
            var redelivered: Delivery?
            for try await delivery in deliveries {
                if first == nil {
                    first = delivery
                    try await AMQPSupport.closeConnections(named: consumerName)
                } else {
                    redelivered = delivery
                    try await delivery.ack()
                    break
                }
            }
            await deliveries.stop()

            let original = try #require(first)
            let again = try #require(redelivered)
            await #expect { try await original.ack() } throws: { ($0 as? AMQPError)?.code == .staleDelivery }
            #expect(again.redelivered)
            #expect(AMQPSupport.number(of: again) == 7)
        }
    }

    @Test("heartbeat=2: idle for 7 s, the same connection stays up and the next publish succeeds")
    func heartbeatKeepsIdleConnection() async throws {
        let queue = AMQPSupport.uniqueName("heartbeat")
        let name = AMQPSupport.uniqueName("heartbeat-pub")
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: name, query: "heartbeat=2"),
                topology: Topology(queues: [Topology.Queue(name: queue, kind: .classic)]), logger: AMQPSupport.logger
            ) { publisher in
                try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 1))
                let before = try await AMQPSupport.connectionPIDs(named: name)
                try await Task.sleep(for: .seconds(7))
                try await publisher.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 2))
                let after = try await AMQPSupport.connectionPIDs(named: name)
                #expect(before.count == 1)
                #expect(before == after, "the connection was replaced: heartbeats were missed")
            }
            let status = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }
            #expect(status.messageCount == 2)
        }
    }

    @Test("heartbeat=2: an idle consumer keeps its connection for 7 s and then receives a new message")
    func heartbeatKeepsIdleConsumer() async throws {
        let queue = AMQPSupport.uniqueName("heartbeat-con")
        let name = AMQPSupport.uniqueName("heartbeat-con")
        let topology = Topology(queues: [Topology.Queue(name: queue, kind: .classic)])
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPSupport.withConnection { try await $0.declare(topology) }
            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: name, query: "heartbeat=2"), logger: AMQPSupport.logger
            )
            let deliveries = consumer.consume(queue: queue, prefetch: 1)
            try await withThrowingTaskGroup(of: (Int?, [String]).self) { group in
                group.addTask {
                    for try await delivery in deliveries {
                        try await delivery.ack()
                        // Read the connection list while still iterating (leaving the loop closes the consumer).
                        return (AMQPSupport.number(of: delivery), try await AMQPSupport.connectionPIDs(named: name))
                    }
                    return (nil, [])
                }
                try await Task.sleep(for: .seconds(1))
                let before = try await AMQPSupport.connectionPIDs(named: name)
                try await Task.sleep(for: .seconds(6))
                try await AMQPPublisher.withPublisher(
                    configuration: AMQPSupport.configuration(name: "test-heartbeat-con-pub"), logger: AMQPSupport.logger
                ) { try await $0.publish(AMQPSupport.message(exchange: "", routingKey: queue, number: 42)) }
                let (number, after) = try await group.next() ?? (nil, [])
                await deliveries.stop()
                #expect(number == 42)
                #expect(before.count == 1)
                #expect(before == after, "the consumer's connection was replaced: heartbeats were missed")
            }
        }
    }

    @Test("cancelling the iterating task cancels the consumer, still lets a delivered message be acked, then closes")
    func cancellationDrains() async throws {
        let queue = AMQPSupport.uniqueName("cancel")
        let topology = Topology(queues: [Topology.Queue(name: queue, kind: .classic)])
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPPublisher.withPublisher(
                configuration: AMQPSupport.configuration(name: "test-cancel-pub"), topology: topology,
                logger: AMQPSupport.logger
            ) { publisher in
                _ = try await publisher.publish(
                    batch: (1...3).map { AMQPSupport.message(exchange: "", routingKey: queue, number: $0) }
                )
            }
            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: "test-cancel-con"), logger: AMQPSupport.logger
            )
            let deliveries = consumer.consume(queue: queue, prefetch: 1)
            let held = Box<Delivery?>(nil)
            let iterating = Task {
                for try await delivery in deliveries {
                    held.withValue { $0 = delivery }
                    try await Task.sleep(for: .seconds(3_600))  // "processing", until cancelled
                }
            }
            while held.get == nil { try await Task.sleep(for: .milliseconds(20)) }
            iterating.cancel()
            _ = await iterating.result
            // Wait until the broker shows the consumer cancelled (basic.cancel sent)...
            var consumers: UInt32 = 1
            for _ in 0..<500 where consumers > 0 {
                consumers = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }.consumerCount
                if consumers > 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(consumers == 0)
            // ...yet the connection is still open for the delivery already handed out: its ack succeeds.
            let delivery = try #require(held.get)
            try await delivery.ack()
            await deliveries.stop()

            let status = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }
            #expect(status.messageCount == 2)  // the acked one is gone; the others were never delivered or returned
            #expect(status.consumerCount == 0)
        }
    }

    @Test("wrong password → authenticationFailed, and the password is in no message")
    func wrongPassword() async throws {
        var configuration = try AMQPSupport.configuration(name: "test-wrong-password")
        configuration.password = "Wr0ngPassw0rd-\(UUID().uuidString)"
        let password = configuration.password
        await #expect {
            _ = try await AMQPConnection.connect(configuration: configuration, logger: AMQPSupport.logger)
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .authenticationFailed && error.replyCode == 403
                && !error.description.contains(password) && !error.debugDescription.contains(password)
        }
    }

    @Test("closed port 127.0.0.1:1 → brokerUnreachable")
    func closedPort() async throws {
        let configuration = try AMQPConfiguration(url: "amqp://huitong:huitong@127.0.0.1:1/huitong?connection_timeout=2000")
        await #expect {
            _ = try await AMQPConnection.connect(configuration: configuration, logger: AMQPSupport.logger)
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .brokerUnreachable && error.description.contains("127.0.0.1:1")
        }
    }

    @Test("amqps:// to the broker's plain AMQP port → tlsFailed")
    func tlsAgainstPlainPort() async throws {
        let plain = try AMQPConfiguration(url: AMQPSupport.url)
        var configuration = plain
        configuration.tls = AMQPConfiguration.TLS(verifyPeer: false)
        configuration.connectionTimeout = .seconds(5)
        await #expect {
            _ = try await AMQPConnection.connect(configuration: configuration, logger: AMQPSupport.logger)
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .tlsFailed && !error.description.contains(plain.password + "@")
        }
    }

    @Test("unknown vhost → vhostNotFound")
    func unknownVhost() async throws {
        var configuration = try AMQPSupport.configuration(name: "test-vhost")
        configuration.vhost = AMQPSupport.uniqueName("no-such-vhost")
        let vhost = configuration.vhost
        await #expect {
            _ = try await AMQPConnection.connect(configuration: configuration, logger: AMQPSupport.logger)
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .vhostNotFound && error.replyCode == 530 && error.description.contains(vhost)
        }
    }

    @Test("deleting the queue under a consumer ends its sequence with a 404 after one resubscribe attempt")
    func queueDeletedUnderConsumer() async throws {
        let queue = AMQPSupport.uniqueName("deleted")
        try await AMQPSupport.withCleanup(queues: [queue]) {
            try await AMQPSupport.withConnection {
                try await $0.declare(Topology(queues: [Topology.Queue(name: queue, kind: .classic)]))
            }
            let consumer = AMQPConsumer(
                configuration: try AMQPSupport.configuration(name: "test-deleted-con"), logger: AMQPSupport.logger
            )
            let deliveries = consumer.consume(queue: queue)
            var consumers: UInt32 = 0
            for _ in 0..<500 where consumers == 0 {
                consumers = try await AMQPSupport.withConnection { try await $0.queueStatus(queue) }.consumerCount
                if consumers == 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(consumers == 1)
            try await AMQPSupport.withConnection { try await $0.deleteQueue(queue) }
            await #expect {
                for try await _ in deliveries {}
            } throws: { ($0 as? AMQPError)?.replyCode == 404 }
        }
    }

    @Test("a consumer whose first connection fails ends its sequence with that error")
    func consumerFirstFailure() async throws {
        let consumer = AMQPConsumer(
            configuration: try AMQPSupport.configuration(name: "test-consume-missing"), logger: AMQPSupport.logger
        )
        let deliveries = consumer.consume(queue: AMQPSupport.uniqueName("absent"))
        await #expect {
            for try await _ in deliveries {}
        } throws: { ($0 as? AMQPError)?.replyCode == 404 }
    }
}
