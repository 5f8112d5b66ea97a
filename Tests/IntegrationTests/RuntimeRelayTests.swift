import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import Synchronization
import Testing

@Suite("Runtime outbox relay (real RabbitMQ and PostgreSQL)")
struct RuntimeRelayTests {
    /// Inserts outbox rows as a consumer transaction would, `perKey` rows for each key, interleaved.
    private func insertRows(_ harness: RuntimeHarness, keys: [String], perKey: Int, notify: Bool) async throws
        -> [Envelope]
    {
        var envelopes: [Envelope] = []
        for n in 0..<perKey {
            for key in keys {
                envelopes.append(
                    try Envelope(
                        source: "urn:huitong:test", type: MessageType(harness.handler.incrementedType),
                        dataSchema: "https://huitong.example/schemas/test.json",
                        data: ["key": .string(key), "n": .number(JSONNumber(n))]))
            }
        }
        var start = 0
        while start < envelopes.count {
            let chunk = envelopes[start..<min(start + 200, envelopes.count)]
            try await harness.pool.withTransaction { transaction in
                for envelope in chunk {
                    let key = envelope.data["key"]?.stringValue ?? ""
                    let lane = Int32(OutboxTestLane.lane(for: key))
                    try await transaction.execute(
                        """
                        INSERT INTO hub.outbox (producer, aggregate_key, lane, exchange, routing_key, message_id, \
                        message_type, body) VALUES (\(harness.queue), \(key), \(lane), \
                        \(Topology.ExchangeName.events), \(envelope.routingKey), \(envelope.id.uuid), \
                        \(envelope.type.value), \(envelope.encode()))
                        """)
                }
                if notify { try await transaction.execute("SELECT pg_notify('hub_outbox', '')") }
            }
            start += chunk.count
        }
        return envelopes
    }

    private func unsent(_ harness: RuntimeHarness) async throws -> Int {
        Int(
            try await harness.pool.query(
                "SELECT count(*)::int8 FROM hub.outbox WHERE producer = \(harness.queue) AND sent_at IS NULL"
            ).rows[0].decode(Int64.self, at: 0))
    }

    @Test func relayWakesOnNotify() async throws {
        try await RuntimeHarness.with(label: "notify", isolated: true) { harness in
            // Polling every 10 minutes: only a NOTIFY can make the second row go out within the test.
            try await harness.running([harness.relay(pollInterval: .seconds(600))]) {
                _ = try await insertRows(harness, keys: ["first"], perKey: 1, notify: true)
                try await RuntimeSupport.expectEventually(timeout: .seconds(60)) { try await unsent(harness) == 0 }
                _ = try await insertRows(harness, keys: ["second"], perKey: 1, notify: true)
                try await RuntimeSupport.expectEventually(timeout: .seconds(60)) { try await unsent(harness) == 0 }
            }
            #expect(try await unsent(harness) == 0)
            #expect(try await RuntimeSupport.eventually { try await harness.depth(harness.eventsQueue) == 2 })
        }
    }

    @Test func gracefulShutdownFlushesWhatIsCommitted() async throws {
        try await RuntimeHarness.with(label: "flush", isolated: true) { harness in
            try await harness.running([harness.relay(pollInterval: .seconds(600))]) {
                // The first pass has run once the probe is out; then rows arrive with no NOTIFY and no poll due.
                _ = try await insertRows(harness, keys: ["probe"], perKey: 1, notify: true)
                try await RuntimeSupport.expectEventually { try await unsent(harness) == 0 }
                _ = try await insertRows(harness, keys: ["late-a", "late-b"], perKey: 5, notify: false)
            }
            // Shutdown made a last pass.
            #expect(try await unsent(harness) == 0)
            #expect(try await RuntimeSupport.eventually { try await harness.depth(harness.eventsQueue) == 11 })
        }
    }

