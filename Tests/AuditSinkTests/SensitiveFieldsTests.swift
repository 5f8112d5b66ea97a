import Foundation
import HubAMQP
import HubCore
import HubCrypto
import Testing

@testable import AuditSink

/// Sealing, masking, unmasking and key rotation of sensitive fields (issue #5 item 3), without servers.
@Suite("Audit sensitive fields")
struct SensitiveFieldsTests {
    static func keyring(_ version: UInt32, previous: [UInt32] = []) throws -> SM4.Keyring {
        func key(_ v: UInt32) throws -> SM4.SealingKey {
            try SM4.SealingKey(masterKey: SymmetricKey(data: [UInt8](repeating: UInt8(v), count: 32)), version: v)
        }
        return try SM4.Keyring(current: try key(version), previous: try previous.map(key))
    }

    static let account = "6222021234567890123"
    static let name = "张三丰"

    static func transferBody() -> [UInt8] {
        let envelope: JSONValue = [
            "specversion": "1.0", "id": "0193a3f0-6b1c-7cc0-8a3e-3f5c2b1d4e5f", "source": "/partners/acme",
            "type": "payments.transfer.request.v1", "time": "2026-11-22T10:00:00Z",
            "datacontenttype": "application/json",
            "dataschema": "https://huitong.example/schemas/payments/transfer-request.v1.json",
            "enterpriseid": "91320500MA1Q7H2K3A",
            "data": [
                "clientRequestId": "r-1",
                "debtor": ["name": "苏州某某有限公司", "account": "320501234567", "agent": "102305000018", "kind": "enterprise"],
                "creditor": ["name": .string(name), "account": .string(account), "agent": "103100000026", "kind": "person"],
                "amount": ["value": "1250.00", "currency": "CNY"],
            ],
        ]
        return envelope.canonicalBytes()
    }

    @Test("the default list seals the parties of a transfer request; no plaintext is stored")
    func sealsTransfer() throws {
        let intake = AuditIntake(keyring: try Self.keyring(1))
        let prepared = try intake.prepare(
            IncomingMessage(exchange: "hub.commands", routingKey: "payments.transfer.request", body: Self.transferBody()))
        let stored = String(decoding: prepared.record.body, as: UTF8.self)
        #expect(!stored.contains(Self.account))
        #expect(!stored.contains(Self.name))
        #expect(!stored.contains("320501234567"))
        #expect(stored.contains("\"1250.00\""), "non-sensitive fields stay readable")
        #expect(prepared.record.keyVersion == 1)
        #expect(prepared.record.malformed == nil)
        #expect(prepared.record.index.enterpriseID == "91320500MA1Q7H2K3A")
        #expect(prepared.record.index.correlationID == "0193a3f0-6b1c-7cc0-8a3e-3f5c2b1d4e5f")
        #expect(prepared.record.bodySM3 == (try SM3.hash(data: Self.transferBody()).bytes))
    }

    @Test("masked without audit:unmask, plaintext with it")
    func maskAndUnmask() throws {
        let keyring = try Self.keyring(1)
        let prepared = try AuditIntake(keyring: keyring).prepare(
            IncomingMessage(exchange: "hub.commands", routingKey: "payments.transfer.request", body: Self.transferBody()))
        let stored = try JSONValue.parse(prepared.record.body)
        let masked = SensitiveFields.reveal(stored, keyring: keyring, unmask: false)
        #expect(masked["data"]?["creditor"]?["account"] == .string("***************0123"))
        #expect(masked["data"]?["creditor"]?["name"] == .string("张**"))
        let revealed = SensitiveFields.reveal(stored, keyring: keyring, unmask: true)
        #expect(revealed == (try JSONValue.parse(Self.transferBody())))
    }

    @Test("rotation: records sealed under v1 still open with a v2 keyring that keeps v1; without v1 they say so")
    func rotation() throws {
        let v1 = try Self.keyring(1)
        let old = try JSONValue.parse(
            try AuditIntake(keyring: v1).prepare(
                IncomingMessage(exchange: "hub.commands", routingKey: "r", body: Self.transferBody())).record.body)
        let rotated = try Self.keyring(2, previous: [1])
        #expect(SensitiveFields.reveal(old, keyring: rotated, unmask: true) == (try JSONValue.parse(Self.transferBody())))
        let fresh = try AuditIntake(keyring: rotated).prepare(
            IncomingMessage(exchange: "hub.commands", routingKey: "r", body: Self.transferBody()))
        #expect(fresh.record.keyVersion == 2)
        #expect(SensitiveFields.keyVersions(in: old) == [1])
        let v2only = try Self.keyring(2)
        let stranded = SensitiveFields.reveal(old, keyring: v2only, unmask: true)
        #expect(stranded["data"]?["creditor"]?["account"] == .string("[sealed: key version 1 unavailable]"))
    }

