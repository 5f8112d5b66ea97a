import Foundation
import HubCrypto
import Testing

@testable import AuditSink

/// Each kind of chain break (issue #5 item 9), diagnosed on records in memory.
@Suite("Audit chain verifier")
struct ChainVerifierTests {
    static func chain(_ count: Int) throws -> [AuditRecord] {
        var previous = AuditRecord.genesisHash
        return try (1...count).map { n in
            let body = Array("{\"n\":\(n)}".utf8)
            let record = try AuditRecord(
                chain: "t", sequence: Int64(n), receivedMicros: 1_000_000 * Int64(n), kind: .message,
                exchange: "hub.events", routingKey: "x.y.z", properties: Array("{}".utf8), body: body,
                bodySM3: SM3.hash(data: body).bytes
            ).chained(after: previous)
            previous = record.hash
            return record
        }
    }

    static func verify(_ records: [AuditRecord], markers: [RetentionMarker] = []) async throws -> ChainBreak? {
        let hashes = records.map { ($0.hash, $0.sequence) }
        var verifier = ChainVerifier(markers: markers, lookup: { hash in hashes.first { $0.0 == hash }?.1 })
        for record in records.sorted(by: { $0.sequence < $1.sequence }) {
            if let found = try await verifier.check(record) { return found }
        }
        return nil
    }

    @Test("an untouched chain verifies")
    func intact() async throws {
        #expect(try await Self.verify(try Self.chain(10)) == nil)
    }

    @Test("edit: a record's body changed → edited at that record")
    func edited() async throws {
        var records = try Self.chain(10)
        records[4].body = Array("{\"n\":500}".utf8)
        let found = try #require(try await Self.verify(records))
        #expect(found.kind == .edited)
        #expect(found.sequence == 5)
    }

    @Test("delete: a record removed → deleted, naming the missing sequence")
    func deleted() async throws {
        var records = try Self.chain(10)
        records.remove(at: 6)
        let found = try #require(try await Self.verify(records))
        #expect(found.kind == .deleted)
        #expect(found.sequence == 7)
    }

    @Test("delete with renumbering to hide the gap → deleted")
    func deletedAndRenumbered() async throws {
        var records = try Self.chain(10)
        records.remove(at: 3)
        for index in 3..<records.count { records[index].sequence -= 1 }
        let found = try #require(try await Self.verify(records))
        #expect(found.kind == .deleted)
        #expect(found.sequence == 4)
    }

    @Test("insert: a forged, correctly hashed record slipped in with renumbering → inserted at the forgery")
    func inserted() async throws {
        var records = try Self.chain(10)
        let body = Array("{\"forged\":true}".utf8)
        let forged = try AuditRecord(
            chain: "t", sequence: 4, receivedMicros: 4_000_001, kind: .message, exchange: "hub.events",
            routingKey: "x.y.z", properties: Array("{}".utf8), body: body, bodySM3: SM3.hash(data: body).bytes
        ).chained(after: records[2].hash)
        for index in 3..<records.count { records[index].sequence += 1 }
        records.insert(forged, at: 3)
        let found = try #require(try await Self.verify(records))
        #expect(found.kind == .inserted)
        #expect(found.sequence == 4)
    }

    @Test("insert: a second record claiming an existing sequence → inserted")
    func insertedDuplicateSequence() async throws {
        var records = try Self.chain(6)
        var copy = records[2]
        copy.body = Array("{}".utf8)
        records.insert(copy, at: 3)
        let found = try #require(try await Self.verify(records))
        #expect(found.kind == .inserted)
        #expect(found.sequence == 3)
    }

    @Test("reorder: two records swapped → reordered at the first moved record")
    func reordered() async throws {
        var records = try Self.chain(10)
        records[5].sequence = 7
        records[6].sequence = 6
        let found = try #require(try await Self.verify(records))
        #expect(found.kind == .reordered)
        #expect(found.sequence == 6)
        #expect(found.detail.contains("chained at sequence 7"))
    }

    @Test("a range dropped by retention verifies when its marker carries the last dropped hash")
    func retentionMarker() async throws {
        let records = try Self.chain(10)
        let kept = Array(records[4...])
        let marker = RetentionMarker(firstSequence: 1, lastSequence: 4, lastHash: records[3].hash)
        #expect(try await Self.verify(kept, markers: [marker]) == nil)
        let wrong = RetentionMarker(firstSequence: 1, lastSequence: 4, lastHash: records[2].hash)
        #expect(try await Self.verify(kept, markers: [wrong])?.kind == .deleted)
        #expect(try await Self.verify(kept)?.kind == .deleted, "without a marker the gap is a deletion")
    }
}
