import Foundation
import HubAMQP
import HubCore
import HubCrypto
import HubStore
import Testing

@testable import AuditSink

/// The sink against the real broker and database: every exchange, malformed bodies, crash and redelivery
/// (issue #5 items 1–2). Each test has its own queue and chain and counts only its own messages.
@Suite("Audit sink (RabbitMQ + PostgreSQL)", .serialized)
struct AuditSinkIntegrationTests {
    @Test("messages on hub.commands, hub.events and hub.dead are stored in arrival order with a valid chain")
    func threeExchangesInOrder() async throws {
        try await AuditTestSupport.withPool { pool in
            let queue = "tap.audit.test-\(UUID().uuidString.prefix(8).lowercased())"
            let chain = AuditTestSupport.unique("sink")
            let correlation = UUID()
            var messages: [AMQPMessage] = []
            for (index, exchange) in ["hub.commands", "hub.events", "hub.dead"].enumerated() {
                for n in 0..<10 {
                    let envelope = try AuditTestSupport.envelope(
                        type: index == 0 ? "test.audit.request.v1" : "test.audit.happened.v1", correlation: correlation,
                        data: ["n": .number(JSONNumber(index * 10 + n))])
                    messages.append(AMQPMessage(envelope: envelope, exchange: exchange, routingKey: "test.audit.\(chain)"))
                }
            }
            let published = messages
            let ids = messages.compactMap(\.properties.messageID)
            try await AuditTestSupport.withSink(queue: queue, chain: chain, pool: pool) {
                try await AuditTestSupport.publish(published)
                try await AuditTestSupport.eventually("30 records") {
                    try await AuditTestSupport.records(pool, chain: chain, messageIDs: ids).count >= 30
                }
            }
            let stored = try await AuditTestSupport.records(pool, chain: chain, messageIDs: ids)
            #expect(stored.count == 30)
            // One publisher on one channel: the broker keeps publish order into one queue.
            #expect(stored.map { $0.record.index.messageID ?? "" } == ids)
            #expect(stored.map(\.record.exchange) == messages.map(\.exchange))
            #expect(stored.allSatisfy { $0.record.malformed == nil && $0.record.index.correlationID == correlation.uuidString.lowercased() })
            let first = try #require(stored.first)
            #expect(first.record.body == messages[0].body, "a body without sensitive fields is stored as received")
            let properties = try JSONValue.parse(first.record.properties)
            #expect(properties["deliveryMode"] == .number(JSONNumber(2)))
            let report = try await AuditVerifier(store: AuditStore(pool: pool), trustedKey: nil).verify(chain: chain)
            #expect(report.isIntact, "\(report.lines)")
        }
    }

    @Test("a malformed body is stored, flagged and sealed; an invalid envelope is flagged")
    func malformedStored() async throws {
        try await AuditTestSupport.withPool { pool in
            let queue = "tap.audit.test-\(UUID().uuidString.prefix(8).lowercased())"
            let chain = AuditTestSupport.unique("malformed")
            let garbage = AMQPMessage(
                exchange: "hub.commands", routingKey: "test.audit.garbage", body: Array("not json {".utf8),
                properties: .init(messageID: "\(chain)-garbage"), mandatory: false)
            let invalid = AMQPMessage(
                exchange: "hub.events", routingKey: "test.audit.invalid", body: Array("{\"id\":\"\(chain)-invalid\",\"type\":\"t.a.b.v1\"}".utf8),
                properties: .init(messageID: "\(chain)-invalid"), mandatory: false)
            try await AuditTestSupport.withSink(queue: queue, chain: chain, pool: pool) {
                try await AuditTestSupport.publish([garbage, invalid])
                try await AuditTestSupport.eventually("2 records") {
                    try await AuditTestSupport.records(pool, chain: chain, messageIDs: ["\(chain)-garbage", "\(chain)-invalid"]).count >= 2
                }
            }
            let stored = try await AuditTestSupport.records(pool, chain: chain, messageIDs: ["\(chain)-garbage", "\(chain)-invalid"])
            let notJSON = try #require(stored.first { $0.record.routingKey == "test.audit.garbage" })
            #expect(notJSON.record.malformed?.hasPrefix("notJSON") == true)
            #expect(notJSON.record.bodySealed)
            #expect(notJSON.record.bodySM3 == (try SM3.hash(data: garbage.body).bytes))
            let reader = AuditReader(pool: pool, keyring: try AuditTestSupport.keyring())
            #expect(reader.view(notJSON, unmask: true).bodyText == "not json {")
            #expect(reader.view(notJSON, unmask: false).bodyText?.hasPrefix("[sealed malformed body") == true)
            let bad = try #require(stored.first { $0.record.routingKey == "test.audit.invalid" })
            #expect(bad.record.malformed?.hasPrefix("invalidEnvelope") == true)
            #expect(bad.record.index.messageType == "t.a.b.v1", "the index is taken even from an invalid envelope")
            #expect(!bad.record.bodySealed)
        }
    }

