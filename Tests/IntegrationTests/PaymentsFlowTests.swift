import Foundation
import HubAMQP
import HubApp
import HubCore
import HubRuntime
import HubStore
import PaymentsService
import Testing

/// The payments service in the real runtime (RabbitMQ + PostgreSQL), the tests playing the adapters and compliance.
/// Each test has its own enterprise, queue and clock (in 2099, so that a real-clock timer elsewhere never finds its
/// transfers due), and its timer only looks at its own enterprise. Serialized all the same, to keep the load of one
/// flow at a time on the shared servers.
@Suite("Payments flows (real RabbitMQ and PostgreSQL)", .serialized)
struct PaymentsFlowTests {
    typealias T = PaymentsMessageType

    func statusReported(_ harness: PaymentsHarness, _ submit: Envelope, _ status: String, reasonCode: String? = nil,
                        source: String = "pacs.002") throws -> Envelope {
        var data: [(String, JSONValue)] = [
            ("transferId", .string(submit.string("transferId")!)), ("uetr", .string(submit.string("uetr")!)),
            ("endToEndId", .string(submit.string("endToEndId")!)), ("status", .string(status)), ("source", .string(source)),
        ]
        if let reasonCode { data.append(("reasonCode", .string(reasonCode))) }
        return try harness.event(T.interbankStatusReported, data, correlationID: submit.correlationID)
    }

