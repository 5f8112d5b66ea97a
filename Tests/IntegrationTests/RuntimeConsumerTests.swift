import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import Testing

@Suite("Runtime consumer (real RabbitMQ and PostgreSQL)")
struct RuntimeConsumerTests {
    /// A database of its own (`isolated`): only this test's outbox rows and relay exist there, so every event must
    /// be published exactly once, in order per key.
    @Test func happyPathHandlesEveryMessageOnceInOrderPerKeyAndPublishesTheEvents() async throws {
        try await RuntimeHarness.with(label: "happy", isolated: true) { harness in
            let keys = (0..<10).map { "k\($0)" }
            var envelopes: [Envelope] = []
            for n in 0..<30 { for key in keys { envelopes.append(try harness.envelope(key: key, n: n)) } }
            try await harness.publish(envelopes)
            // The production shape: the relay's publisher runs as the group's first service and closes last.
            let relayPublisher = AMQPPublisher(configuration: harness.amqp, logger: RuntimeSupport.logger)
            var events: [(messageID: String, envelope: Envelope?)] = []
            try await harness.running([
                PublisherService(relayPublisher), harness.relay(publisher: relayPublisher), harness.consumerService(),
            ]) {
                try await RuntimeSupport.expectEventually { try await harness.effects().rows >= 300 }
                try await RuntimeSupport.expectEventually {
                    try await harness.pool.query(
                        "SELECT 1 FROM hub.outbox WHERE producer = \(harness.queue) AND sent_at IS NULL LIMIT 1"
                    ).rows.isEmpty
                }
                events = try await harness.readEvents(distinct: 300)
            }
            let effects = try await harness.effects()
            #expect(effects.rows == 300)
            #expect(effects.distinct == 300)
            // Per key, effects were recorded in publish order.
            let misordered = try await harness.pool.query(
                """
                SELECT count(*)::int8 FROM (SELECT n, lag(n) OVER (PARTITION BY key ORDER BY seq) AS previous \
                FROM \(harness.schema).effects) ordered WHERE previous IS NOT NULL AND n <= previous
                """
            ).rows[0].decode(Int64.self, at: 0)
            #expect(misordered == 0)
            let outbox = try await harness.pool.query(
                "SELECT count(*)::int8, count(sent_at)::int8 FROM hub.outbox WHERE producer = \(harness.queue)"
            ).rows[0]
            #expect(try outbox.decode(Int64.self, at: 0) == 300)
            #expect(try outbox.decode(Int64.self, at: 1) == 300)
            #expect(try await harness.depth(harness.queue) == 0)
            // Every input caused exactly one event, published once, and a key's events arrived in order.
            let causes = events.compactMap { $0.envelope?.causationID?.uuidString.lowercased() }
            #expect(events.count == 300, "deliveries read from \(harness.eventsQueue)")
            #expect(Set(events.map(\.messageID)).count == 300)
            #expect(Set(causes) == Set(envelopes.map { $0.id.uuid.uuidString.lowercased() }))
            var lastN: [String: Int] = [:]
            var outOfOrder = 0
            for event in events {
                guard let data = event.envelope?.data, let key = data["key"]?.stringValue,
                    case .number(let number) = data["n"], let n = number.intValue
                else { continue }
                if let last = lastN[key], n <= last { outOfOrder += 1 }
                lastN[key] = n
            }
            #expect(outOfOrder == 0)
            #expect(try await harness.depth(harness.eventsQueue) == 0)
        }
    }

    @Test func duplicatesInOneBatchAndAcrossBatchesHaveOneEffect() async throws {
        try await RuntimeHarness.with(label: "dup") { harness in
            let first = try harness.envelope(key: "a", n: 1)
            let second = try harness.envelope(key: "b", n: 2)
            // Same id three times back to back (one batch: large wait), and a second message twice.
            try await harness.publish([first, first, first, second, second])
            try await harness.running([harness.consumerService(maximumBatchWait: .milliseconds(300), lanes: 1)]) {
                try await RuntimeSupport.expectEventually { try await harness.effects().distinct == 2 }
                // Across batches: the same ids again, after they were handled.
                try await harness.publish([first, second])
                try await RuntimeSupport.expectEventually { try await harness.depth(harness.queue) == 0 }
                let marker = try harness.envelope(key: "c", n: 3)
                try await harness.publish([marker])
                try await RuntimeSupport.expectEventually { try await harness.effects().distinct == 3 }
            }
            let effects = try await harness.effects()
            #expect(effects.rows == 3)
            #expect(effects.distinct == 3)
        }
    }

