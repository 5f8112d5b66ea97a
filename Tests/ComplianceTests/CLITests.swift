import ComplianceChecker
import Foundation
import HubTestSupport
import HubCore
import HubRuntime
import HubStore
import Testing

/// `huitong compliance holds …` run as an operator runs it: the built binary, against the test database.
@Suite("huitong compliance holds (the binary)")
struct ComplianceCLITests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL { ComplianceSupport.repositoryRoot.appending(path: ".build/debug/huitong") }

    static func run(_ arguments: [String]) async throws -> Result {
        let result = try await Command.run(
            binary.path, arguments,
            environment: [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "HUITONG_DATABASE_URL": ComplianceSupport.databaseURL, "HUITONG_AMQP_URL": ComplianceSupport.amqpURL,
            ],
            timeout: .seconds(60))
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    @Test("list, release, a second decision refused in one line; the decision is stored and queued as a message")
    func listAndRelease() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build huitong first")
        try await ComplianceSupport.prepareDatabase()
        let pool = try ComplianceSupport.pool()
        let correlation = UUID()
        let checker = try ComplianceBrokerTests.checker()
        let command = try ComplianceBrokerTests.heldTransfer(correlation: correlation)
        let emitted = try await pool.withTransaction { transaction in
            try await checker.handle(
                InboundMessage(envelope: command, exchange: "hub.commands", routingKey: command.type.routingKey),
                context: HandlerContext(transaction: transaction, logger: ComplianceSupport.logger, consumer: "test"))
        }
        let placed = try #require(emitted.last?.envelope)
        #expect(placed.type.value == ComplianceEvents.holdPlaced)
        let holdID = try #require(placed.data["holdId"]?.stringValue)

        let list = try await Self.run(["compliance", "holds", "list", "--correlation-id", correlation.uuidString, "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains(holdID) && list.stdout.contains("R-AML-9"))
        #expect(!list.stdout.contains("BLACKSTONE"), "no party names in the listing")

        let release = try await Self.run(["compliance", "holds", "release", holdID, "--reason", "false positive", "--as", "alice"])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stdout.hasPrefix("released \(holdID)"))

        let again = try await Self.run(["compliance", "holds", "reject", holdID, "--reason", "late", "--as", "bob"])
        #expect(again.status == 1)
        #expect(again.stderr.split(separator: "\n").count == 1)
        #expect(again.stderr.contains("already released"))

        let bad = try await Self.run(["compliance", "holds", "release", "not-a-uuid", "--reason", "x", "--as", "alice"])
        #expect(bad.status == 1 && bad.stderr.contains("is not a hold id"))

        let queued = try await pool.query(
            """
            SELECT count(*)::int8 FROM hub.outbox WHERE producer = 'compliance.reviews' \
            AND message_type = 'compliance.hold.released.v1' AND correlation_id = \(correlation)
            """
        ).rows[0].decode(Int64.self, at: 0)
        #expect(queued == 1)
        await pool.close()
    }

    @Test("reports list: a person's report shows the masked ID, never the number; --due filters by deadline")
    func reportsList() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build huitong first")
        try await ComplianceSupport.prepareDatabase()
        let pool = try ComplianceSupport.pool()
        let person = ComplianceSupport.residentID()
        let checker = try ComplianceBrokerTests.checker()
        let booked = try ComplianceSupport.envelope(
            [
                "type": "accounts.transaction.booked.v1", "time": "2026-03-02T10:00:00+08:00",
                "data": [
                    "transactionId": .string("cli-\(UUID().uuidString.prefix(8))"),
                    "customer": ["id": .string(person), "kind": "person", "name": "张三"],
                    "account": .string(ComplianceSupport.account()), "direction": "in", "method": "cash",
                    "amount": ["value": "50000.00", "currency": "CNY"],
                ],
            ], correlationID: UUID())
        _ = try await pool.withTransaction { transaction in
            try await checker.handle(
                InboundMessage(envelope: booked, exchange: "hub.events", routingKey: booked.type.routingKey),
                context: HandlerContext(transaction: transaction, logger: ComplianceSupport.logger, consumer: "test"))
        }
        await pool.close()
        // 2026-03-02 (Monday) + 5 working days = 2026-03-09.
        let listed = try await Self.run(["compliance", "reports", "list", "--due", "2026-03-09", "--limit", "10000", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("\"deadline\":\"2026-03-09\""))
        #expect(listed.stdout.contains(String(person.prefix(3))))
        #expect(!listed.stdout.contains(person), "the ID number is masked")
        let earlier = try await Self.run(["compliance", "reports", "list", "--due", "2026-03-08", "--limit", "10000", "--json"])
        #expect(!earlier.stdout.contains("2026-03-09"))
        let bad = try await Self.run(["compliance", "reports", "list", "--due", "2026-02-30"])
        #expect(bad.status == 1 && bad.stderr.contains("is not a date"))
    }
}
