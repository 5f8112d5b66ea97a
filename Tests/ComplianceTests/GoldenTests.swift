import ComplianceChecker
import Foundation
import HubContracts
import HubCore
import HubRuntime
import HubStore
import Testing

/// Golden files (Fixtures/golden/*.json): input messages → findings, reports and verdicts, per rule, run through the
/// checker in a real PostgreSQL transaction (the rules' state is in the `compliance` schema). Each file cites its
/// REFERENCE.md rule and, where there is one, its test vector.
@Suite("Compliance golden files: messages → findings, reports, verdicts")
struct ComplianceGoldenTests {
    static let cases = (try? GoldenCase.all()) ?? []

    @Test("every golden file loads, and every rule of the issue has one")
    func fixturesLoad() throws {
        let cases = try GoldenCase.all()
        let rules = cases.map(\.rule).joined(separator: ",")
        for rule in ["R-AML-1", "R-AML-2", "R-AML-3", "R-AML-4", "R-AML-5", "R-AML-7", "R-AML-8", "R-AML-9", "R-FX-2",
                     "R-ECNY-1", "R-PAY-5", "R-PAY-8", "R-TAX-4"] {
            #expect(rules.contains(rule), "no golden file for \(rule)")
        }
        for golden in cases {
            #expect(golden.messages.count == golden.expectations.count, "\(golden.name): one expectation list per message")
        }
    }

    @Test("golden file", arguments: cases)
    func golden(_ golden: GoldenCase) async throws {
        _ = try await Self.run(golden)
    }

    @Test("R-AML-8 in parts: every part has the report's id, and together they carry each transaction once, in order")
    func reportInParts() async throws {
        let golden = try GoldenCase.load(
            ComplianceSupport.fixtures.appendingPathComponent("golden/r-aml-8-report-in-parts.json"))
        let (inputs, outputs) = try await Self.run(golden)
        let parts = try #require(outputs.last).filter { $0.type.value == "compliance.report.large-value.v1" }
        #expect(parts.count == 3)
        #expect(Set(parts.compactMap { $0.data["reportId"]?.stringValue }).count == 1)
        let carried = parts.flatMap { $0.data["transactions"]?.arrayValue ?? [] }.compactMap { $0["messageId"]?.stringValue }
        #expect(carried == inputs.map(\.id.description), "the five movements, in the order they happened")
    }

    /// Runs a golden file's messages through the checker, one transaction each, checks every output against the
    /// file and its contract, and returns the inputs and the outputs per message.
    static func run(_ golden: GoldenCase) async throws -> (inputs: [Envelope], outputs: [[Envelope]]) {
        try await ComplianceSupport.prepareDatabase()
        let pool = try ComplianceSupport.pool()
        defer { Task { await pool.close() } }
        let watchlists = WatchlistStore(paths: [ComplianceSupport.fixtures.appendingPathComponent("watchlists").path])
        try watchlists.reloadIfChanged()
        let checker = ComplianceChecker(
            parameters: try golden.checkerParameters(), watchlists: watchlists, calendar: try ComplianceSupport.calendar())
        let correlation = UUID()
        var inputs: [Envelope] = []
        var outputs: [[Envelope]] = []
        for (index, message) in golden.messages.enumerated() {
            let envelope = try ComplianceSupport.envelope(message, correlationID: correlation)
            inputs.append(envelope)
            let emitted = try await pool.withTransaction { transaction in
                try await checker.handle(
                    InboundMessage(envelope: envelope, exchange: "hub.commands", routingKey: envelope.type.routingKey),
                    context: HandlerContext(transaction: transaction, logger: ComplianceSupport.logger, consumer: "test"))
            }
            Projection.compare(
                expected: golden.expectations[index], actual: emitted.map(\.envelope),
                context: "\(golden.name) message \(index + 1)")
            for outbound in emitted {
                // Every output is caused by the message it concerns, in its flow, and matches its contract.
                #expect(outbound.envelope.causationID == envelope.id.uuid)
                #expect(outbound.envelope.correlationID == correlation)
                #expect(outbound.exchange == "hub.events")
                try ContractSupport.expectValid(outbound.envelope)
            }
            outputs.append(emitted.map(\.envelope))
        }
        await pool.close()
        return (inputs, outputs)
    }
}

/// Validates emitted envelopes against contracts/schemas (the envelope schema and the payload schema it names).
enum ContractSupport {
    static let registry: SchemaRegistry? = try? SchemaRegistry.load(
        directory: ComplianceSupport.repositoryRoot.appendingPathComponent("contracts/schemas")).registry

