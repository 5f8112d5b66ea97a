import ComplianceChecker
import Foundation
import HubCore
import HubRuntime
import HubStore
import ServiceLifecycle
import Testing

/// The checker running on the real broker and database: messages in, compliance messages out on `hub.events`.
@Suite("Compliance checker running on the broker", .serialized)
struct ComplianceBrokerTests {
    static func checker(_ parameters: ComplianceParameters = ComplianceParameters(), watchlists: WatchlistStore? = nil) throws
        -> ComplianceChecker
    {
        let store = watchlists ?? WatchlistStore(paths: [ComplianceSupport.fixtures.appendingPathComponent("watchlists").path])
        try store.reloadIfChanged()
        return ComplianceChecker(parameters: parameters, watchlists: store, calendar: try ComplianceSupport.calendar())
    }

    /// A transfer request whose creditor is on the test list (R-AML-9 → hold).
    static func heldTransfer(correlation: UUID, enterprise: String = ComplianceSupport.uscc()) throws -> Envelope {
        let message: JSONValue = [
            "type": "payments.transfer.request.v1", "time": "2026-11-23T10:00:00+08:00",
            "enterpriseid": .string(enterprise),
            "data": [
                "clientRequestId": .string("hold-\(correlation.uuidString.prefix(8))"),
                "debtor": ["name": "苏州甲科技有限公司", "account": .string(ComplianceSupport.account()), "agent": "105305000012", "kind": "enterprise"],
                "creditor": ["name": "BLACKSTONE TRADING GROUP LTD", "account": .string(ComplianceSupport.account()), "agent": "103305200011", "kind": "enterprise"],
                "amount": ["value": "1000.00", "currency": "CNY"],
            ],
        ]
        return try ComplianceSupport.envelope(message, correlationID: correlation)
    }

    @Test("REFERENCE.md vectors #18–24 (R-AML-1..5, R-FX-2, R-ECNY-1) and every default-parameter golden file, as messages")
    func vectorsThroughTheRunningChecker() async throws {
        let cases = try GoldenCase.all().filter { $0.parameters == nil }
        let vectors = Set(cases.compactMap(\.vector))
        #expect(vectors.isSuperset(of: [18, 19, 20, 21, 22, 23, 24]))
        try await RunningChecker.with(label: "vectors", checker: try Self.checker()) { running in
            var sent: [(GoldenCase, UUID, [Envelope])] = []
            for golden in cases {
                let correlation = UUID()
                let envelopes = try golden.messages.map { try ComplianceSupport.envelope($0, correlationID: correlation) }
                sent.append((golden, correlation, envelopes))
                try await running.publish(envelopes)
            }
            for (golden, correlation, envelopes) in sent {
                let expectedCount = golden.expectations.reduce(0) { $0 + $1.count }
                let events = try await running.waitFor(correlation: correlation) { $0.count >= expectedCount }
                #expect(events.count == expectedCount, "\(golden.name): \(events.count) messages, expected \(expectedCount)")
                for (index, envelope) in envelopes.enumerated() {
                    Projection.compare(
                        expected: golden.expectations[index],
                        actual: events.filter { $0.causationID == envelope.id.uuid },
                        context: "\(golden.name) (broker) message \(index + 1)")
                }
            }
        }
    }

    @Test("exactly one verdict per screened command, also when the broker delivers it twice")
    func oneVerdictPerCommand() async throws {
        try await RunningChecker.with(label: "once", checker: try Self.checker()) { running in
            let correlation = UUID()
            let held = try Self.heldTransfer(correlation: correlation)
            try await running.publish([held])
            try await running.publish([held])  // a redelivery: same envelope id
            // Same enterprise, so the same lane: handled after the duplicate.
            let sentinel = try Self.heldTransfer(correlation: correlation, enterprise: held.enterpriseID!.value)
            try await running.publish([sentinel])
            let verdictTypes = [ComplianceEvents.holdPlaced, ComplianceEvents.screeningCleared]
            let events = try await running.waitFor(correlation: correlation) { events in
                events.contains { $0.causationID == sentinel.id.uuid && verdictTypes.contains($0.type.value) }
                    && events.contains { $0.causationID == held.id.uuid && verdictTypes.contains($0.type.value) }
            }
            #expect(events.filter { $0.causationID == held.id.uuid && verdictTypes.contains($0.type.value) }.count == 1)
            // Decisive: every verdict ever committed for the command is in the outbox.
            let stored = try await running.pool.query(
                """
                SELECT count(*)::int8 FROM hub.outbox WHERE aggregate_key = \(held.id.description) \
                AND message_type IN ('compliance.hold.placed.v1', 'compliance.screening.cleared.v1')
                """
            ).rows[0].decode(Int64.self, at: 0)
            #expect(stored == 1)
        }
    }

