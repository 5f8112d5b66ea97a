import AdapterSimulation
import Foundation
import HubCore
import HubRuntime
import HubStore
import Hummingbird
@testable import InterbankAdapter
import Logging
import ServiceLifecycle
import Testing

/// The interbank adapter in the runtime against the real broker and database and the bank simulator in-process,
/// with faults on. Serialized: the worker claims any due row of `interbank.transfers`, so one world at a time.
@Suite("Interbank adapter flows (pacs.008 → pacs.002, pacs.028, camt.060 → camt.053) with the simulator", .serialized)
struct InterbankFlowTests {
    /// Runs the harness with the handler, the worker and a simulator on a free port.
    func world<R: Sendable>(
        _ label: String, faults: SimulatorFaults = SimulatorFaults(), seed: UInt64 = 42, timeout: Duration = .seconds(2),
        _ body: (FlowHarness, InterbankSimulator) async throws -> R
    ) async throws -> R {
        try await FlowHarness.with(label: label, observe: ["interbank.#", "accounts.#"]) { harness in
            let simulator = InterbankSimulator(seed: seed, faults: faults)
            let (application, port) = try await FlowHarness.portOf { onRunning in
                simulator.application(port: 0, logger: FlowHarness.logger, onRunning: onRunning)
            }
            var configuration = InterbankConfiguration()
            configuration.timeout = timeout
            configuration.statusQueryDelay = .milliseconds(300)
            configuration.retryBaseDelay = .milliseconds(200)
            configuration.retryMaxDelay = .seconds(1)
            configuration.pollInterval = .milliseconds(50)
            return try await harness.running([application]) {
                // Work is recorded for this simulator's URL, so no other worker (another test, a serve) takes it.
                configuration.url = "http://127.0.0.1:\(await port())"
                let worker = InterbankWorker(pool: harness.pool, configuration: configuration, logger: FlowHarness.logger)
                return try await harness.running(harness.runtime(InterbankHandler(endpoint: configuration.url))) {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await worker.run() }
                        defer { group.cancelAll() }
                        return try await body(harness, simulator)
                    }
                }
            }
        }
    }

    func finalStatus(_ harness: FlowHarness, _ transferId: String) async throws -> Envelope? {
        try await harness.emittedEnvelopes(transferId).last {
            ["ACSC", "ACCC", "RJCT"].contains($0.data["status"]?.stringValue ?? "")
        }
    }

    func waitFinal(_ harness: FlowHarness, _ transferIds: [String]) async throws {
        let done = try await FlowHarness.eventually {
            for id in transferIds where try await finalStatus(harness, id) == nil { return false }
            return true
        }
        #expect(done, "not every transfer reached a final status")
    }

    func cleanUp(_ harness: FlowHarness, _ transferIds: [String]) async {
        for id in transferIds {
            guard let uuid = UUID(uuidString: id) else { continue }
            _ = try? await harness.pool.query("DELETE FROM interbank.transfers WHERE transfer_id = \(uuid)")
        }
    }

    @Test("Settled and rejected by the bank's account rules: ACSC, AC01, AC04, AC06, AM04, BE01, RC01, AM02, and ACSP then ACSC by query (R-PAY-4)")
    func accountRules() async throws {
        try await world("rules") { harness, simulator in
            let cases: [(creditor: String, debtor: String, agent: String, rail: String, amount: String, status: String, reason: String?)] = [
                ("512345678900010", "32250199880600001234", "308305067890", "HVPS", "1250000.00", "ACSC", nil),
                ("512345678909901", "32250199880600001234", "308305067890", "HVPS", "10.00", "RJCT", "AC01"),
                ("512345678909904", "32250199880600001234", "308305067890", "HVPS", "10.00", "RJCT", "AC04"),
                ("512345678909906", "32250199880600001234", "308305067890", "HVPS", "10.00", "RJCT", "AC06"),
                ("512345678900010", "32250199880600009914", "308305067890", "HVPS", "10.00", "RJCT", "AM04"),
                ("512345678909951", "32250199880600001234", "308305067890", "HVPS", "10.00", "RJCT", "BE01"),
                ("512345678900010", "32250199880600001234", "999305067890", "HVPS", "10.00", "RJCT", "RC01"),
                ("512345678900010", "32250199880600001234", "308305067890", "BEPS", "50000.01", "RJCT", "AM02"),
                ("512345678900010", "32250199880600001234", "308305067890", "BEPS", "50000.00", "ACSC", nil),
                ("512345678909970", "32250199880600001234", "308305067890", "IBPS", "10.00", "ACSC", nil),
            ]
            var ids: [String] = []
            var commands: [Envelope] = []
            for item in cases {
                let id = Commands.transferId()
                ids.append(id)
                commands.append(try Commands.submit(
                    transferId: id, amount: item.amount, rail: item.rail, debtorAccount: item.debtor,
                    creditorAccount: item.creditor, creditorAgent: item.agent))
            }
            try await harness.publish(commands)
            try await waitFinal(harness, ids)
            for (index, item) in cases.enumerated() {
                let final = try await finalStatus(harness, ids[index])
                #expect(final?.data["status"]?.stringValue == item.status, "case \(index)")
                #expect(final?.data["reasonCode"]?.stringValue == item.reason, "case \(index)")
                #expect(final?.causationID == commands[index].id.uuid)
                #expect(final?.correlationID == commands[index].correlationID)
                #expect(final?.enterpriseID == Commands.enterprise)
            }
            // The pending one: ACSP from the pacs.002, then ACSC from the status query.
            let pending = try await harness.emittedEnvelopes(ids[9]).map { "\($0.data["status"]?.stringValue ?? "")/\($0.data["source"]?.stringValue ?? "")" }
            #expect(pending == ["ACSP/pacs.002", "ACSC/status-query"])
            // And the events reach hub.events.
            #expect(try await FlowHarness.eventually { harness.observed(ids[0]).count == 1 })
            await cleanUp(harness, ids)
        }
    }

    @Test("A timeout, a 503 and a lost answer are resolved by status query; a resend uses the same MsgId and UETR (R-PAY-4)")
    func timeoutsResolvedByQuery() async throws {
        try await world("timeouts", faults: try SimulatorFaults(parsing: "hang=4s"), timeout: .seconds(1)) { harness, simulator in
            let hang = try Commands.submit(creditorAccount: "512345678909980")
            let unavailable = try Commands.submit(creditorAccount: "512345678909950")
            try await harness.publish([hang, unavailable])
            let ids = [hang, unavailable].map { $0.data["transferId"]!.stringValue! }
            try await waitFinal(harness, ids)
            // The hung one: processed once, answered only to the status query.
            let hangEvents = try await harness.emittedEnvelopes(ids[0])
            #expect(hangEvents.map { $0.data["status"]?.stringValue } == ["ACSC"])
            #expect(hangEvents.first?.data["source"]?.stringValue == "status-query")
            let hangRecord = simulator.record(uetr: hang.data["uetr"]!.stringValue!)
            #expect(hangRecord?.receipts == 1)
            // The 503 one: not processed, so the query found nothing and the SAME pacs.008 was sent again.
            let record = simulator.record(uetr: unavailable.data["uetr"]!.stringValue!)
            let transferId = try #require(UUID(uuidString: ids[1]))
            #expect(record?.messageIds == [Interbank.messageId(for: transferId)])
            #expect(record?.transaction.endToEndId == unavailable.data["endToEndId"]?.stringValue)
            let sends = try await harness.pool.query("SELECT sends FROM interbank.transfers WHERE transfer_id = \(transferId)").rows.first
            #expect(try sends?.decode(Int.self, at: 0) == 2)
            await cleanUp(harness, ids)
        }
    }

    @Test("Duplicate submits (redelivery, retry) send one id set; a reused transferId with another payload is parked")
    func duplicates() async throws {
        try await world("duplicates") { harness, simulator in
            let submit = try Commands.submit()
            let id = submit.data["transferId"]!.stringValue!
            let again = try Commands.submitCopy(of: submit)
            try await harness.publish([submit, submit, again])
            try await waitFinal(harness, [id])
            let record = try #require(simulator.record(uetr: submit.data["uetr"]!.stringValue!))
            #expect(record.messageIds.count == 1)
            #expect(record.receipts <= 2)
            let statuses = try await harness.emittedEnvelopes(id).compactMap { $0.data["status"]?.stringValue }
            #expect(Set(statuses) == ["ACSC"])
            // Same transferId, different amount: refused for good.
            let changed = try Commands.submit(transferId: id, uetr: submit.data["uetr"]!.stringValue!, amount: "1.00")
            try await harness.publish([changed])
            #expect(try await FlowHarness.eventually { try await harness.parked().contains { $0.code == "transfer-id-reused" } })
            #expect(record.receipts == simulator.record(uetr: submit.data["uetr"]!.stringValue!)?.receipts)
            await cleanUp(harness, [id])
        }
    }

    @Test("A status query reports the final status again (source status-query); an unknown transfer is parked")
    func statusQueries() async throws {
        try await world("queries") { harness, _ in
            let submit = try Commands.submit(creditorAccount: "512345678909904")
            let id = submit.data["transferId"]!.stringValue!
            try await harness.publish([submit])
            try await waitFinal(harness, [id])
            let query = try Commands.statusQuery(submit)
            try await harness.publish([query])
            #expect(try await FlowHarness.eventually {
                try await harness.emittedEnvelopes(id).contains { $0.data["source"]?.stringValue == "status-query" }
            })
            let answer = try await harness.emittedEnvelopes(id).last
            #expect(answer?.data["status"]?.stringValue == "RJCT")
            #expect(answer?.data["reasonCode"]?.stringValue == "AC04")
            #expect(answer?.causationID == query.id.uuid)
            #expect(answer?.correlationID == submit.correlationID)
            let unknown = try Commands.statusQuery(try Commands.submit())
            try await harness.publish([unknown])
            #expect(try await FlowHarness.eventually { try await harness.parked().contains { $0.code == "unknown-transfer" } })
            await cleanUp(harness, [id])
        }
    }

    @Test("Random faults from a seed (timeouts, 5xx, lost answers, rejections, pending): every transfer ends with one final status and one id set")
    func randomFaults() async throws {
        let faults = try SimulatorFaults(parsing: "timeout=0.15,hang=3s,5xx=0.15,lost=0.15,reject=0.2,pending=0.3,duplicate=0.5,latency=5ms")
        try await world("faults", faults: faults, seed: 2026, timeout: .seconds(1)) { harness, simulator in
            // Faults are drawn from the seed and each UETR, and UETRs are new every run. So that the duplicate-answer
            // check below never depends on luck, the first transfer's UETR is chosen (by the simulator's own
            // draws) to be accepted pending with no transport fault and its status repeated once.
            let first = try Commands.submit(uetr: Commands.uetr(seed: 2026, faults: faults))
            let commands = try [first] + (0..<15).map { _ in try Commands.submit() }
            try await harness.publish(commands)
            let ids = commands.map { $0.data["transferId"]!.stringValue! }
            try await waitFinal(harness, ids)
            for command in commands {
                let id = command.data["transferId"]!.stringValue!
                let finals = try await harness.emittedEnvelopes(id).filter { ["ACSC", "RJCT"].contains($0.data["status"]?.stringValue ?? "") }
                #expect(finals.count == 1)
                // A repeated status (duplicate answers) is reported once: consecutive events always differ.
                let statuses = try await harness.emittedEnvelopes(id).compactMap { $0.data["status"]?.stringValue }
                #expect(zip(statuses, statuses.dropFirst()).allSatisfy { $0 != $1 }, "\(statuses)")
                let record = simulator.record(uetr: command.data["uetr"]!.stringValue!)
                #expect(record?.messageIds.count == 1)
                if finals.first?.data["status"]?.stringValue == "RJCT" {
                    #expect(InterbankSimulator.randomRejectionCodes.contains(finals.first?.data["reasonCode"]?.stringValue ?? ""))
                }
            }
            // The seed makes the duplicate fault happen here (so the check above is not vacuous).
            #expect(commands.contains { (simulator.record(uetr: $0.data["uetr"]!.stringValue!)?.repeatedAnswers ?? 0) > 0 })
            await cleanUp(harness, ids)
        }
    }

    @Test("A figure, not an assertion: 300 transfers through the runtime, the worker (8 in flight) and the simulator")
    func throughput() async throws {
        try await world("throughput") { harness, _ in
            let marker = "BENCH-\(UUID().uuidString.prefix(8))"
            let commands = try (0..<300).map { _ in try Commands.submit(remittance: marker) }
            let start = ContinuousClock.now
            try await harness.publish(commands)
            let pattern = "%\(marker)%"
            let done = try await FlowHarness.eventually(timeout: .seconds(120)) {
                let row = try await harness.pool.query(
                    "SELECT count(*)::int8 FROM interbank.transfers WHERE request LIKE \(pattern) AND next_action = 'none'").rows[0]
                return try row.decode(Int64.self, at: 0) == Int64(commands.count)
            }
            #expect(done)
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("interbank: \(commands.count) transfers submitted → ACSC recorded in \(String(format: "%.2f", seconds)) s "
                + "(\(Int(Double(commands.count) / seconds)) transfers/s, debug build, shared machine)")
            _ = try? await harness.pool.query("DELETE FROM interbank.transfers WHERE request LIKE \(pattern)")
        }
    }

    @Test("camt.060 → camt.053: a statement event with signed balances and entries; a statement that does not add up is flagged, not emitted")
    func accountReports() async throws {
        try await world("camt") { harness, _ in
            let good = "RPT-\(UUID().uuidString.prefix(8))"
            let broken = "RPT-\(UUID().uuidString.prefix(8))"
            try await harness.publish([
                try Commands.accountReport(requestId: good, account: "512345678900010"),
                try Commands.accountReport(requestId: broken, account: "512345678909991"),
            ])
            #expect(try await FlowHarness.eventually { try await !harness.emitted(good).isEmpty })
            let event = try #require(try await harness.emittedEnvelopes(good).first)
            #expect(event.type.value == "accounts.statement.received.v1")
            let balances = event.data["balances"]?.arrayValue ?? []
            #expect(balances.compactMap { $0["type"]?.stringValue } == ["OPBD", "CLBD", "CLAV"])
            #expect((event.data["entries"]?.arrayValue ?? []).count >= 3)
            #expect(try await FlowHarness.eventually {
                try await harness.pool.query("SELECT flag FROM interbank.account_reports WHERE request_id = \(broken)")
                    .rows.first?.decode(String?.self, at: 0) != nil
            })
            #expect(try await harness.emitted(broken).isEmpty)
            _ = try? await harness.pool.query("DELETE FROM interbank.account_reports WHERE request_id = \(good) OR request_id = \(broken)")
        }
    }
}

extension Commands {
    /// The same payload in a new envelope (a client retry).
    /// A UETR whose seeded draws (as `InterbankSimulator.decide` and its duplicate draw make them) give: no timeout,
    /// 5xx or lost answer, no random rejection, pending (ACSP), and a repeated in-progress status.
    static func uetr(seed: UInt64, faults: SimulatorFaults) -> String {
        while true {
            let uetr = Commands.uetr()
            var random = SplitMix64(seed: seed, key: uetr)
            let draws = (0..<6).map { _ in random.unit() }
            var duplicate = SplitMix64(seed: seed, key: uetr + "|dup")
            if draws[0] >= faults.timeoutRate, draws[1] >= faults.errorRate, draws[2] >= faults.lostRate,
               draws[3] >= faults.rejectRate, draws[5] < faults.pendingRate, duplicate.unit() < faults.duplicateRate {
                return uetr
            }
        }
    }

    static func submitCopy(of envelope: Envelope) throws -> Envelope {
        try Envelope(
            source: envelope.source, type: envelope.type, dataSchema: envelope.dataSchema, data: envelope.data,
            correlationID: envelope.correlationID, enterpriseID: envelope.enterpriseID)
    }
}
