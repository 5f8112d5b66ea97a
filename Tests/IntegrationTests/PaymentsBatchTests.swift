import Foundation
import HubCore
import HubStore
import PaymentsService
import Testing

extension PaymentsFlowTests {
    func batchRequest(_ harness: PaymentsHarness, batchId: String, lines: [(Int, JSONValue, String)],
                      controlSum: String? = nil, originalBatchId: String? = nil, kind: String = "payroll",
                      basis: String? = "代发工资协议 2026-01") throws -> Envelope {
        var total = Money.zero(.cny)
        for line in lines { total = try total.adding(try Money(string: line.2, currency: .cny)) }
        var data: [(String, JSONValue)] = [
            ("batchId", .string(batchId)), ("kind", .string(kind)),
            ("payer", ["name": "苏州汇通制造有限公司", "account": .string(harness.debtorAccount), "agent": "102305000014",
                       "kind": "enterprise"]),
            ("purpose", "工资"), ("numberOfTransactions", .number(JSONNumber(lines.count))),
            ("controlSum", .string(controlSum ?? total.amountString)), ("currency", "CNY"),
            ("lines", .array(lines.map { sequence, creditor, amount in
                ["sequence": .number(JSONNumber(sequence)), "creditor": creditor,
                 "amount": ["value": .string(amount), "currency": "CNY"]]
            })),
        ]
        if let originalBatchId { data.append(("originalBatchId", .string(originalBatchId))) }
        if let basis { data.append(("documentedBasis", .string(basis))) }
        return try Envelope(
            source: "/partners/test-erp", type: MessageType(T.batchRequest), dataSchema: T.schemaURI(T.batchRequest),
            data: JSONObject(data), correlationID: UUID(), enterpriseID: harness.enterprise)
    }

    static func person(_ account: String) -> JSONValue {
        ["name": "员工", "kind": "person", "account": .string(account), "agent": "104290003019"]
    }

    @Test("R-PAY-6/7/8: a payroll batch with mixed line results completes with per-line results; the retry batch pays the failed and refused lines only; a batch whose control sum is wrong is refused whole")
    func payrollWithRetry() async throws {
        try await PaymentsHarness.with(label: "batch", configure: { $0.complianceGate = false }) { harness in
            let batchId = "PAY-\(harness.suffix)"
            let batch = try batchRequest(harness, batchId: batchId, lines: [
                (1, Self.person("6222000000000001"), "8000.00"),
                (2, Self.person("6222000000000002"), "60000.00"),   // above R-PAY-8's limit: the payroll basis covers it
                (3, Self.person("bad account"), "7000.00"),         // refused at intake: AC03
            ])
            let flow = try #require(batch.correlationID)
            try await harness.publish(batch)
            let accepted = try #require(try await harness.waitFor(flow, T.batchAccepted).first)
            #expect(accepted.data["acceptedCount"] == 2)
            #expect(accepted.data["rejectedCount"] == 1)
            let submits = try await harness.waitFor(flow, T.interbankSubmit, count: 2)
            #expect(Set(submits.compactMap { $0.string("endToEndId") }) == ["\(batchId)-1", "\(batchId)-2"])
            let refused = try #require(try await harness.emitted(flow, type: T.transferRejected).first)
            #expect(refused.string("reasonCode") == "AC03")
            #expect(refused.data["sequence"] == 3)
            #expect(refused.string("batchId") == batchId)

            // Line 1 settles, line 2 fails at the receiving bank (AC04: account closed).
            let bySequence = Dictionary(uniqueKeysWithValues: submits.map { ($0.string("endToEndId")!, $0) })
            try await harness.publish(
                try statusReported(harness, bySequence["\(batchId)-1"]!, "ACSC"),
                try statusReported(harness, bySequence["\(batchId)-2"]!, "RJCT", reasonCode: "AC04"))
            let completed = try #require(try await harness.waitFor(flow, T.batchCompleted).first)
            #expect(completed.data["settledCount"] == 1)
            #expect(completed.data["failedCount"] == 1)
            #expect(completed.data["rejectedCount"] == 1)
            let results = (completed.data["lines"]?.arrayValue ?? []).map {
                ($0["sequence"]?.stringValue ?? ($0["sequence"].map { "\($0)" } ?? ""), $0["status"]?.stringValue ?? "",
                 $0["reasonCode"]?.stringValue)
            }
            #expect(results.map(\.1) == ["settled", "failed", "rejected"])
            #expect(results.map(\.2) == [nil, "AC04", "AC03"])

            // R-PAY-7: the retry names the original; line 1 settled and is refused (AM05), lines 2 and 3 are paid.
            let retry = try batchRequest(harness, batchId: "\(batchId)-R1", lines: [
                (1, Self.person("6222000000000001"), "8000.00"),
                (2, Self.person("6222000000000009"), "60000.00"),
                (3, Self.person("6222000000000003"), "7000.00"),
            ], originalBatchId: batchId)
            let retryFlow = try #require(retry.correlationID)
            try await harness.publish(retry)
            let retryAccepted = try #require(try await harness.waitFor(retryFlow, T.batchAccepted).first)
            #expect(retryAccepted.data["acceptedCount"] == 2)
            #expect(retryAccepted.string("originalBatchId") == batchId)
            let retryRefusal = try #require(try await harness.waitFor(retryFlow, T.transferRejected).first)
            #expect(retryRefusal.string("reasonCode") == "AM05")
            #expect(retryRefusal.data["sequence"] == 1)
            #expect(try await harness.waitFor(retryFlow, T.interbankSubmit, count: 2).count == 2)

            // Retrying the same failed line again while its retry is alive is refused too.
            let again = try batchRequest(harness, batchId: "\(batchId)-R2", lines: [
                (2, Self.person("6222000000000009"), "60000.00"),
            ], originalBatchId: batchId)
            try await harness.publish(again)
            let againFlow = try #require(again.correlationID)
            let againRefusal = try #require(try await harness.waitFor(againFlow, T.transferRejected).first)
            #expect(againRefusal.string("reasonCode") == "AM05")

            // R-PAY-6: the control sum differs from the lines: the whole batch is refused, nothing is submitted.
            let wrongSum = try batchRequest(harness, batchId: "\(batchId)-X", lines: [
                (1, Self.person("6222000000000004"), "100.00"), (2, Self.person("6222000000000005"), "200.00"),
            ], controlSum: "300.01")
            let wrongFlow = try #require(wrongSum.correlationID)
            try await harness.publish(wrongSum)
            let rejected = try #require(try await harness.waitFor(wrongFlow, T.batchRejected).first)
            #expect(rejected.string("reasonCode") == "FF01")
            #expect(rejected.string("pointer") == "/data/controlSum")
            #expect(try await harness.emitted(wrongFlow).count == 1)
        }
    }