    static func expectValid(_ envelope: Envelope, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let registry = try #require(registry, "contracts/schemas loads")
        let decoded = try Envelope.decode(bytes: envelope.encode())
        #expect(decoded == envelope)
        let errors = try registry.validate(.object(envelope.data), against: envelope.dataSchema, pointer: "/data")
        #expect(errors.isEmpty, "\(envelope.type.value) violates its schema: \(errors)", sourceLocation: sourceLocation)
        // And the typed Swift counterpart (HubContracts.CompliancePayloads, what payments decodes) accepts it.
        #expect(CompliancePayloads.messageTypes.contains(envelope.type.value))
        try CompliancePayloads.validate(envelope)
    }
}

@Suite("R-AML-9 re-screening after a list update")
struct RescreeningTests {
    @Test("a party seen before a list update is found once; a party already hit at message time is not raised again")
    func rescreen() async throws {
        try await ComplianceSupport.prepareDatabase()
        let pool = try ComplianceSupport.pool()
        let late = "Late Listed \(UUID().uuidString.prefix(8)) Trading"
        let store = WatchlistStore(paths: [ComplianceSupport.fixtures.appendingPathComponent("watchlists").path])
        try store.reloadIfChanged()
        let checker = ComplianceChecker(parameters: ComplianceParameters(), watchlists: store, calendar: try ComplianceSupport.calendar())
        let correlation = UUID()
        func transfer(_ creditor: String) throws -> Envelope {
            try ComplianceSupport.envelope(
                [
                    "type": "payments.transfer.request.v1", "time": "2026-11-23T10:00:00+08:00",
                    "enterpriseid": .string(ComplianceSupport.uscc()),
                    "data": [
                        "clientRequestId": "rescreen-1",
                        "debtor": ["name": "甲公司", "account": .string(ComplianceSupport.account()), "agent": "105305000012"],
                        "creditor": ["name": .string(creditor), "account": .string(ComplianceSupport.account()), "agent": "103305200011"],
                        "amount": ["value": "10.00", "currency": "CNY"],
                    ],
                ], correlationID: correlation)
        }
        let clean = try transfer(late)
        let flagged = try transfer("BLACKSTONE TRADING GROUP LTD")
        for envelope in [clean, flagged] {
            _ = try await pool.withTransaction { transaction in
                try await checker.handle(
                    InboundMessage(envelope: envelope, exchange: "hub.commands", routingKey: envelope.type.routingKey),
                    context: HandlerContext(transaction: transaction, logger: ComplianceSupport.logger, consumer: "test"))
            }
        }
        var entries = store.index.entries
        entries.append(WatchlistEntry(list: "TEST-LATE", id: "L-1", names: [late.uppercased()]))
        let updated = WatchlistIndex(entries: entries)
        let rescreening = Rescreening(pool: pool, lookbackDays: 1)
        #expect(try await rescreening.run(index: updated) >= 1)
        let findings = try await pool.query(
            """
            SELECT rule, evidence->>'list', evidence->>'rescreening' FROM compliance.findings \
            WHERE subject_message_id = \(clean.id.uuid) ORDER BY raised_at
            """
        ).rows.map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String.self, at: 2)) }
        #expect(findings.count == 1)
        #expect(findings.first?.0 == "R-AML-9" && findings.first?.1 == "TEST-LATE" && findings.first?.2 == "true")
        let flaggedFindings = try await pool.query(
            "SELECT count(*)::int8 FROM compliance.findings WHERE subject_message_id = \(flagged.id.uuid) AND rule = 'R-AML-9'"
        ).rows[0].decode(Int64.self, at: 0)
        #expect(flaggedFindings == 1, "the message-time hit is not raised again by the re-screening")
        let queued = try await pool.query(
            """
            SELECT count(*)::int8 FROM hub.outbox WHERE producer = 'compliance.rescreening' \
            AND message_type = 'compliance.finding.raised.v1' AND aggregate_key = \(clean.id.description)
            """
        ).rows[0].decode(Int64.self, at: 0)
        #expect(queued == 1)
        // A second run after the same update raises nothing new for these parties.
        _ = try await rescreening.run(index: updated)
        let again = try await pool.query(
            "SELECT count(*)::int8 FROM compliance.findings WHERE subject_message_id = \(clean.id.uuid)"
        ).rows[0].decode(Int64.self, at: 0)
        #expect(again == 1)
        await pool.close()
    }
}
