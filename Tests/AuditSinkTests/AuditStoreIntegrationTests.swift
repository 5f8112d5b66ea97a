import Foundation
import HubCore
import HubCrypto
import HubStore
import Testing

@testable import AuditSink

/// Tampering with the stored chain, checkpoints, query, access records and retention against the real database
/// (issue #5 items 2–5 and 9). Each test writes its own chain.
@Suite("Audit store (PostgreSQL)", .serialized)
struct AuditStoreIntegrationTests {
    static func verify(_ pool: PostgresPool, _ chain: String, file: AuditCheckpointFile? = nil, key: SM2.PublicKey? = nil)
        async throws -> AuditVerificationReport
    {
        try await AuditVerifier(store: AuditStore(pool: pool), trustedKey: key).verify(chain: chain, checkpointFile: file)
    }

    @Test("concurrent appends to one chain never fork it: sequences have no gaps and links hold")
    func concurrentWriters() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("concurrent")
            let store = AuditStore(pool: pool)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { _ = try await AuditTestSupport.appendRecords(store, chain: chain, count: 25) } }
                try await group.waitForAll()
            }
            let head = try await store.head(chain: chain)
            #expect(head.sequence == 100)
            let report = try await Self.verify(pool, chain)
            #expect(report.isIntact, "\(report.lines)")
            #expect(report.checked == 100)
            // The four writers appended the same 25 messages: 25 originals, 75 marked as repeats of them.
            let repeats = try await pool.query(
                "SELECT count(*)::bigint AS n FROM audit.records WHERE chain = \(chain) AND repeat_of IS NOT NULL"
            ).rows[0].decode(Int64.self, column: "n")
            #expect(repeats == 75)
            // Fingerprints only serve to mark redeliveries; old ones are pruned.
            #expect(try await store.pruneFingerprints(chain: chain, olderThan: .zero) == 25)
        }
    }

    @Test("tamper: edit a body → edited at that record (R-AML-10 records must be unalterable)")
    func tamperEdit() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("edit")
            try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 12)
            try await pool.query("UPDATE audit.records SET body = convert_to('{\"i\":999}', 'UTF8') WHERE chain = \(chain) AND seq = 7")
            let report = try await Self.verify(pool, chain)
            #expect(report.breaks.first?.kind == .edited)
            #expect(report.breaks.first?.sequence == 7)
        }
    }

    @Test("tamper: delete a record → deleted, naming the gap")
    func tamperDelete() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("delete")
            try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 12)
            try await pool.query("DELETE FROM audit.records WHERE chain = \(chain) AND seq = 5")
            let report = try await Self.verify(pool, chain)
            #expect(report.breaks.first?.kind == .deleted)
            #expect(report.breaks.first?.sequence == 5)
        }
    }

    @Test("tamper: insert a correctly hashed forgery and renumber the rest → inserted at the forgery")
    func tamperInsert() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("insert")
            let records = try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 12)
            // The attacker knows the canonical form (it is public) and SM3 needs no key.
            let body = Array("{\"forged\":true}".utf8)
            let forged = try AuditRecord(
                chain: chain, sequence: 6, receivedMicros: records[4].receivedMicros, kind: .message,
                exchange: "hub.events", routingKey: "test.audit.record", properties: Array("{}".utf8), body: body,
                bodySM3: SM3.hash(data: body).bytes
            ).chained(after: records[4].hash)
            try await pool.query("UPDATE audit.records SET seq = seq + 1000000 WHERE chain = \(chain) AND seq >= 6")
            try await pool.query("UPDATE audit.records SET seq = seq - 999999 WHERE chain = \(chain) AND seq >= 1000000")
            try await pool.query(
                """
                INSERT INTO audit.records (chain, seq, received_at, kind, exchange, routing_key, properties, body, body_sm3,
                    body_sealed, redelivered, prev_hash, hash)
                VALUES (\(chain), 6, \(AuditTime.postgres(micros: forged.receivedMicros))::timestamptz, 'message', 'hub.events',
                    'test.audit.record', \(forged.properties), \(forged.body), \(forged.bodySM3), false, false,
                    \(forged.previousHash), \(forged.hash))
                """)
            let report = try await Self.verify(pool, chain)
            #expect(report.breaks.first?.kind == .inserted)
            #expect(report.breaks.first?.sequence == 6)
        }
    }

    @Test("tamper: swap two records' positions → reordered")
    func tamperReorder() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("reorder")
            try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 12)
            try await pool.query("UPDATE audit.records SET seq = -8 WHERE chain = \(chain) AND seq = 8")
            try await pool.query("UPDATE audit.records SET seq = 8 WHERE chain = \(chain) AND seq = 9")
            try await pool.query("UPDATE audit.records SET seq = 9 WHERE chain = \(chain) AND seq = -8")
            let report = try await Self.verify(pool, chain)
            #expect(report.breaks.first?.kind == .reordered)
            #expect(report.breaks.first?.sequence == 8)
        }
    }

    @Test("tamper: truncate the newest records after a checkpoint → caught by the exported checkpoint")
    func tamperTruncateAfterCheckpoint() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("truncate")
            let store = AuditStore(pool: pool)
            let signer = try AuditSigner(key: try SM2.PrivateKey())
            try await AuditTestSupport.appendRecords(store, chain: chain, count: 10)
            let checkpoint = try #require(try await AuditCheckpoints.create(store: store, chain: chain, signer: signer))
            #expect(checkpoint.headSequence == 10)
            #expect(checkpoint.isValid(publicKey: signer.key.publicKey))
            let exported = try await AuditCheckpoints.export(pool: pool, chain: chain, publicKey: signer.key.publicKey)
            let file = try AuditCheckpoints.read(exported)
            #expect(try await Self.verify(pool, chain, file: file, key: signer.key.publicKey).isIntact)

            // The attacker removes the last 3 records, rewinds the head and deletes the stored checkpoints.
            try await pool.query("DELETE FROM audit.records WHERE chain = \(chain) AND seq > 7")
            try await pool.query("DELETE FROM audit.checkpoints WHERE chain = \(chain)")
            #expect(try await Self.verify(pool, chain).isIntact, "without a checkpoint a clean truncation is invisible")
            let report = try await Self.verify(pool, chain, file: file, key: signer.key.publicKey)
            #expect(report.breaks.first?.kind == .truncated)
            #expect(report.breaks.first?.sequence == 8)

            // A forged checkpoint file (edited head) does not verify under the audit key.
            var forged = file
            forged.checkpoints[0].headSequence = 7
            let forgedReport = try await Self.verify(pool, chain, file: forged, key: signer.key.publicKey)
            #expect(forgedReport.breaks.first?.kind == .badCheckpoint)
        }
    }

    @Test("query by correlation id returns the flow in chain order, pages with a cursor, and every query is audited")
    func queryFlowAndAccessRecords() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("query")
            let store = AuditStore(pool: pool)
            let keyring = try AuditTestSupport.keyring()
            let intake = AuditIntake(keyring: keyring)
            let flow = UUID()
            let other = UUID()
            var expected: [String] = []
            for n in 0..<7 {
                let envelope = try AuditTestSupport.envelope(
                    type: "test.audit.step.v1", correlation: n % 2 == 0 ? flow : other, data: ["n": .number(JSONNumber(n))])
                if n % 2 == 0 { expected.append(envelope.id.description) }
                let message = IncomingMessage(exchange: "hub.events", routingKey: "test.audit.step", body: envelope.encode())
                try await store.append([try intake.prepare(message)], chain: chain)
            }
            let reader = AuditReader(store: store, keyring: keyring)
            let officer = AuditReader.Reader(name: "officer-wang")
            let first = try await reader.query(
                AuditQuery(chain: chain, correlationID: flow.uuidString.lowercased(), limit: 3), as: officer)
            #expect(first.records.count == 3)
            let cursor = try #require(first.nextCursor)
            let second = try await reader.query(
                AuditQuery(chain: chain, correlationID: flow.uuidString.lowercased(), cursor: cursor, limit: 3), as: officer)
            #expect(second.nextCursor == nil)
            let seen = (first.records + second.records).map { $0.record.index.messageID ?? "" }
            #expect(seen == expected)
            let sequences = (first.records + second.records).map(\.record.sequence)
            #expect(sequences == sequences.sorted())

            // Both queries are records of the chain, with who and what.
            let access = try await pool.query(
                "SELECT body FROM audit.records WHERE chain = \(chain) AND kind = 'access' ORDER BY seq"
            ).rows.map { try JSONValue.parse(try $0.decode([UInt8].self, column: "body")) }
            #expect(access.count == 2)
            #expect(access.allSatisfy { $0["reader"] == "officer-wang" && $0["action"] == "query" })
            #expect(access[0]["criteria"]?["correlationId"] == .string(flow.uuidString.lowercased()))
            #expect(access[0]["returned"] == .number(JSONNumber(3)))
            #expect(try await Self.verify(pool, chain).isIntact)

            // An export is recorded too, and covers what existed when it started.
            var exported: [AuditRecordView] = []
            let count = try await reader.export(AuditQuery(chain: chain, correlationID: flow.uuidString.lowercased()), as: officer) {
                exported.append($0)
            }
            #expect(count == 4)
            let exports = try await pool.query(
                "SELECT count(*)::bigint AS n FROM audit.records WHERE chain = \(chain) AND routing_key = 'audit.export'"
            ).rows[0].decode(Int64.self, column: "n")
            #expect(exports == 1)
            await #expect(throws: AuditError.self) {
                _ = try await reader.query(AuditQuery(chain: chain, cursor: "bogus"), as: officer)
            }
        }
    }

    @Test("masking by default, unmasking with audit:unmask, and key rotation that strands nothing")
    func maskingAndRotation() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("mask")
            let store = AuditStore(pool: pool)
            let v1 = try AuditTestSupport.keyring(1)
            let body = SensitiveFieldsTests.transferBody()
            let message = IncomingMessage(exchange: "hub.commands", routingKey: "payments.transfer.request", body: body)
            try await store.append([try AuditIntake(keyring: v1).prepare(message)], chain: chain)
            let v2 = try AuditTestSupport.keyring(2, previous: [1])
            try await store.append([try AuditIntake(keyring: v2).prepare(message)], chain: chain)

            let reader = AuditReader(store: store, keyring: v2)
            let masked = try await reader.query(AuditQuery(chain: chain, messageType: "payments.transfer.request.v1"), as: .init(name: "clerk"))
            #expect(masked.records.count == 2)
            #expect(masked.records.map(\.record.keyVersion) == [1, 2])
            for view in masked.records {
                #expect(view.body?["data"]?["creditor"]?["account"] == .string("***************0123"))
                #expect(!view.jsonValue.canonicalString.contains(SensitiveFieldsTests.account))
            }
            let unmasked = try await reader.query(
                AuditQuery(chain: chain, messageType: "payments.transfer.request.v1"), as: .init(name: "officer", canUnmask: true))
            for view in unmasked.records {
                #expect(view.body == (try JSONValue.parse(body)), "a record sealed under v\(view.record.keyVersion ?? 0) opens")
            }
            let access = try await pool.query(
                "SELECT body FROM audit.records WHERE chain = \(chain) AND kind = 'access' ORDER BY seq"
            ).rows.map { try JSONValue.parse(try $0.decode([UInt8].self, column: "body")) }
            #expect(access.map { $0["unmask"] } == [.bool(false), .bool(true)])
            #expect(try await Self.verify(pool, chain).isIntact)
        }
    }

    @Test("retention: an expired month is dropped and recorded, the chain still verifies; an unexpired one is refused")
    func retentionDrop() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("retention")
            let year = Int.random(in: 1980...2009)
            let month = Int.random(in: 1...12)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let old = calendar.date(from: DateComponents(year: year, month: month, day: 10, hour: 3))!
            let monthText = String(format: "%04d-%02d", year, month)
            // Records of an old month (the store's clock is injected), then new ones.
            try await AuditTestSupport.appendRecords(AuditStore(pool: pool, clock: { old }), chain: chain, count: 6)
            let store = AuditStore(pool: pool)
            try await AuditTestSupport.appendRecords(store, chain: chain, count: 4)
            let partitions = try await AuditRetention.list(pool: pool, retentionYears: 10)
            #expect(partitions.first { $0.month == monthText }?.isExpired == true)

            let current = AuditTime.month(micros: AuditTime.micros(Date()))
            await #expect(throws: AuditError.self) {
                try await AuditRetention.drop(store: store, month: current, retentionYears: 10, actor: "ops")
            }
            let results = try await AuditRetention.drop(store: store, month: monthText, retentionYears: 10, actor: "ops-li")
            let mine = try #require(results.first { $0.chain == chain })
            #expect(mine.firstSequence == 1 && mine.lastSequence == 6 && mine.count == 6)
            #expect(try await AuditRetention.list(pool: pool, retentionYears: 10).contains { $0.month == monthText } == false)
            let report = try await Self.verify(pool, chain)
            #expect(report.isIntact, "\(report.lines)")
            #expect(report.firstSequence == 7)
            // A checkpoint counts what is left: 4 records and the retention record, without scanning.
            let checkpoint = try await AuditCheckpoints.create(store: store, chain: chain, signer: try AuditSigner(key: try SM2.PrivateKey()))
            #expect(checkpoint?.headSequence == 11)
            #expect(checkpoint?.recordCount == 5)
            // Deleting a record of the kept range is still caught after the drop.
            try await pool.query("DELETE FROM audit.records WHERE chain = \(chain) AND seq = 8")
            #expect(try await Self.verify(pool, chain).breaks.first?.kind == .deleted)
        }
    }
}