    @Test("a crash after commit and before the ack: the redelivered copies are stored as repeats, the chain stays valid")
    func crashAndRedelivery() async throws {
        try await AuditTestSupport.withPool { pool in
            let queue = "tap.audit.test-\(UUID().uuidString.prefix(8).lowercased())"
            let chain = AuditTestSupport.unique("crash")
            let messages = (0..<20).map { n in
                AMQPMessage(
                    exchange: "hub.events", routingKey: "test.audit.crash",
                    body: Array("{\"n\":\(n)}".utf8), properties: .init(messageID: "\(chain)-\(n)"), mandatory: false)
            }
            let ids = messages.compactMap(\.properties.messageID)
            // First sink: commits one batch, then "crashes" without acknowledging it.
            try await AuditTestSupport.withSink(queue: queue, chain: chain, pool: pool, batchSize: 8, keepQueue: true, crashAfter: 1) {
                try await AuditTestSupport.publish(messages)
                try await AuditTestSupport.eventually("the first batch") {
                    try await !AuditTestSupport.records(pool, chain: chain, messageIDs: ids).isEmpty
                }
            }
            let firstBatch = try await AuditTestSupport.records(pool, chain: chain, messageIDs: ids)
            #expect(!firstBatch.isEmpty && firstBatch.count <= 8)
            // Second sink: everything arrives (again); nothing is lost, the committed ones come back as repeats.
            try await AuditTestSupport.withSink(queue: queue, chain: chain, pool: pool, batchSize: 8) {
                try await AuditTestSupport.eventually("every message once plus the repeats") {
                    let stored = try await AuditTestSupport.records(pool, chain: chain, messageIDs: ids)
                    return Set(stored.compactMap(\.record.index.messageID)).count == 20
                        && stored.count >= 20 + firstBatch.count
                }
            }
            let stored = try await AuditTestSupport.records(pool, chain: chain, messageIDs: ids)
            let originals = stored.filter { $0.repeatOf == nil }
            #expect(originals.count == 20, "each message has exactly one original record")
            let repeats = stored.filter { $0.repeatOf != nil }
            #expect(repeats.count == firstBatch.count)
            #expect(repeats.allSatisfy { $0.record.redelivered })
            for copy in repeats {
                let original = try #require(originals.first { $0.record.sequence == copy.repeatOf })
                #expect(original.record.index.messageID == copy.record.index.messageID)
            }
            let report = try await AuditVerifier(store: AuditStore(pool: pool), trustedKey: nil).verify(chain: chain)
            #expect(report.isIntact, "\(report.lines)")
            // Queries hide the broker's copies unless asked.
            let page = try await AuditReader(pool: pool, keyring: nil).query(
                AuditQuery(chain: chain, messageType: nil, limit: 1000), as: .init(name: "test"))
            let mine = Set(ids)
            #expect(page.records.filter { mine.contains($0.record.index.messageID ?? "") }.count == 20)
        }
    }