    @Test("R-PAY-8 in a transfers batch: a corporate→person line above the limit needs its own basis (RR04); a held batch is released for all its lines at once")
    func transfersBatchUnderHold() async throws {
        try await PaymentsHarness.with(label: "batchhold") { harness in
            let batch = try batchRequest(harness, batchId: "TRF-\(harness.suffix)", lines: [
                (1, Self.person("6222000000000011"), "100.00"),
                (2, Self.person("6222000000000012"), "50000.01"),
                (3, ["name": "供应商", "kind": "enterprise", "wallet": "0012345678901234", "walletOperator": "CCB"], "300.00"),
            ], kind: "transfers", basis: "代发工资协议 2026-01")
            let flow = try #require(batch.correlationID)
            try await harness.publish(batch)
            try await harness.waitFor(flow, T.transferPendingCompliance, count: 2)
            let refused = try #require(try await harness.emitted(flow, type: T.transferRejected).first)
            #expect(refused.string("reasonCode") == "RR04")
            #expect(try await harness.emitted(flow, type: T.interbankSubmit).isEmpty)
            try await harness.publish(
                try harness.event(T.holdPlaced, [("holdId", "HB1"), ("subjectMessageId", .string(batch.id.description)),
                                                 ("subjectType", .string(batch.type.value)), ("rules", ["R-AML-5"]),
                                                 ("reason", "structuring pattern")]))
            try await harness.publish(
                try harness.event(T.holdReleased, [("holdId", "HB1"), ("subjectMessageId", .string(batch.id.description)),
                                                   ("reviewers", ["officer-1"])]))
            try await harness.waitFor(flow, T.interbankSubmit)
            try await harness.waitFor(flow, T.ecnySubmit)
        }
    }

    @Test("A batch whose compliance rejection arrives first completes once, with every line refused LEGL")
    func batchRejectedByComplianceFirst() async throws {
        try await PaymentsHarness.with(label: "batchlegl") { harness in
            let batch = try batchRequest(harness, batchId: "LEGL-\(harness.suffix)", lines: [
                (1, Self.person("6222000000000021"), "100.00"), (2, Self.person("6222000000000022"), "200.00"),
                (3, Self.person("6222000000000023"), "300.00"),
            ])
            try await harness.publish(try harness.event(T.holdRejected, [
                ("holdId", "HL"), ("subjectMessageId", .string(batch.id.description)), ("reason", "list hit"),
                ("reviewers", ["officer-1"]),
            ]))
            try await RuntimeSupport.expectEventually {
                !(try await harness.pool.query(
                    "SELECT 1 FROM payments.compliance_verdicts WHERE subject_message_id = \(batch.id.uuid)").rows.isEmpty)
            }
            try await harness.publish(batch)
            let flow = try #require(batch.correlationID)
            let completed = try await harness.waitFor(flow, T.batchCompleted)
            #expect(completed.count == 1)
            let lines = completed.first?.data["lines"]?.arrayValue ?? []
            #expect(lines.count == 3)
            #expect(lines.allSatisfy { $0["status"] == "rejected" && $0["reasonCode"] == "LEGL" })
            #expect(completed.first?.data["rejectedCount"] == 3)
            #expect(try await harness.emitted(flow, type: T.interbankSubmit).isEmpty)
        }
    }
}