    @Test func transientFailuresGoThroughEveryRetryTierThenPark() async throws {
        try await RuntimeHarness.with(label: "retry", retryDelays: [200, 400]) { harness in
            let failing = try harness.envelope(key: "r", n: 1, mode: "transient")
            try await harness.publish([failing])
            try await harness.running([harness.drainer(), harness.consumerService()]) {
                try await RuntimeSupport.expectEventually { try await harness.parked().count == 1 }
            }
            let parked = try await harness.parked()
            #expect(parked.count == 1)
            #expect(parked.first?.messageID == failing.id.description)
            #expect(parked.first?.reason == "retriesExhausted")
            #expect(parked.first?.attempts == 3)
            #expect(parked.first?.errorCode == "test-busy")
            // The savepoint rolled back every attempt's row.
            #expect(try await harness.effects().rows == 0)
            let row = try await harness.pool.query(
                """
                SELECT original_exchange, original_routing_key, first_failed_at <= last_failed_at, \
                headers ? 'x-huitong-first-failure' FROM hub.parked WHERE queue = \(harness.queue)
                """
            ).rows[0]
            #expect(try row.decode(String.self, at: 0) == "")
            #expect(try row.decode(String.self, at: 1) == harness.queue)
            #expect(try row.decode(Bool.self, at: 2))
            #expect(try row.decode(Bool.self, at: 3))
            #expect(try await harness.depth(harness.queue) == 0)
        }
    }

    @Test(arguments: [true, false])
    func permanentFailureParksAtOnceWithoutRollingBackItsBatchMates(optimistic: Bool) async throws {
        try await RuntimeHarness.with(label: "perm") { harness in
            var envelopes: [Envelope] = []
            for n in 0..<10 { envelopes.append(try harness.envelope(key: "p", n: n, mode: n == 4 ? "permanent" : nil)) }
            try await harness.publish(envelopes)
            try await harness.running([
                harness.drainer(),
                harness.consumerService(maximumBatchWait: .milliseconds(300), lanes: 1, optimistic: optimistic),
            ]) {
                try await RuntimeSupport.expectEventually { try await harness.parked().count == 1 }
                try await RuntimeSupport.expectEventually { try await harness.effects().rows == 9 }
            }
            let parked = try await harness.parked()
            #expect(parked.map(\.reason) == ["permanentFailure"])
            #expect(parked.first?.attempts == 1)
            #expect(parked.first?.errorCode == "test-refused")
            #expect(parked.first?.messageID == envelopes[4].id.description)
            let effects = try await harness.effects()
            #expect(effects.rows == 9)
            #expect(effects.distinct == 9)
        }
    }

    /// A handler that swallows a failed statement aborts the transaction; the runtime pins that on its message (retried,
    /// then parked) and its batch-mates are handled.
    @Test(arguments: [true, false])
    func aHandlerThatSwallowsASQLErrorDoesNotPoisonItsBatch(optimistic: Bool) async throws {
        try await RuntimeHarness.with(label: "swallow", retryDelays: [200, 400]) { harness in
            var envelopes: [Envelope] = []
            for n in 0..<10 { envelopes.append(try harness.envelope(key: "w", n: n, mode: n == 3 ? "swallow" : nil)) }
            try await harness.publish(envelopes)
            try await harness.running([
                harness.drainer(),
                harness.consumerService(maximumBatchWait: .milliseconds(300), lanes: 1, optimistic: optimistic),
            ]) {
                try await RuntimeSupport.expectEventually { try await harness.parked().count == 1 }
                try await RuntimeSupport.expectEventually { try await harness.effects().rows == 9 }
            }
            let parked = try await harness.parked()
            #expect(parked.map(\.reason) == ["retriesExhausted"])
            #expect(parked.first?.messageID == envelopes[3].id.description)
            #expect(parked.first?.attempts == 3)
            let effects = try await harness.effects()
            #expect(effects.rows == 9)
            #expect(effects.distinct == 9)
            #expect(try await harness.depth(harness.queue) == 0)
        }
    }