    @Test("a sealed value moved to another field does not open (it is bound to its pointer)")
    func boundToPointer() throws {
        let keyring = try Self.keyring(1)
        let stored = try JSONValue.parse(
            try AuditIntake(keyring: keyring).prepare(
                IncomingMessage(exchange: "hub.commands", routingKey: "r", body: Self.transferBody())).record.body)
        guard case .object(var root) = stored, case .object(var data) = root["data"]!,
            case .object(var creditor) = data["creditor"]!
        else { Issue.record("unexpected shape"); return }
        creditor["name"] = creditor["account"]
        data["creditor"] = .object(creditor)
        root["data"] = .object(data)
        let revealed = SensitiveFields.reveal(.object(root), keyring: keyring, unmask: true)
        #expect(revealed["data"]?["creditor"]?["name"] == .string("[sealed: does not authenticate]"))
    }

    @Test("batch lines: a * pointer seals every line's creditor and id number")
    func wildcard() throws {
        let lines: [JSONValue] = (1...3).map { n in
            ["sequence": .number(JSONNumber(n)), "idNumber": "11010519491231002X",
             "creditor": ["name": "李四", "account": .string("62220200000000\(n)")]]
        }
        let body: JSONValue = ["type": "payments.batch.request.v1", "data": ["lines": .array(lines)]]
        let (sealed, count) = try SensitiveFields.default.seal(body, type: "payments.batch.request.v1", keyring: try Self.keyring(1))
        #expect(count == 9)
        #expect(!String(decoding: sealed.canonicalBytes(), as: UTF8.self).contains("11010519491231002X"))
    }