    @Test("hold: placed on a screening hit, listed, released by a reviewer; a second decision is refused")
    func holdRelease() async throws {
        try await RunningChecker.with(label: "release", checker: try Self.checker()) { running in
            let correlation = UUID()
            let command = try Self.heldTransfer(correlation: correlation)
            try await running.publish([command])
            let placedEvents = try await running.waitFor(correlation: correlation) { $0.contains { $0.type.value == ComplianceEvents.holdPlaced } }
            let placed = try #require(placedEvents.first { $0.type.value == ComplianceEvents.holdPlaced })
            #expect(placed.data["subjectMessageId"]?.stringValue == command.id.description)
            #expect(placed.data["rules"] == ["R-AML-9"])
            let holds = ComplianceHolds(pool: running.pool)
            let listed = try await holds.list(correlationID: correlation)
            let hold = try #require(listed.first)
            #expect(listed.count == 1 && hold.status == "open" && hold.approvalsRequired == 1)
            #expect(placed.data["holdId"]?.stringValue == hold.holdID.uuidString.lowercased())

            let outcome = try await holds.release(hold.holdID, reviewer: "alice", reason: "false positive: different entity")
            #expect(outcome == .released(reviewers: ["alice"]))
            let events = try await running.waitFor(correlation: correlation) { $0.contains { $0.type.value == ComplianceEvents.holdReleased } }
            let released = try #require(events.first { $0.type.value == ComplianceEvents.holdReleased })
            #expect(released.data["reviewers"] == ["alice"])
            #expect(released.data["subjectMessageId"]?.stringValue == command.id.description)
            #expect(released.causationID == command.id.uuid)
            try ContractSupport.expectValid(released)
            await #expect(throws: ComplianceHolds.ReviewError.self) {
                _ = try await holds.reject(hold.holdID, reviewer: "bob", reason: "too late")
            }
            #expect(try await holds.list(status: "released", correlationID: correlation).count == 1)
        }
    }

    @Test("hold: four-eyes mode needs two different reviewers to release")
    func fourEyes() async throws {
        var parameters = ComplianceParameters()
        parameters.holds.fourEyes = true
        try await RunningChecker.with(label: "foureyes", checker: try Self.checker(parameters)) { running in
            let correlation = UUID()
            try await running.publish([try Self.heldTransfer(correlation: correlation)])
            _ = try await running.waitFor(correlation: correlation) { $0.contains { $0.type.value == ComplianceEvents.holdPlaced } }
            let holds = ComplianceHolds(pool: running.pool)
            let hold = try #require(try await holds.list(correlationID: correlation).first)
            #expect(hold.approvalsRequired == 2)
            #expect(try await holds.release(hold.holdID, reviewer: "alice", reason: "checked the register") == .awaitingSecondReviewer(approvals: ["alice"]))
            await #expect(throws: ComplianceHolds.ReviewError.self) {
                _ = try await holds.release(hold.holdID, reviewer: "alice", reason: "again")
            }
            #expect(try await holds.list(correlationID: correlation).first?.status == "open")
            #expect(try await holds.release(hold.holdID, reviewer: "bob", reason: "agree") == .released(reviewers: ["alice", "bob"]))
            let events = try await running.waitFor(correlation: correlation) { $0.contains { $0.type.value == ComplianceEvents.holdReleased } }
            #expect(events.filter { $0.type.value == ComplianceEvents.holdReviewed }.count == 1)
            #expect(events.first { $0.type.value == ComplianceEvents.holdReleased }?.data["reviewers"] == ["alice", "bob"])
            for event in events { try ContractSupport.expectValid(event) }
        }
    }

    @Test("hold: rejected by a reviewer, with the reason in the event")
    func holdReject() async throws {
        try await RunningChecker.with(label: "reject", checker: try Self.checker()) { running in
            let correlation = UUID()
            try await running.publish([try Self.heldTransfer(correlation: correlation)])
            _ = try await running.waitFor(correlation: correlation) { $0.contains { $0.type.value == ComplianceEvents.holdPlaced } }
            let holds = ComplianceHolds(pool: running.pool)
            let hold = try #require(try await holds.list(correlationID: correlation).first)
            await #expect(throws: ComplianceHolds.ReviewError.self) {
                _ = try await holds.reject(hold.holdID, reviewer: "carol", reason: "  ")
            }
            await #expect(throws: ComplianceHolds.ReviewError.self, "system: names are reserved") {
                _ = try await holds.reject(hold.holdID, reviewer: "system:hold-expiry", reason: "impersonation")
            }
            #expect(try await holds.reject(hold.holdID, reviewer: "carol", reason: "confirmed sanctions match") == .rejected(reviewers: ["carol"]))
            let events = try await running.waitFor(correlation: correlation) { $0.contains { $0.type.value == ComplianceEvents.holdRejected } }
            let rejected = try #require(events.first { $0.type.value == ComplianceEvents.holdRejected })
            #expect(rejected.data["reason"] == "confirmed sanctions match")
            #expect(rejected.data["reviewers"] == ["carol"])
        }
    }

    @Test("hold: expires into a rejection after the configured time (timer service)")
    func holdExpiry() async throws {
        var parameters = ComplianceParameters()
        parameters.holds.expirySeconds = 1
        let checker = try Self.checker(parameters)
        try await RunningChecker.with(
            label: "expiry", checker: checker,
            extraServices: { pool in
                [HoldExpiryService(holds: ComplianceHolds(pool: pool), interval: .milliseconds(250), logger: ComplianceSupport.logger)]
            }
        ) { running in
            let correlation = UUID()
            try await running.publish([try Self.heldTransfer(correlation: correlation)])
            let events = try await running.waitFor(correlation: correlation) { $0.contains { $0.type.value == ComplianceEvents.holdRejected } }
            let rejected = try #require(events.first { $0.type.value == ComplianceEvents.holdRejected })
            #expect(rejected.data["reviewers"] == [.string(ComplianceHolds.expiryReviewer)])
            #expect(rejected.data["reason"]?.stringValue?.contains("expired") == true)
            try ContractSupport.expectValid(rejected)
            #expect(try await ComplianceHolds(pool: running.pool).list(status: "expired", correlationID: correlation).count == 1)
        }
    }

    @Test("R-AML-9: a watchlist file changed while the checker runs is used without a restart")
    func watchlistReloadWhileRunning() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("compliance-lists-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = WatchlistStore(paths: [folder.path])
        try store.reloadIfChanged()
        let target = "Reload Target \(UUID().uuidString.prefix(6)) Co"
        let checker = try Self.checker(watchlists: store)
        try await RunningChecker.with(
            label: "reload", checker: checker,
            extraServices: { _ in [WatchlistReloader(store: store, interval: .milliseconds(100), logger: ComplianceSupport.logger)] }
        ) { running in
            func send(_ correlation: UUID) async throws -> String? {
                let message: JSONValue = [
                    "type": "payments.transfer.request.v1", "time": "2026-11-23T10:00:00+08:00",
                    "enterpriseid": .string(ComplianceSupport.uscc()),
                    "data": [
                        "clientRequestId": "reload-1",
                        "debtor": ["name": "甲公司", "account": .string(ComplianceSupport.account()), "agent": "105305000012"],
                        "creditor": ["name": .string(target), "account": .string(ComplianceSupport.account()), "agent": "103305200011", "kind": "enterprise"],
                        "amount": ["value": "10.00", "currency": "CNY"],
                    ],
                ]
                try await running.publish([try ComplianceSupport.envelope(message, correlationID: correlation)])
                let events = try await running.waitFor(correlation: correlation) { events in
                    events.contains { [ComplianceEvents.holdPlaced, ComplianceEvents.screeningCleared].contains($0.type.value) }
                }
                return events.last?.type.value
            }
            #expect(try await send(UUID()) == ComplianceEvents.screeningCleared)
            let loadsBefore = store.loadCount
            let list = #"{"list": "TEST-RELOAD", "entries": [{"id": "R-1", "names": ["\#(target.uppercased())"]}]}"#
            try Data(list.utf8).write(to: folder.appendingPathComponent("reload.json"))
            let deadline = ContinuousClock.now + .seconds(30)
            while store.loadCount == loadsBefore && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(store.loadCount > loadsBefore)
            #expect(try await send(UUID()) == ComplianceEvents.holdPlaced)
        }
    }
}