    @Test func twoRelaysPublishEveryRowAtLeastOnceInOrderPerKey() async throws {
        try await RuntimeHarness.with(label: "relays", isolated: true) { harness in
            let keys = (0..<20).map { "key-\($0)" }
            let envelopes = try await insertRows(harness, keys: keys, perKey: 100, notify: false)
            let start = ContinuousClock.now
            let order = Dictionary(uniqueKeysWithValues: envelopes.map { ($0.id.description, $0) })
            try await AMQPPublisher.withPublisher(configuration: harness.amqp, logger: RuntimeSupport.logger) { second in
                try await harness.running([harness.relay(), harness.relay(publisher: second)]) {
                    try await RuntimeSupport.expectEventually { try await unsent(harness) == 0 }
                }
            }
            let elapsed = ContinuousClock.now - start
            // Read every event the two relays published (duplicates included).
            var seen: [String: Int] = [:]
            var lastN: [String: Int] = [:]
            var outOfOrder = 0
            for event in try await harness.readEvents(distinct: envelopes.count) {
                guard let envelope = order[event.messageID] else { continue }
                seen[event.messageID, default: 0] += 1
                let key = envelope.data["key"]?.stringValue ?? ""
                let n = envelope.data["n"].flatMap { if case .number(let number) = $0 { number.intValue } else { nil } } ?? -1
                // First deliveries of a key must come in n order (a duplicate may repeat an earlier one).
                if seen[event.messageID] == 1 {
                    if let last = lastN[key], n <= last { outOfOrder += 1 }
                    lastN[key] = n
                }
            }
            #expect(seen.count == envelopes.count)
            #expect(outOfOrder == 0)
            let duplicates = seen.values.reduce(0) { $0 + $1 - 1 }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                "two relays: \(envelopes.count) rows, \(seen.count) published, \(duplicates) duplicates "
                    + ", all sent in "
                    + "\(String(format: "%.2f", seconds)) s (≥ \(Int(Double(envelopes.count) / seconds)) rows/s, start-up included)")
        }
    }

    @Test func pruneDeletesOnlySentRowsPastTheRetention() async throws {
        try await RuntimeHarness.with(label: "prune") { harness in
            _ = try await insertRows(harness, keys: ["a", "b"], perKey: 3, notify: false)
            try await harness.pool.query(
                """
                UPDATE hub.outbox SET sent_at = now() - interval '8 days' \
                WHERE producer = \(harness.queue) AND aggregate_key = 'a'
                """)
            let relay = OutboxRelay(
                configuration: OutboxRelay.Configuration(name: harness.queue, pruneChunk: 1),
                pool: harness.pool, publisher: harness.publisher, logger: RuntimeSupport.logger)
            // Another test's relay may prune the `a` rows first; either way they must be gone afterwards.
            try await relay.prune()
            // Relays of other tests may publish the `b` rows meanwhile; sent only now, they stay.
            let remaining = try await harness.pool.query(
                "SELECT aggregate_key FROM hub.outbox WHERE producer = \(harness.queue)"
            ).rows.map { try $0.decode(String.self, at: 0) }
            #expect(remaining == ["b", "b", "b"])
        }
    }
}

extension RuntimeRelayTests {
    @Test func inboxPrunerForgetsOnlyIdsOlderThanTheWindow() async throws {
        try await RuntimeHarness.with(label: "inbox-prune") { harness in
            let old = UUID()
            let recent = UUID()
            try await harness.pool.query(
                """
                INSERT INTO hub.inbox (consumer, message_id, received_at) VALUES \
                (\(harness.queue), \(old), now() - interval '31 days'), (\(harness.queue), \(recent), now() - interval '29 days')
                """)
            let pruner = InboxPruner(
                configuration: InboxPruner.Configuration(window: .seconds(30 * 86_400), chunk: 1),
                pool: harness.pool, logger: RuntimeSupport.logger)
            // Other tests' rows are recent, so the pruner deletes at least ours and nothing recent.
            try await pruner.prune()
            let remaining = try await harness.pool.query(
                "SELECT message_id FROM hub.inbox WHERE consumer = \(harness.queue)"
            ).rows.map { try $0.decode(UUID.self, at: 0) }
            #expect(remaining == [recent])
        }
    }
}

/// The outbox lane of a key, as the runtime computes it (FNV-1a 64 modulo 64), for rows inserted by hand.
enum OutboxTestLane {
    static func lane(for key: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % 64)
    }
}