    @Test("compliance's large-value report (R-AML-8) is stored with every party's name, USCC and account sealed")
    func largeValueReport() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("contracts/examples/valid/compliance-report-large-value.json")
        let body = try JSONValue.parse(Array(try Data(contentsOf: url)))
        let type = "compliance.report.large-value.v1"
        let (sealed, count) = try SensitiveFields.default.seal(body, type: type, keyring: try Self.keyring(1))
        // The envelope's own enterpriseid stays in clear (audit queries by enterprise); the payload's parties do not.
        let text = String(decoding: (sealed["data"] ?? JSONValue.null).canonicalBytes(), as: UTF8.self)
        #expect(count > 0)
        for secret in ["32050188000000000001", "91320500MA1Q7H2K3A", "苏州汇通示例科技有限公司", "10520101040000002"] {
            #expect(!text.contains(secret), "\(secret) is stored in clear")
        }
        #expect(text.contains("2000000.00"), "amounts stay readable for reviewers")
    }

    @Test("not JSON: stored flagged and sealed whole; an invalid envelope is flagged with its first error")
    func malformed() throws {
        let keyring = try Self.keyring(1)
        let intake = AuditIntake(keyring: keyring)
        let garbage = Array("account=6222021234567890123\u{1}".utf8)
        let notJSON = try intake.prepare(IncomingMessage(exchange: "hub.commands", routingKey: "x", body: garbage))
        #expect(notJSON.record.malformed?.hasPrefix("notJSON") == true)
        #expect(notJSON.record.bodySealed)
        #expect(!String(decoding: notJSON.record.body, as: UTF8.self).contains("6222021234567890123"))
        let box = try SM4.SealedBox(combined: notJSON.record.body)
        #expect(Array(try SM4.open(box, using: keyring, authenticating: AuditIntake.bodyAssociatedData)) == garbage)

        let badEnvelope = try intake.prepare(
            IncomingMessage(exchange: "hub.commands", routingKey: "x", body: Array(#"{"id":"nope","type":"a.b.c.v1"}"#.utf8)))
        #expect(badEnvelope.record.malformed?.hasPrefix("invalidEnvelope") == true)
        #expect(!badEnvelope.record.bodySealed)
        #expect(badEnvelope.record.index.messageType == "a.b.c.v1")
    }

    @Test("configuration: default plus a partner type; malformed entries name themselves")
    func configuration() throws {
        let fields = try SensitiveFields(configuration: "default; partner.order.submit.v1=/data/buyer/name,/data/buyer/phone")
        #expect(fields.pointers(for: "partner.order.submit.v1") == ["/data/buyer/name", "/data/buyer/phone"])
        #expect(fields.pointers(for: "payments.transfer.request.v1").contains("/data/creditor/account"))
        #expect(throws: AuditError.self) { try SensitiveFields(configuration: "partner.x.v1=data/name") }
        #expect(throws: AuditError.self) { try SensitiveFields(configuration: "nonsense") }
    }

    @Test("AMQP headers keep their types in the stored properties")
    func properties() throws {
        let properties = AMQPMessage.Properties(
            messageID: "m", type: "t", headers: [
                "x-death": .array([.table(["count": .int64(2), "reason": .string("rejected")])]),
                "raw": .bytes([1, 2]), "when": .timestamp(1_700_000_000), "price": .decimal(decimals: 2, value: 12345),
            ])
        let text = String(decoding: AuditProperties.canonicalBytes(properties, deliveryMode: 2), as: UTF8.self)
        #expect(text == #"{"deliveryMode":2,"headers":{"price":{"$decimal":"123.45"},"raw":{"$bytes":"AQI="},"when":{"$timestamp":1700000000},"x-death":[{"count":2,"reason":"rejected"}]},"messageId":"m","type":"t"}"#)
    }

    @Test("pointer tokens unescape ~1 and ~0 exactly as RFC 6901 (and as the Foundation replacements did)", arguments: [
        "/data/debtor/account", "/a~1b/c~0d", "/~01", "/~10", "/~~1", "/~~0", "/~", "/a~", "/~2x", "/", "", "/data/*/x",
    ])
    func pointerTokens(_ pointer: String) {
        let expected = pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        #expect(SensitiveFields.tokens(pointer) == expected)
    }
}

extension SensitiveFieldsTests {
    @Test("a NUL in a routing key, property or JSON string cannot make a record unstorable in PostgreSQL text")
    func nulIsReplacedInTextColumns() throws {
        let body = Array(#"{"id":"a\u0000b","type":"x.y.z.v1"}"#.utf8)
        let prepared = try AuditIntake(keyring: try Self.keyring(1)).prepare(
            IncomingMessage(
                exchange: "hub.events", routingKey: "r\u{0}k", properties: .init(messageID: "m\u{0}"), body: body))
        #expect(prepared.record.routingKey == "r\u{FFFD}k")
        #expect(prepared.record.index.messageID == "a\u{FFFD}b")
        #expect(prepared.record.body == body, "the body keeps its bytes")
    }
}

/// The gateway's query parameters (GET /v1/audit), without servers.
@Suite("Audit query parameters")
struct AuditQueryParameterTests {
    @Test("parameters map to the query; times need an offset; the chain never comes from the caller")
    func parameters() throws {
        let query = try AuditQuery(
            parameters: ["correlationId": "c-1", "from": "2026-11-22T09:30:00+08:00", "limit": "50", "includeRepeats": "true"],
            chain: "main")
        #expect(query.correlationID == "c-1")
        #expect(query.from == Date(timeIntervalSince1970: 1_795_311_000))  // 01:30 UTC
        #expect(query.limit == 50 && query.includeRepeats && query.chain == "main")
    }

    @Test("bad parameters are refused with the parameter's name")
    func refused() {
        for (parameters, word) in [
            (["limit": "0"], "limit"), (["limit": "x"], "limit"), (["from": "2026-11-22T09:30:00"], "from"),
            (["correlationID": "c"], "correlationID"), (["cursor": "42"], "cursor"), (["includeRepeats": "yes"], "includeRepeats"),
            (["from": "2026-11-22T10:00:00Z", "to": "2026-11-22T09:00:00Z"], "from"),
        ] {
            do {
                _ = try AuditQuery(parameters: parameters)
                Issue.record("\(parameters) was accepted")
            } catch let error as AuditError {
                #expect(error.code == .invalidQuery)
                #expect(error.message.contains(word), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}

/// Development keys (R-SEC: production keys come from configuration).
@Suite("Audit development keys")
struct AuditKeysTests {
    @Test("processes starting together agree on one generated key; a reader never generates one")
    func generatedOnce() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "audit-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = AuditTestSupport.logger
        #expect(throws: AuditError.self) {
            try AuditKeys.keyring(masterKeyHex: nil, version: 1, previous: nil, directory: directory, generate: false, logger: logger)
        }
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try AuditKeys.createOnce("\(directory)/master-key.hex", logger: logger, what: "test key") {
                        UUID().uuidString
                    }
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys.count == 1)
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(directory)/master-key.hex")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["master-key.hex"], "no temporary files left")
    }
}