@Suite("R-AML-9 watchlist files")
struct WatchlistFileTests {
    @Test("JSON and CSV lists load; a changed file reloads; a broken file keeps the previous lists")
    func reload() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lists-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("a.json")
        try Data(#"{"list": "L1", "entries": [{"id": "1", "names": ["Alpha Holdings"]}]}"#.utf8).write(to: json)
        try Data("list,id,name,uscc,idNumber,bic\nL2,9,,91350100M000100Y43,,\n".utf8).write(to: folder.appendingPathComponent("b.csv"))
        let store = WatchlistStore(paths: [folder.path])
        #expect(try store.reloadIfChanged())
        #expect(try store.reloadIfChanged() == false, "nothing changed")
        let alpha = ScreeningSubject(field: .name, value: "ALPHA  holdings", pointer: "/data/creditor/name")
        let beta = ScreeningSubject(field: .name, value: "Beta Holdings", pointer: "/data/creditor/name")
        let uscc = ScreeningSubject(field: .uscc, value: "91350100M000100Y43", pointer: "/enterpriseid")
        #expect(store.index.screen([alpha, uscc]).map(\.list) == ["L1", "L2"])
        try Data(#"{"list": "L1", "entries": [{"id": "2", "names": ["Beta Holdings Group"]}, {"id": "3", "names": ["Beta Holdings"]}]}"#.utf8).write(to: json)
        #expect(try store.reloadIfChanged())
        #expect(store.index.screen([alpha]).isEmpty)
        #expect(store.index.screen([beta]).map(\.entryID) == ["3"])
        try Data(#"{"list": "L1", "entries": [{"names": ["x"]}]}"#.utf8).write(to: json)
        #expect(throws: WatchlistStore.LoadError.self) { try store.reloadIfChanged() }
        #expect(store.index.screen([beta]).map(\.entryID) == ["3"], "the previous lists stay in use")
    }
}