    /// Issue #3 item 9: each kind of bad input is parked with its reason, and a good message right behind it is
    /// still handled.
    @Test func badInputIsParkedWithTheRightReasonAndDoesNotStopTheConsumer() async throws {
        try await RuntimeHarness.with(label: "bad") { harness in
            let good = try (0..<5).map { try harness.envelope(key: "g\($0)", n: $0) }
            let valid = String(decoding: try harness.envelope(key: "x", n: 1).encode(), as: UTF8.self)
            let unknownType = valid.replacingOccurrences(of: ".counter.increment.v1", with: ".counter.unknown.v1")
            let wrongSchema = String(decoding: try Envelope(
                source: "urn:huitong:test", type: MessageType(harness.handler.incrementType),
                dataSchema: "https://huitong.example/schemas/test.json",
                data: ["key": .number(JSONNumber(5)), "n": .string("five")]).encode(), as: UTF8.self)
            let withoutID = try removingID(from: harness.envelope(key: "y", n: 2))
            let bad: [(String, [UInt8])] = [
                ("notJSON", Array("this is not json; account 6222020200112233445".utf8)),
                ("tooLarge", Array(repeating: UInt8(ascii: " "), count: 2_048) + Array(valid.utf8)),
                ("unknownType", Array(unknownType.utf8)),
                ("schemaViolation", Array(wrongSchema.utf8)),
                ("missingMessageID", withoutID),
            ]
            for (index, (_, body)) in bad.enumerated() {
                try await harness.publishRaw(body, messageID: "bad-\(index)")
                try await harness.publish([good[index]])
            }
            let logs = StoreLogCapture()
            try await harness.running([
                harness.drainer(), harness.consumerService(maximumBodyBytes: 2_048, logger: logs.logger),
            ]) {
                try await RuntimeSupport.expectEventually { try await harness.parked().count == 5 }
                try await RuntimeSupport.expectEventually { try await harness.effects().rows == 5 }
            }
            let parked = try await harness.parked()
            let reasons = Dictionary(uniqueKeysWithValues: parked.compactMap { record in
                record.messageID.map { ($0, record.reason) }
            })
            for (index, (reason, _)) in bad.enumerated() {
                #expect(reasons["bad-\(index)"] == reason, "bad input #\(index) should be parked as \(reason)")
            }
            #expect(parked.allSatisfy { $0.attempts == 1 })
            // Logs say which message was parked and why, and never carry a body.
            let entries = logs.recorded
            #expect(entries.contains { $0.text.contains("parking message") && $0.text.contains("hub.message.id=bad-0") })
            #expect(!entries.contains { $0.text.contains("6222020200112233445") || $0.text.contains("\"data\"") })
            #expect(try await harness.effects().distinct == 5)
            #expect(try await harness.depth(harness.queue) == 0)
        }
    }

    @Test func gracefulShutdownMidStreamLosesNothing() async throws {
        try await RuntimeHarness.with(label: "stop") { harness in
            let total = 3_000
            let envelopes = try (0..<total).map { try harness.envelope(key: "s\($0 % 50)", n: $0) }
            try await harness.publish(envelopes)
            try await harness.running([harness.consumerService(batchSize: 16)]) {
                try await RuntimeSupport.expectEventually { try await harness.effects().rows >= 200 }
            }
            // Everything is either handled (and acked: not in the queue) or still in the queue, exactly once.
            let effects = try await harness.effects()
            #expect(effects.rows == effects.distinct)
            var depth = 0
            try await RuntimeSupport.expectEventually {
                depth = try await harness.depth(harness.queue)
                return depth + effects.rows == total
            }
            #expect(depth + effects.rows == total)
            print("graceful shutdown: \(effects.rows) handled and acked, \(depth) left in the queue, of \(total)")
        }
    }