    @Test("Happy path on HVPS (R-PAY-1): gate, submit with a UUIDv4 UETR, ACSP then ACSC → one settlement; the relay publishes the flow")
    func hvpsHappyPath() async throws {
        try await PaymentsHarness.with(label: "hvps") { harness in
          // The tap exists before anything is published: in a full test run, relays of other tests share the outbox
          // and may publish this flow's rows before this test's own relay runs.
          let tap = "test.payments-tap-\(harness.suffix)"
          try await AMQPSupport.withCleanup(queues: [tap]) {
            try await AMQPSupport.withConnection { connection in
                try await connection.declare(Topology(
                    queues: [Topology.Queue(name: tap)],
                    bindings: [
                        Topology.Binding(queue: tap, exchange: Topology.ExchangeName.events, routingKey: "payments.transfer.*"),
                        Topology.Binding(queue: tap, exchange: Topology.ExchangeName.commands,
                                         routingKey: "interbank.credit-transfer.submit"),
                    ]))
            }
            let request = try harness.transferRequest(clientRequestId: "hvps-\(harness.suffix)", amount: "60000.00")
            let flow = try #require(request.correlationID)
            try await harness.publish(request)
            let accepted = try await harness.waitFor(flow, T.transferAccepted)
            try await harness.waitFor(flow, T.transferPendingCompliance)
            #expect(try await harness.emitted(flow, type: T.interbankSubmit).isEmpty, "nothing is submitted before compliance clears it")
            let transferID = try #require(accepted.first?.string("transferId"))
            #expect(accepted.first?.data["amount"] == ["value": "60000.00", "currency": "CNY"])
            #expect(accepted.first?.causationID == request.id.uuid)
            #expect(accepted.first?.enterpriseID == harness.enterprise)

            try await harness.publish(try harness.cleared(request))
            let submit = try #require(try await harness.waitFor(flow, T.interbankSubmit).first)
            #expect(submit.string("transferId") == transferID)
            #expect(submit.string("rail") == "HVPS")
            #expect(submit.string("settlementDate") == "2099-11-23")
            #expect(submit.string("endToEndId") == "hvps-\(harness.suffix)")
            let uetr = try #require(submit.string("uetr"))
            #expect(uetr == uetr.lowercased() && UUID(uuidString: uetr) != nil && Array(uetr)[14] == "4", "UETR is a UUIDv4")
            #expect(submit.data["debtor"]?["account"]?.stringValue == harness.debtorAccount)
            #expect(submit.data["creditor"]?["agent"]?.stringValue == "104290003019")
            let executing = try #require(try await harness.waitFor(flow, T.transferExecuting).first)
            #expect(executing.string("rail") == "HVPS")

            try await harness.publish(try statusReported(harness, submit, "ACSP"), try statusReported(harness, submit, "ACSC"))
            let settled = try await harness.waitFor(flow, T.transferSettled)
            #expect(settled.count == 1)
            #expect(try await harness.state(of: transferID) == "settled")
            // What an operator sees (`huitong payments show`): the state, the rail, and the creditor masked.
            let shown = try await HubPayments.show(
                "hvps-\(harness.suffix)", json: false,
                configuration: HubConfiguration(databaseURL: StoreSupport.databaseURL), logger: PaymentsHarness.logger)
            #expect(shown.count == 2)
            #expect(shown.last?.contains("  settled  HVPS  60000.00 CNY  hvps-\(harness.suffix)  ") == true, "\(shown)")
            #expect(shown.last?.contains("ACSC") == true)
            #expect(shown.allSatisfy { !$0.contains("31001234567890") }, "account numbers are masked")
            #expect(try await harness.emitted(flow).map(\.type.value) == [
                T.transferAccepted, T.transferPendingCompliance, T.interbankSubmit, T.transferExecuting, T.transferSettled,
            ])

            // The relay publishes the flow's events to hub.events and the command to hub.commands.
            do {
                let relay = OutboxRelay(
                    configuration: OutboxRelay.Configuration(name: "payments-test-relay"), pool: harness.pool,
                    publisher: harness.publisher, logger: PaymentsHarness.logger)
                _ = try await relay.flush()
                let consumer = AMQPConsumer(configuration: harness.amqp, logger: PaymentsHarness.logger)
                var seen: [String] = []
                let deliveries = consumer.consume(queue: tap)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await Task.sleep(for: .seconds(60)); await deliveries.stop() }
                    for try await delivery in deliveries {
                        try await delivery.ack()
                        if let envelope = try? Envelope.decode(bytes: delivery.body), envelope.correlationID == flow {
                            seen.append(envelope.type.value)
                        }
                        if seen.count == 5 { break }
                    }
                    await deliveries.stop()
                    group.cancelAll()
                }
                #expect(seen == [T.transferAccepted, T.transferPendingCompliance, T.interbankSubmit,
                                 T.transferExecuting, T.transferSettled])
            }
          }
        }
    }

    @Test("Happy path on e-CNY with the gate off: wallet → ecny.transfer.submit; duplicate settled callbacks → one settlement")
    func ecnyHappyPath() async throws {
        try await PaymentsHarness.with(label: "ecny", configure: { $0.complianceGate = false }) { harness in
            let wallet: JSONValue = ["name": "张三", "kind": "person", "wallet": "0012345678901234", "walletOperator": "ICBC"]
            let request = try harness.transferRequest(clientRequestId: "ecny-\(harness.suffix)", amount: "3000.00",
                                                      creditor: wallet, extra: [("purpose", "SALA")])
            let flow = try #require(request.correlationID)
            try await harness.publish(request)
            let submit = try #require(try await harness.waitFor(flow, T.ecnySubmit).first)
            let transferID = try #require(submit.string("transferId"))
            #expect(submit.string("payeeWallet") == "0012345678901234")
            #expect(submit.string("payeeOperator") == "ICBC")
            #expect(submit.string("enterpriseId") == harness.enterprise.value)
            #expect(submit.data["payerAccount"]?["account"]?.stringValue == harness.debtorAccount)
            #expect(submit.data["amount"] == ["value": "3000.00", "currency": "CNY"])
            #expect(try await harness.waitFor(flow, T.transferExecuting).first?.string("rail") == "ECNY")
            #expect(try await harness.emitted(flow, type: T.transferPendingCompliance).isEmpty)

            // R-PAY-4 on e-CNY: silence → status unknown and an ecny status query; the operator's "accepted" answer
            // puts it back to executing.
            harness.clock.advance(seconds: 31)
            try await harness.timer.tick()
            #expect(try await harness.state(of: transferID) == "statusUnknown")
            let query = try #require(try await harness.emitted(flow, type: T.ecnyStatusQuery).first)
            #expect(query.data == ["transferId": .string(transferID)])
            #expect(try await harness.emitted(flow, type: T.transferStatusUnknown).first?.string("rail") == "ECNY")
            try await harness.publish(
                try harness.event(T.ecnyAccepted, [("transferId", .string(transferID)), ("operatorTransactionId", "OP-1")]))
            try await RuntimeSupport.expectEventually { try await harness.state(of: transferID) == "executing" }

            let settled: [(String, JSONValue)] = [("transferId", .string(transferID)),
                                                  ("operatorTransactionId", "OP-1"), ("settledAt", "2099-11-23T10:00:05+08:00")]
            try await harness.publish(
                try harness.event(T.ecnySettled, settled), try harness.event(T.ecnySettled, settled),
                try harness.event(T.ecnyRejected, [("transferId", .string(transferID)), ("reasonCode", "AC04"), ("reason", "late")]))
            try await harness.waitFor(flow, T.transferSettled)
            // A marker of the same transfer's lane, after the duplicates: once it is applied, the duplicates were too.
            try await harness.publish(try harness.event(T.ecnySettled, settled))
            try await harness.settle()
            #expect(try await harness.emitted(flow, type: T.transferSettled).count == 1)
            #expect(try await harness.emitted(flow, type: T.transferFailed).isEmpty)
            #expect(try await harness.emitted(flow, type: T.transferSettled).first?.string("settledAt") == "2099-11-23T10:00:05+08:00")
            #expect(try await harness.state(of: transferID) == "settled")
            #expect(try await harness.parked().isEmpty)
        }
    }

    @Test("Every business rejection reaches the partner as payments.transfer.rejected.v1 with its ISO code and pointer; a structurally invalid command is parked (schemaViolation)")
    func rejections() async throws {
        try await PaymentsHarness.with(label: "reject") { harness in
            let cases: [(String, Envelope)] = [
                ("AC03", try harness.transferRequest(clientRequestId: "r1-\(harness.suffix)", creditor:
                    ["name": "X", "kind": "enterprise", "account": "bad account", "agent": "104290003019"])),
                ("AM12", try harness.transferRequest(clientRequestId: "r2-\(harness.suffix)", amount: "10.001")),
                ("AM01", try harness.transferRequest(clientRequestId: "r3-\(harness.suffix)", amount: "0.00")),
                ("RR01", try harness.transferRequest(clientRequestId: "r4-\(harness.suffix)", enterprise: .some(nil))),
                ("RR04", try harness.transferRequest(clientRequestId: "r5-\(harness.suffix)", amount: "50000.01", creditor:
                    ["name": "李四", "kind": "person", "account": "6222000011112222", "agent": "104290003019"])),
                ("RC01", try harness.transferRequest(clientRequestId: "r6-\(harness.suffix)", creditor:
                    ["name": "X", "kind": "enterprise", "account": "31001234567890", "agent": "10429000301"])),
                ("DT01", try harness.transferRequest(clientRequestId: "r7-\(harness.suffix)",
                                                     extra: [("requestedExecutionDate", "2099-11-22")])),
            ]
            let structural = try Envelope(
                source: "/partners/test-erp", type: MessageType(T.transferRequest),
                dataSchema: T.schemaURI(T.transferRequest),
                data: ["clientRequestId": "r8", "debtor": ["name": "A", "account": "1", "agent": "102305000014", "kind": "enterprise"],
                       "creditor": ["name": "B", "kind": "enterprise", "account": "2", "agent": "104290003019"],
                       "amount": ["value": 10, "currency": "CNY"]],
                correlationID: UUID(), enterpriseID: harness.enterprise)
            try await harness.publish(structural)
            for (_, envelope) in cases { try await harness.publish(envelope) }
            for (code, envelope) in cases {
                let flow = try #require(envelope.correlationID)
                let rejected = try #require(try await harness.waitFor(flow, T.transferRejected).first)
                #expect(rejected.string("reasonCode") == code)
                #expect(rejected.string("clientRequestId") == envelope.string("clientRequestId"))
                #expect(rejected.string("pointer") != nil, "\(code) names the value")
                #expect(try await harness.emitted(flow).count == 1, "\(code): nothing else is emitted")
            }
            try await RuntimeSupport.expectEventually { try await harness.parked().count == 1 }
            let parked = try await harness.parked()
            #expect(parked.first?.messageID == structural.id.description)
            #expect(parked.first?.reason == "schemaViolation")
            #expect(try await harness.emitted(try #require(structural.correlationID)).isEmpty)
        }
    }

    @Test("R-PAY-2/3/5: a repeated request emits nothing new; the same key with another payload is AM05; the duplicate window is AM05 unless overridden; an inbox duplicate has one effect")
    func idempotency() async throws {
        try await PaymentsHarness.with(label: "idem", configure: { $0.complianceGate = false }) { harness in
            let key = "idem-\(harness.suffix)"
            let first = try harness.transferRequest(clientRequestId: key, amount: "1000.00")
            try await harness.publish(first, first)  // the same message id twice: the inbox stops the second
            let flow = try #require(first.correlationID)
            try await harness.waitFor(flow, T.transferAccepted)

            // The same key and payload in a new message (the partner retried): the recorded outcome stands.
            let replay = try harness.transferRequest(clientRequestId: key, amount: "1000.00", correlationID: UUID())
            // The same key, another amount: AM05 (R-PAY-3).
            let changed = try harness.transferRequest(clientRequestId: key, amount: "1000.01")
            // Another key, same debtor, creditor, amount and value date: AM05 (R-PAY-5)…
            let duplicate = try harness.transferRequest(clientRequestId: "\(key)-b", amount: "1000.00")
            // …unless the partner overrides it explicitly.
            let overridden = try harness.transferRequest(clientRequestId: "\(key)-c", amount: "1000.00",
                                                         extra: [("duplicateOverride", true)])
            try await harness.publish(replay, changed, duplicate, overridden)
            let changedFlow = try #require(changed.correlationID)
            let samePayload = try #require(try await harness.waitFor(changedFlow, T.transferRejected).first)
            #expect(samePayload.string("reasonCode") == "AM05")
            #expect(samePayload.string("pointer") == "/data/clientRequestId")
            let duplicateFlow = try #require(duplicate.correlationID)
            let window = try #require(try await harness.waitFor(duplicateFlow, T.transferRejected).first)
            #expect(window.string("reasonCode") == "AM05")
            #expect(window.string("pointer") == "/data/duplicateOverride")
            try await harness.waitFor(try #require(overridden.correlationID), T.transferAccepted)
            // The replay was handled before `changed` (same enterprise, same lane): by now it has emitted all it will.
            #expect(try await harness.emitted(try #require(replay.correlationID)).isEmpty)
            #expect(try await harness.emitted(flow, type: T.transferAccepted).count == 1)
            #expect(try await harness.emitted(flow, type: T.interbankSubmit).count == 1)
            let count = try await harness.pool.query(
                "SELECT count(*)::int8 FROM payments.transfers WHERE enterprise_id = \(harness.enterprise.value)"
            ).rows[0].decode(Int64.self, at: 0)
            #expect(count == 2, "the first request and the overridden one")
        }
    }

    @Test("R-PAY-4: adapter silence → statusUnknown, a status-unknown event and a status query (same UETR), re-queried with back-off, never resubmitted; a late ACSC settles it once")
    func adapterSilence() async throws {
        try await PaymentsHarness.with(label: "silent", configure: { $0.complianceGate = false }) { harness in
            let request = try harness.transferRequest(clientRequestId: "silent-\(harness.suffix)", amount: "10000.00")
            let flow = try #require(request.correlationID)
            try await harness.publish(request)
            let submit = try #require(try await harness.waitFor(flow, T.interbankSubmit).first)
            let transferID = try #require(submit.string("transferId"))
            #expect(try await harness.timer.tick() == 0, "nothing is due before the adapter timeout")

            harness.clock.advance(seconds: 31)
            try await harness.timer.tick()
            #expect(try await harness.state(of: transferID) == "statusUnknown")
            #expect(try await harness.emitted(flow, type: T.transferStatusUnknown).count == 1)
            let query = try #require(try await harness.emitted(flow, type: T.interbankStatusQuery).first)
            #expect(query.string("uetr") == submit.string("uetr"))
            #expect(query.string("endToEndId") == submit.string("endToEndId"))
            #expect(query.string("transferId") == transferID)

            harness.clock.advance(seconds: 30)
            try await harness.timer.tick()
            #expect(try await harness.emitted(flow, type: T.interbankStatusQuery).count == 1, "the back-off doubled to 60 s")
            harness.clock.advance(seconds: 31)
            try await harness.timer.tick()
            #expect(try await harness.emitted(flow, type: T.interbankStatusQuery).count == 2)
            #expect(try await harness.emitted(flow, type: T.transferStatusUnknown).count == 1)

            try await harness.publish(try statusReported(harness, submit, "ACSC", source: "status-query"))
            try await harness.waitFor(flow, T.transferSettled)
            harness.clock.advance(seconds: 3_600)
            #expect(try await harness.timer.tick() == 0, "a settled transfer is never queried again")
            #expect(try await harness.emitted(flow, type: T.interbankSubmit).count == 1, "never resubmitted (R-PAY-4)")
        }
    }

    @Test("Duplicate and out-of-order adapter statuses apply once; a status for an unknown transfer or another UETR is parked")
    func outOfOrder() async throws {
        try await PaymentsHarness.with(label: "order", configure: { $0.complianceGate = false }) { harness in
            let request = try harness.transferRequest(clientRequestId: "order-\(harness.suffix)", amount: "20000.00")
            let flow = try #require(request.correlationID)
            try await harness.publish(request)
            let submit = try #require(try await harness.waitFor(flow, T.interbankSubmit).first)
            let transferID = try #require(submit.string("transferId"))
            let rjct = try statusReported(harness, submit, "RJCT", reasonCode: "AC04")
            try await harness.publish(rjct, try statusReported(harness, submit, "ACSP"),
                                      try statusReported(harness, submit, "ACSC"), rjct)
            let failed = try #require(try await harness.waitFor(flow, T.transferFailed).first)
            #expect(failed.string("reasonCode") == "AC04")

            let wrongUETR = try harness.event(T.interbankStatusReported, [
                ("transferId", .string(transferID)), ("uetr", .string(UUID().uuidString.lowercased())),
                ("endToEndId", .string(submit.string("endToEndId")!)), ("status", "ACSC"), ("source", "pacs.002"),
            ])
            let unknown = try harness.event(T.ecnySettled, [("transferId", .string(UUID().uuidString.lowercased()))])
            try await harness.publish(wrongUETR, unknown)
            try await RuntimeSupport.expectEventually { try await harness.parked().count == 2 }
            #expect(Set(try await harness.parked().map(\.errorCode)) == ["reference-mismatch", "unknown-transfer"])
            #expect(try await harness.emitted(flow, type: T.transferFailed).count == 1)
            #expect(try await harness.emitted(flow, type: T.transferSettled).isEmpty)
            #expect(try await harness.state(of: transferID) == "failed")
        }
    }

    @Test("Compliance: a held transfer released executes, a held transfer rejected is refused LEGL, and a verdict that arrives before its command is applied when the command comes")
    func complianceHolds() async throws {
        try await PaymentsHarness.with(label: "hold") { harness in
            let released = try harness.transferRequest(clientRequestId: "held-1-\(harness.suffix)", amount: "700.00")
            let refused = try harness.transferRequest(clientRequestId: "held-2-\(harness.suffix)", amount: "800.00")
            let early = try harness.transferRequest(clientRequestId: "early-\(harness.suffix)", amount: "900.00")
            func placed(_ command: Envelope, _ hold: String) throws -> Envelope {
                try harness.event(T.holdPlaced, [
                    ("holdId", .string(hold)), ("subjectMessageId", .string(command.id.description)),
                    ("subjectType", .string(command.type.value)), ("rules", ["R-AML-9"]), ("reason", "name match"),
                ])
            }
            // The early verdict first: compliance's queue can be faster than payments'. Wait until payments has
            // stored it, so that the command really comes second.
            try await harness.publish(try harness.cleared(early))
            try await RuntimeSupport.expectEventually {
                !(try await harness.pool.query(
                    "SELECT 1 FROM payments.compliance_verdicts WHERE subject_message_id = \(early.id.uuid)").rows.isEmpty)
            }
            // A rejection that arrives before its command: accepted, then refused LEGL, nothing submitted.
            let doomed = try harness.transferRequest(clientRequestId: "doomed-\(harness.suffix)", amount: "950.00")
            try await harness.publish(try harness.event(T.holdRejected, [
                ("holdId", "H0"), ("subjectMessageId", .string(doomed.id.description)), ("reason", "sanctions list hit"),
                ("reviewers", ["officer-1"]),
            ]))
            try await RuntimeSupport.expectEventually {
                !(try await harness.pool.query(
                    "SELECT 1 FROM payments.compliance_verdicts WHERE subject_message_id = \(doomed.id.uuid)").rows.isEmpty)
            }
            try await harness.publish(released, refused, early, doomed)
            let doomedFlow = try #require(doomed.correlationID)
            let doomedRefusal = try #require(try await harness.waitFor(doomedFlow, T.transferRejected).first)
            #expect(doomedRefusal.string("reasonCode") == "LEGL")
            #expect(doomedRefusal.string("reason")?.contains("sanctions") == false, "the partner is not tipped off (R-AML-9)")
            #expect(try await harness.emitted(doomedFlow).map(\.type.value) == [T.transferAccepted, T.transferRejected])
            try await harness.publish(try placed(released, "H1"), try placed(refused, "H2"))
            let earlyFlow = try #require(early.correlationID)
            try await harness.waitFor(earlyFlow, T.interbankSubmit)
            #expect(try await harness.emitted(earlyFlow, type: T.transferPendingCompliance).isEmpty)

            try await harness.waitFor(try #require(released.correlationID), T.transferPendingCompliance)
            try await harness.publish(
                try harness.event(T.holdReleased, [("holdId", "H1"), ("subjectMessageId", .string(released.id.description)),
                                                   ("reviewers", ["officer-1", "officer-2"])]),
                try harness.event(T.holdRejected, [("holdId", "H2"), ("subjectMessageId", .string(refused.id.description)),
                                                   ("reason", "sanctions list hit"), ("reviewers", ["officer-1"])]))
            try await harness.waitFor(try #require(released.correlationID), T.interbankSubmit)
            let refusedFlow = try #require(refused.correlationID)
            let legal = try #require(try await harness.waitFor(refusedFlow, T.transferRejected).first)
            #expect(legal.string("reasonCode") == "LEGL")
            #expect(try await harness.emitted(try #require(refused.correlationID), type: T.interbankSubmit).isEmpty)
            let hold = try await harness.pool.query(
                "SELECT hold_id FROM payments.transfers WHERE command_id = \(refused.id.uuid)").rows.first?.decode(String?.self, at: 0)
            #expect(hold == "H2")
        }
    }

    @Test("HVPS closed (R-PAY-1): a large transfer after the cut-off is queued, released by the timer at 20:30 with the next working day's value date")
    func queuedUntilHVPSOpens() async throws {
        let evening = PaymentsHarness.monday10.addingTimeInterval(8 * 3600)  // Monday 18:00
        try await PaymentsHarness.with(label: "queued", start: evening, configure: { $0.complianceGate = false }) { harness in
            let request = try harness.transferRequest(clientRequestId: "queued-\(harness.suffix)", amount: "80000.00")
            let flow = try #require(request.correlationID)
            try await harness.publish(request)
            let accepted = try #require(try await harness.waitFor(flow, T.transferAccepted).first)
            try await RuntimeSupport.expectEventually {
                try await harness.state(of: accepted.string("transferId")!) == "queued"
            }
            harness.clock.advance(seconds: 2 * 3600)  // 20:00
            #expect(try await harness.timer.tick() == 0)
            harness.clock.advance(seconds: 30 * 60)  // 20:30
            #expect(try await harness.timer.tick() == 1)
            let submit = try #require(try await harness.emitted(flow, type: T.interbankSubmit).first)
            #expect(submit.string("rail") == "HVPS")
            #expect(submit.string("settlementDate") == "2099-11-24")
        }
    }
}
