import Foundation
import HubTestSupport
import HubAMQP
import HubCore
import HubStore
import Testing

@testable import AuditSink

/// `huitong audit …` run as an operator would (the built binary), against the local servers.
@Suite("huitong audit CLI", .serialized)
struct AuditCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ arguments: [String], chain: String) async throws -> (status: Int32, stdout: String, stderr: String) {
        let keys = FileManager.default.temporaryDirectory.appending(path: "audit-cli-keys").path
        let result = try await Command.run(
            root.appending(path: ".build/debug/huitong").path, arguments,
            environment: [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "HUITONG_AMQP_URL": AuditTestSupport.amqpURL, "HUITONG_DATABASE_URL": AuditTestSupport.databaseURL,
                "HUITONG_AUDIT_CHAIN": chain, "HUITONG_AUDIT_KEY_DIR": keys,
            ],
            timeout: .seconds(60))
        return (result.status, result.stdout, result.stderr)
    }

    @Test("verify: exit 0 on an intact chain, exit 2 naming the edited record after tampering")
    func verifyExitCodes() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("cli")
            try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 5)
            let intact = try await Self.run(["audit", "verify"], chain: chain)
            #expect(intact.status == 0, "\(intact.stdout)\(intact.stderr)")
            #expect(intact.stdout.contains("OK: the chain is intact"))
            try await pool.query("UPDATE audit.records SET routing_key = 'x' WHERE chain = \(chain) AND seq = 3")
            let broken = try await Self.run(["audit", "verify"], chain: chain)
            #expect(broken.status == 2)
            #expect(broken.stdout.contains("BROKEN: edited at sequence 3"), "\(broken.stdout)")
        }
    }

    @Test("query --json is audited under --as; partitions drop without --confirm is one line and exit 1")
    func queryAndDrop() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("cli")
            try await AuditTestSupport.appendRecords(AuditStore(pool: pool), chain: chain, count: 3)
            let query = try await Self.run(["audit", "query", "--json", "--as", "officer-zhao"], chain: chain)
            #expect(query.status == 0, "\(query.stderr)")
            let page = try JSONValue.parse(query.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(page["records"]?.arrayValue?.count == 3)
            let access = try await pool.query(
                "SELECT body FROM audit.records WHERE chain = \(chain) AND kind = 'access'"
            ).rows.map { try JSONValue.parse(try $0.decode([UInt8].self, column: "body")) }
            #expect(access.count == 1 && access[0]["reader"] == "officer-zhao")

            let drop = try await Self.run(["audit", "partitions", "drop", "2026-01"], chain: chain)
            #expect(drop.status == 1)
            #expect(drop.stderr.split(separator: "\n").count == 1)
            #expect(drop.stderr.contains("--confirm"))
        }
    }
}

extension AuditCLITests {
    @Test("serve --roles audit: the role reads its keys, stores what is published, and stops cleanly on SIGTERM")
    func serveAuditRole() async throws {
        try await AuditTestSupport.withPool { pool in
            let chain = AuditTestSupport.unique("role")
            let queue = "tap.audit.test-\(UUID().uuidString.prefix(8).lowercased())"
            let process = Process()
            process.executableURL = Self.root.appending(path: ".build/debug/huitong")
            process.arguments = ["serve", "--roles", "audit", "--http-port", "0", "--shutdown-timeout", "10"]
            process.environment = [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "HUITONG_AMQP_URL": AuditTestSupport.amqpURL, "HUITONG_DATABASE_URL": AuditTestSupport.databaseURL,
                "HUITONG_AUDIT_CHAIN": chain, "HUITONG_AUDIT_QUEUE": queue, "HUITONG_AUDIT_BATCH_SIZE": "16",
                "HUITONG_AUDIT_BINDING_PATTERN": AuditTestSupport.testPattern,
                "HUITONG_AUDIT_KEY_DIR": FileManager.default.temporaryDirectory.appending(path: "audit-cli-keys").path,
            ]
            let out = Pipe()
            process.standardOutput = out
            let errors = FileManager.default.temporaryDirectory.appending(path: "\(chain).stderr")
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: errors)
            try process.run()
            defer { if process.isRunning { process.terminate() } }
            // Wait for the sink's queue, then publish to it through hub.events.
            try await AuditTestSupport.eventually("the role's queue") {
                guard let connection = try? await AMQPConnection.connect(
                    configuration: try AuditTestSupport.amqp("audit-role-probe"), logger: AuditTestSupport.logger)
                else { return false }
                let exists = (try? await connection.queueStatus(queue)) != nil
                await connection.close()
                return exists
            }
            // The queue may exist a moment before its bindings: publish until one message has been stored.
            var ids: [String] = []
            do {
                try await AuditTestSupport.eventually("the record") {
                    let id = "\(chain)-\(ids.count)"
                    ids.append(id)
                    try await AuditTestSupport.publish([
                        AMQPMessage(
                            exchange: "hub.events", routingKey: "test.audit.role", body: Array("{\"role\":true}".utf8),
                            properties: .init(messageID: id))
                    ])
                    try await Task.sleep(for: .milliseconds(300))
                    return try await !AuditTestSupport.records(pool, chain: chain, messageIDs: ids).isEmpty
                }
            } catch {
                Issue.record("serve's stderr: \((try? String(contentsOf: errors, encoding: .utf8)) ?? "-")")
                throw error
            }
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!process.isRunning, "serve did not stop within 30 s of SIGTERM")
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            await AuditTestSupport.deleteQueues(AuditSinkService.consumer(queue: queue, pattern: AuditTestSupport.testPattern))
        }
    }
}