extension AuditStoreIntegrationTests {
    @Test("verify --from N checks the link into N against record N-1")
    func verifyFrom() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("from")
            try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 10)
            let verifier = AuditVerifier(store: AuditStore(pool: pool), trustedKey: nil)
            let partial = try await verifier.verify(chain: chain, from: 5, to: 8)
            #expect(partial.isIntact && partial.checked == 4 && partial.firstSequence == 5 && partial.lastSequence == 8)
            // Record 4 replaced (its hash changed): record 5 links to a record that is no longer there.
            try await pool.query(
                "UPDATE audit.records SET hash = '\\x00'::bytea WHERE chain = \(chain) AND seq = 4")
            let broken = try await verifier.verify(chain: chain, from: 5)
            #expect(broken.breaks.first?.sequence == 5)
            #expect(broken.breaks.first?.kind == .deleted, "\(broken.lines)")
        }
    }
}

extension AuditStoreIntegrationTests {
    @Test("a duplicated sequence is caught even when it falls on a page boundary of verify")
    func duplicateOnPageBoundary() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("page")
            let records = try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 8)
            let copy = records[3]
            try await pool.query(
                """
                INSERT INTO audit.records (chain, seq, received_at, kind, exchange, routing_key, properties, body, body_sm3,
                    body_sealed, redelivered, prev_hash, hash)
                VALUES (\(chain), 4, \(AuditTime.postgres(micros: copy.receivedMicros + 1))::timestamptz, 'message',
                    'hub.events', 'test.audit.record', \(copy.properties), convert_to('{"forged":1}', 'UTF8'),
                    \(copy.bodySM3), false, false, \(copy.previousHash), \(copy.hash))
                """)
            var verifier = AuditVerifier(store: AuditStore(pool: pool), trustedKey: nil)
            verifier.pageSize = 4  // the page ends exactly with the genuine record 4
            let report = try await verifier.verify(chain: chain)
            #expect(report.breaks.first?.kind == .inserted, "\(report.lines)")
            #expect(report.breaks.first?.sequence == 4)
        }
    }
}