    @Test("ingest rate of the sink vs PostgreSQL's batched COPY on this machine (printed, not asserted)")
    func ingestRate() async throws {
        try await AuditTestSupport.withPool { pool in
            let queue = "tap.audit.test-\(UUID().uuidString.prefix(8).lowercased())"
            let chain = AuditTestSupport.unique("rate")
            let count = 5_000
            let correlation = UUID()
            let messages = try (0..<count).map { n in
                AMQPMessage(
                    envelope: try AuditTestSupport.envelope(
                        type: "test.audit.happened.v1", correlation: correlation, data: ["n": .number(JSONNumber(n))]),
                    exchange: "hub.events", routingKey: "test.audit.rate")
            }
            // Publish into the queue first, then measure only the sink draining it.
            let consumer = AuditSinkService.consumer(queue: queue, pattern: AuditTestSupport.testPattern)
            let connection = try await AMQPConnection.connect(configuration: try AuditTestSupport.amqp("rate-admin"), logger: AuditTestSupport.logger)
            try await connection.declare(Topology.hub(consumers: [consumer]))
            await connection.close()
            try await AuditTestSupport.publish(messages)
            let start = ContinuousClock.now
            try await AuditTestSupport.withSink(queue: queue, chain: chain, pool: pool, batchSize: 256) {
                let flow = correlation.uuidString.lowercased()
                try await AuditTestSupport.eventually(timeout: .seconds(300), "\(count) records") {
                    try await pool.query(
                        "SELECT count(*)::bigint AS n FROM audit.records WHERE correlation_id = \(flow) AND chain = \(chain)"
                    ).rows[0].decode(Int64.self, column: "n") >= Int64(count)
                }
            }
            let sinkElapsed = ContinuousClock.now - start
            let sinkSeconds = Double(sinkElapsed.components.seconds) + Double(sinkElapsed.components.attoseconds) / 1e18
            // PostgreSQL alone: the same rows COPYed in batches of 256 into a scratch table.
            let rows = try await AuditTestSupport.records(pool, chain: chain, messageIDs: messages.prefix(256).compactMap(\.properties.messageID))
            let scratch = try SQLIdentifier("audit_rate_\(UUID().uuidString.prefix(8).lowercased())")
            // Its own column list, not LIKE audit.records: LIKE locks the partitioned parent, which deadlocked with
            // another test's partition drop running at the same time.
            try await pool.query(
                """
                CREATE TABLE public.\(scratch) (chain text NOT NULL, seq bigint NOT NULL, received_at timestamptz NOT NULL,
                    kind text NOT NULL, exchange text NOT NULL, routing_key text NOT NULL, properties bytea NOT NULL,
                    body bytea NOT NULL, body_sm3 bytea NOT NULL, body_sealed boolean NOT NULL, redelivered boolean NOT NULL,
                    prev_hash bytea NOT NULL, hash bytea NOT NULL)
                """)
            let copyStart = ContinuousClock.now
            for _ in 0..<(count / 256) {
                try await pool.withTransaction { transaction in
                    try await transaction.copyFrom(
                        table: scratch, schema: SQLIdentifier("public"),
                        columns: try ["chain", "seq", "received_at", "kind", "exchange", "routing_key", "properties", "body",
                            "body_sm3", "body_sealed", "redelivered", "prev_hash", "hash"].map { try SQLIdentifier($0) },
                        rows: rows.map { row -> [any PostgresEncodable] in
                            [row.record.chain, row.record.sequence, AuditTime.postgres(micros: row.record.receivedMicros),
                             row.record.kind.name, row.record.exchange, row.record.routingKey, row.record.properties,
                             row.record.body, row.record.bodySM3, row.record.bodySealed, row.record.redelivered,
                             row.record.previousHash, row.record.hash]
                        })
                }
            }
            let copyElapsed = ContinuousClock.now - copyStart
            let copySeconds = Double(copyElapsed.components.seconds) + Double(copyElapsed.components.attoseconds) / 1e18
            let copied = (count / 256) * 256
            // PostgreSQL by itself (no client encoding): the same row shape generated server-side, one statement.
            let serverStart = ContinuousClock.now
            try await pool.query(
                """
                INSERT INTO public.\(scratch) (chain, seq, received_at, kind, exchange, routing_key, properties, body,
                    body_sm3, body_sealed, redelivered, prev_hash, hash)
                SELECT 'x', g, now(), 'message', 'hub.events', 'test.audit.rate', r.properties, r.body, r.body_sm3,
                    false, false, r.prev_hash, r.hash
                FROM generate_series(1, \(count)) AS g,
                    (SELECT properties, body, body_sm3, prev_hash, hash FROM public.\(scratch) LIMIT 1) AS r
                """)
            let serverElapsed = ContinuousClock.now - serverStart
            let serverSeconds = Double(serverElapsed.components.seconds) + Double(serverElapsed.components.attoseconds) / 1e18
            print("AUDIT INGEST: sink stored \(count) messages in \(String(format: "%.2f", sinkSeconds)) s = "
                + "\(Int(Double(count) / sinkSeconds)) msgs/s (batch 256, including start-up); PostgreSQL COPY of "
                + "\(copied) rows in batches of 256 through HubStore: \(Int(Double(copied) / copySeconds)) rows/s; "
                + "server-side INSERT … SELECT of \(count) rows: \(Int(Double(count) / serverSeconds)) rows/s")
            try await pool.query("DROP TABLE public.\(scratch)")
            let report = try await AuditVerifier(store: AuditStore(pool: pool), trustedKey: nil).verify(chain: chain)
            #expect(report.isIntact, "\(report.lines)")
        }
    }
}
