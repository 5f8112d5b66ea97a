import Foundation
import HubTestSupport
import HubCore
import HubCrypto
import Testing

@testable import AuditSink

/// The canonical form and the chain computation (docs/audit.md "Canonical form"), without servers.
@Suite("Audit canonical form and chain")
struct CanonicalFormTests {
    static func sample(sequence: Int64 = 42, body: String = #"{"a":1}"#) throws -> AuditRecord {
        AuditRecord(
            chain: "main", sequence: sequence, receivedMicros: 1_795_385_291_123_456, kind: .message,
            exchange: "hub.events", routingKey: "payments.transfer.accepted",
            properties: Array(#"{"deliveryMode":2,"messageId":"m-1"}"#.utf8), body: Array(body.utf8),
            bodySM3: try SM3.hash(data: Array(body.utf8)).bytes, malformed: nil, keyVersion: 3, redelivered: false,
            index: .init(messageID: "m-1", messageType: "payments.transfer.accepted.v1", correlationID: "c-1"))
    }

    /// Splits the length-prefixed fields back apart.
    static func fields(_ bytes: [UInt8]) -> [[UInt8]] {
        var fields: [[UInt8]] = []
        var index = 0
        while index + 4 <= bytes.count {
            let count = Int(bytes[index]) << 24 | Int(bytes[index + 1]) << 16 | Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            fields.append(Array(bytes[(index + 4)..<(index + 4 + count)]))
            index += 4 + count
        }
        #expect(index == bytes.count, "the fields must cover the bytes exactly")
        return fields
    }

    @Test("the canonical bytes are the 12 documented length-prefixed fields, in order")
    func documentedLayout() throws {
        let record = try Self.sample()
        let fields = Self.fields(record.canonicalBytes()).map { String(decoding: $0, as: UTF8.self) }
        #expect(fields.count == 12)
        #expect(fields[0] == "huitong.audit.record.v1")
        #expect(fields[1] == "main")
        #expect(fields[2] == "42")
        #expect(fields[3] == "2026-11-22T22:08:11.123456Z")
        #expect(fields[4] == "message")
        #expect(fields[5] == "hub.events")
        #expect(fields[6] == "payments.transfer.accepted")
        #expect(fields[7] == #"{"deliveryMode":2,"messageId":"m-1"}"#)
        #expect(fields[8] == #"{"correlationId":"c-1","messageId":"m-1","type":"payments.transfer.accepted.v1"}"#)
        #expect(fields[9] == #"{"bodySealed":false,"keyVersion":3,"malformed":null,"redelivered":false}"#)
        #expect(Self.fields(record.canonicalBytes())[10] == record.bodySM3)
        #expect(fields[11] == #"{"a":1}"#)
    }

    @Test("length prefixes keep field boundaries: moving bytes between fields changes the form")
    func boundariesAreUnambiguous() throws {
        var a = try Self.sample()
        a.exchange = "ab"
        a.routingKey = "c"
        var b = a
        b.exchange = "a"
        b.routingKey = "bc"
        #expect(a.canonicalBytes() != b.canonicalBytes())
    }

    @Test("every hashed field changes the hash")
    func everyFieldIsCovered() throws {
        let base = try Self.sample()
        let original = try base.computeHash()
        let edits: [(String, (inout AuditRecord) -> Void)] = [
            ("chain", { $0.chain = "other" }), ("sequence", { $0.sequence += 1 }), ("time", { $0.receivedMicros += 1 }),
            ("kind", { $0.kind = .access }), ("exchange", { $0.exchange = "hub.dead" }),
            ("routing key", { $0.routingKey += "x" }), ("properties", { $0.properties.append(0x20) }),
            ("body", { $0.body[1] ^= 1 }), ("body sm3", { $0.bodySM3[0] ^= 1 }), ("sealed", { $0.bodySealed = true }),
            ("malformed", { $0.malformed = "notJSON" }), ("key version", { $0.keyVersion = 4 }),
            ("redelivered", { $0.redelivered = true }), ("correlation", { $0.index.correlationID = "c-2" }),
            ("enterprise", { $0.index.enterpriseID = "91320500MA1Q7H2K3A" }),
            ("previous hash", { $0.previousHash[31] = 1 }),
        ]
        for (name, edit) in edits {
            var record = base
            edit(&record)
            #expect(try record.computeHash() != original, "editing \(name) must change the hash")
        }
    }

    @Test("hash = SM3(previous hash ‖ canonical bytes), checked with the openssl CLI (an independent SM3)")
    func hashMatchesOpenSSL() async throws {
        var record = try Self.sample()
        record.previousHash = (0..<32).map { UInt8($0) }
        let input = record.previousHash + record.canonicalBytes()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("input.bin")
        try Data(input).write(to: file)
        let output = try await Command.run("/usr/bin/openssl", ["dgst", "-sm3", "-r", file.path]).stdout
        let expected = output.split(separator: " ").first.map(String.init) ?? ""
        #expect(AuditStore.hex(try record.computeHash()) == expected)
    }

    @Test("chained records link: each previous hash is the hash of the record before")
    func chainLinks() throws {
        var previous = AuditRecord.genesisHash
        var records: [AuditRecord] = []
        for sequence in 1...5 {
            let record = try Self.sample(sequence: Int64(sequence), body: "{\"n\":\(sequence)}").chained(after: previous)
            records.append(record)
            previous = record.hash
        }
        #expect(records[0].previousHash == [UInt8](repeating: 0, count: 32))
        for (a, b) in zip(records, records.dropFirst()) { #expect(b.previousHash == a.hash) }
    }

    @Test("UTC time text agrees with Foundation's formatter (leap years, pre-1970, microseconds)")
    func timeFormat() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        for seconds: Int64 in [0, 951_782_400, 951_868_799, -1, -86_401, 1_795_385_291, 4_102_444_800, 253_402_300_799] {
            let micros = seconds * 1_000_000 + 654_321
            let text = AuditTime.canonical(micros: micros)
            let expected = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(text == expected + ".654321Z")
        }
        #expect(AuditTime.postgres(micros: 1_000_001) == "1970-01-01 00:00:01.000001+00")
        #expect(AuditTime.month(micros: 951_782_400_000_000) == "2000-02")
    }
}