    /// The database connections die again and again under load (as in a PostgreSQL restart): batches are retried
    /// with their deliveries held, and every message still has exactly one effect; nothing is parked.
    @Test func databaseConnectionsKilledMidStreamLoseNothingAndParkNothing() async throws {
        try await RuntimeHarness.with(label: "pgkill") { harness in
            let total = 2_000
            let envelopes = try (0..<total).map { try harness.envelope(key: "k\($0 % 40)", n: $0) }
            try await harness.publish(envelopes)
            // The consumer's own pool, whose connections are killed; the harness's pool observes.
            let victimName = "huitong-runtime-victim-\(harness.domain)"
            let victim = PostgresPool(
                configuration: try RuntimeSupport.configuration(database: harness.database, applicationName: victimName), logger: RuntimeSupport.logger)
            var kills = 0
            try await harness.running([harness.drainer(), harness.consumerService(batchSize: 32, pool: victim)]) {
                while try await harness.effects().rows < total && kills < 10 {
                    try await Task.sleep(for: .milliseconds(150))
                    let killed = try await harness.pool.query(
                        """
                        SELECT count(pg_terminate_backend(pid))::int8 FROM pg_stat_activity \
                        WHERE application_name = \(victimName)
                        """
                    ).rows[0].decode(Int64.self, at: 0)
                    if killed > 0 { kills += 1 }
                }
                try await RuntimeSupport.expectEventually(timeout: .seconds(120)) {
                    try await harness.effects().rows >= total
                }
            }
            await victim.close()
            let effects = try await harness.effects()
            #expect(kills > 0)
            #expect(effects.rows == total)
            #expect(effects.distinct == total)
            #expect(try await harness.parked().isEmpty)
            #expect(try await harness.depth(harness.queue) == 0)
            #expect(try await harness.depth(harness.consumer.parkingQueueName) == 0)
            print("database kills: \(kills) rounds of killed connections, \(effects.rows) effects for \(total) messages")
        }
    }

    /// The broker closes the consumer's connection mid-stream: the consumer reconnects, the deliveries it could not
    /// ack are redelivered and absorbed by the inbox.
    @Test func brokerConnectionClosedMidStreamLosesNothing() async throws {
        try await RuntimeHarness.with(label: "amqpkill") { harness in
            let total = 2_000
            let envelopes = try (0..<total).map { try harness.envelope(key: "k\($0 % 40)", n: $0) }
            try await harness.publish(envelopes)
            var closed = 0
            try await harness.running([harness.drainer(), harness.consumerService(batchSize: 32)]) {
                try await RuntimeSupport.expectEventually { try await harness.effects().rows >= 300 }
                closed = try await AMQPSupport.closeConnections(named: harness.amqp.connectionName ?? "")
                try await RuntimeSupport.expectEventually(timeout: .seconds(120)) {
                    try await harness.effects().rows >= total
                }
                try await RuntimeSupport.expectEventually { try await harness.depth(harness.queue) == 0 }
            }
            let effects = try await harness.effects()
            #expect(closed > 0)
            #expect(effects.rows == total)
            #expect(effects.distinct == total)
            #expect(try await harness.parked().isEmpty)
        }
    }

    @Test(.serialized, arguments: [true, false])
    func throughputOfAFiveThousandMessageRun(optimistic: Bool) async throws {
        try await RuntimeHarness.with(label: "speed") { harness in
            let total = 5_000
            let envelopes = try (0..<total).map { try harness.envelope(key: "k\($0 % 100)", n: $0) }
            try await harness.publish(envelopes)
            let start = ContinuousClock.now
            try await harness.running([harness.consumerService(optimistic: optimistic)]) {
                try await RuntimeSupport.expectEventually(timeout: .seconds(300)) {
                    try await harness.effects().rows >= total
                }
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let effects = try await harness.effects()
            #expect(effects.rows == total)
            #expect(effects.distinct == total)
            print(
                "runtime throughput (\(optimistic ? "optimistic batches" : "savepoint per message")): \(total) messages "
                    + "(batch 64, 2 lanes, one outbox event each) in "
                    + "\(String(format: "%.2f", seconds)) s = \(Int(Double(total) / seconds)) msgs/s")
        }
    }
}

/// The envelope's JSON without its `id` member.
private func removingID(from envelope: Envelope) throws -> [UInt8] {
    guard case .object(let object) = envelope.jsonValue else { return [] }
    return JSONValue.object(JSONObject(object.members.filter { $0.key != "id" }.map { ($0.key, $0.value) }))
        .canonicalBytes()
}
