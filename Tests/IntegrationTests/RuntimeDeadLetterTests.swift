import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import Testing

@Suite("Runtime dead letters (real RabbitMQ and PostgreSQL)")
struct RuntimeDeadLetterTests {
    @Test func listShowRedrivePurgeRoundTrip() async throws {
        try await RuntimeHarness.with(label: "dlq") { harness in
            let refused = try (0..<3).map { try harness.envelope(key: "d\($0)", n: $0, mode: "permanent") }
            try await harness.publish(refused)
            try await harness.running([harness.drainer(), harness.consumerService()]) {
                try await RuntimeSupport.expectEventually { try await harness.parked().count == 3 }
            }
            let deadLetters = DeadLetters(pool: harness.pool, publisher: harness.publisher, logger: RuntimeSupport.logger)

            // list with filters
            let all = try await deadLetters.list(filter: .init(queue: harness.queue))
            #expect(all.count == 3)
            #expect(Set(all.compactMap(\.messageID)) == Set(refused.map(\.id.description)))
            #expect(all.allSatisfy { $0.reason == .permanentFailure && $0.messageType == harness.handler.incrementType })
            #expect(try await deadLetters.list(filter: .init(queue: harness.queue, reason: .notJSON)).isEmpty)
            #expect(try await deadLetters.list(filter: .init(queue: harness.queue, type: "x.y.z.v1")).isEmpty)
            #expect(try await deadLetters.list(filter: .init(queue: harness.queue, limit: 2)).count == 2)
            #expect(try await deadLetters.list(filter: .init(queue: harness.queue, since: Date() + 3_600)).isEmpty)

            // show: body unchanged; JSON round trip; the summary has no body
            let first = try #require(all.first)
            let shown = try #require(try await deadLetters.show(id: first.id))
            let original = try #require(refused.first { $0.id.description == first.messageID })
            #expect(shown.body == original.encode())
            let decoded = try JSONDecoder().decode(ParkedMessage.self, from: JSONEncoder().encode(shown))
            #expect(decoded == shown)
            #expect(!shown.summary.contains("\"data\""))
            #expect(try await deadLetters.show(id: -1) == nil)

            // redrive one: published back to the original route with a fresh retry budget, marked, recorded
            let report = try await deadLetters.redrive(.ids([first.id]), actor: "test-operator")
            #expect(report.redriven == [first.id])
            #expect(report.failed.isEmpty)
            let consumer = AMQPConsumer(configuration: harness.amqp, logger: RuntimeSupport.logger)
            for try await delivery in consumer.consume(queue: harness.queue, prefetch: 1) {
                #expect(delivery.body == original.encode())
                #expect(delivery.properties.messageID == first.messageID)
                #expect(delivery.headers[RuntimeHeader.attempt] == nil)
                #expect(delivery.headers[RuntimeHeader.reason] == nil)
                try await delivery.ack()
                break
            }
            let afterRedrive = try await deadLetters.list(filter: .init(queue: harness.queue))
            #expect(afterRedrive.count == 2)
            let redriven = try #require(try await deadLetters.show(id: first.id))
            #expect(redriven.redrivenBy == "test-operator")
            #expect(redriven.redrivenAt != nil)

            // purge the rest
            let purged = try await deadLetters.purge(filter: .init(queue: harness.queue), actor: "test-operator")
            #expect(purged == 2)
            #expect(try await deadLetters.list(filter: .init(queue: harness.queue)).isEmpty)
            #expect(try await deadLetters.list(filter: .init(queue: harness.queue, includeRedriven: true)).count == 1)

            let actions = try await harness.pool.query(
                """
                SELECT action, actor, count, cardinality(message_ids) FROM hub.dlq_actions \
                WHERE queue = \(harness.queue) ORDER BY id
                """
            ).rows.map {
                (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1),
                 Int(try $0.decode(Int32.self, at: 2)), Int(try $0.decode(Int32.self, at: 3)))
            }
            #expect(actions.map(\.0) == ["redrive", "purge"])
            #expect(actions.allSatisfy { $0.1 == "test-operator" && $0.2 == $0.3 })
            #expect(actions.map(\.2) == [1, 2])
        }
    }

    @Test func brokerDeadLettersAreRecordedWithTheirReason() async throws {
        try await RuntimeHarness.with(label: "xdeath") { harness in
            let envelope = try harness.envelope(key: "z", n: 1)
            try await harness.publish([envelope])
            // A client rejects it without requeue: the quorum queue dead-letters it to hub.dead with x-death.
            let consumer = AMQPConsumer(configuration: harness.amqp, logger: RuntimeSupport.logger)
            for try await delivery in consumer.consume(queue: harness.queue, prefetch: 1) {
                try await delivery.reject(requeue: false)
                break
            }
            try await harness.running([harness.drainer()]) {
                try await RuntimeSupport.expectEventually { try await harness.parked().count == 1 }
            }
            let parked = try await harness.parked()
            #expect(parked.first?.reason == "rejected")
            #expect(parked.first?.messageID == envelope.id.description)
        }
    }

    /// The crash backstop: a message that keeps coming back (here: nacked with requeue, as after a crash) passes the
    /// quorum queue's delivery limit, and the broker dead-letters it; it is recorded as `deliveryLimit`.
    @Test func deliveryLimitDeadLettersAreRecorded() async throws {
        try await RuntimeHarness.with(label: "limit", deliveryLimit: 1) { harness in
            let envelope = try harness.envelope(key: "z", n: 1)
            try await harness.publish([envelope])
            let consumer = AMQPConsumer(configuration: harness.amqp, logger: RuntimeSupport.logger)
            var returns = 0
            for try await delivery in consumer.consume(queue: harness.queue, prefetch: 1) {
                try await delivery.nack(requeue: true)
                returns += 1
                if returns == 2 { break }  // The second return exceeds the limit of 1.
            }
            try await harness.running([harness.drainer()]) {
                try await RuntimeSupport.expectEventually { try await harness.parked().count == 1 }
            }
            let parked = try await harness.parked()
            #expect(parked.first?.reason == "deliveryLimit")
            #expect(parked.first?.errorCode == "delivery_limit")
            #expect(parked.first?.messageID == envelope.id.description)
            #expect(try await harness.depth(harness.queue) == 0)
        }
    }
}
