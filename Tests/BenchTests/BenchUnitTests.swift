import Foundation
import HubCore
import Testing

@testable import HubBench

/// Pure parts of `huitong bench` and `huitong demo`: no servers.
@Suite("bench: plan, statistics, /proc, parsing")
struct BenchUnitTests {
    @Test("the plan publishes N messages: N − round(3 % of N) unique ids, every unique id at least once", arguments: [1, 200, 1_000, 50_000])
    func plan(count: Int) {
        let order = BenchPlan.order(count: count, ratio: 0.03)
        let duplicates = BenchPlan.duplicates(count: count, ratio: 0.03)
        #expect(order.count == count)
        #expect(Set(order).count == count - duplicates)
        #expect(Set(order) == Set(0..<(count - duplicates)))
        // A copy never comes before its original.
        var seen = Set<Int>()
        for index in order {
            if !seen.insert(index).inserted { continue }
            #expect(index == seen.count - 1, "originals are published in order")
        }
    }

    @Test("nearest-rank percentiles of 1…1000 ms, in any input order")
    func percentiles() throws {
        let values = (1...1_000).map(Double.init).shuffled()
        let summary = try #require(LatencySummary(milliseconds: values))
        #expect(summary.p50 == 500)
        #expect(summary.p90 == 900)
        #expect(summary.p99 == 990)
        #expect(summary.max == 1_000)
        #expect(summary.count == 1_000)
        #expect(LatencySummary(milliseconds: []) == nil)
    }

    @Test("/proc/<pid>/stat: CPU ticks and RSS after a command name with spaces and parentheses")
    func procStat() throws {
        let line = "4242 (huitong (x) y) S 1 4242 4242 0 -1 4194304 500 0 0 0 123 45 0 0 20 0 8 0 9999 123456789 2048 18446744073709551615"
        let reading = try #require(ProcFS.parseStat(line))
        #expect(reading.cpuTicks == 168)
        #expect(reading.rssPages == 2_048)
        #expect(ProcFS.parseStat("garbage") == nil)
        // This process is readable and has used some CPU and memory.
        let me = try #require(ProcFS.read(getpid()))
        #expect(me.rssPages > 0)
    }

    @Test("the port a child prints, and the queues of a topology listing")
    func parsing() throws {
        #expect(HTTPProbe.listeningPort(in: "x\nlistening on http://127.0.0.1:41234\nmore") == 41_234)
        #expect(HTTPProbe.listeningPort(in: "starting") == nil)
        let listing = """
            exchange hub.commands (topic)
            queue    svc.sample (quorum) x-queue-type=quorum
            queue    svc.sample.retry.1 (quorum) x-message-ttl=1000
            queue    svc.sample.parked (quorum) x-queue-type=quorum
            binding  hub.commands --[sample.counter.*]--> svc.sample
            """
        let queues = try BenchRunner.queues(in: listing)
        #expect(queues == ["svc.sample", "svc.sample.retry.1", "svc.sample.parked"])
        #expect(queues.filter(BenchRunner.isConsumerQueue) == ["svc.sample"])
        #expect(BenchWorkload.routingKey(of: "payments.transfer.accepted.v1") == "payments.transfer.accepted")
    }

    @Test("payments workload: padded towards the target size, never past it when the required fields fit")
    func paymentsPadding() throws {
        for index in [0, 7, 49_999] {
            let minimal = try BenchWorkload.payments.makeCommand("abcd1234", index, 0).encode().count
            let padded = try BenchWorkload.payments.makeCommand("abcd1234", index, minimal + 150).encode().count
            #expect(padded <= minimal + 150)
            #expect(padded >= minimal + 120, "padded \(padded), minimal \(minimal)")
        }
    }

    @Test("payments workload: valid interface commands, unique request ids and amounts (R-PAY-2, R-PAY-5)")
    func paymentsCommands() throws {
        var requestIDs = Set<String>()
        var amounts = Set<String>()
        var payers: [String: Int] = [:]
        for index in 0..<300 {
            let envelope = try BenchWorkload.payments.makeCommand("abcd1234", index, 512)
            // The required fields of the interface already take ~700 bytes as a CloudEvents envelope.
            #expect(envelope.encode().count < 760)
            let decoded = try Envelope.decode(bytes: envelope.encode())
            let payer = try #require(decoded.enterpriseID)
            #expect(payer.value == PaymentsCommands.benchPayers[index % 64])
            payers[payer.value, default: 0] += 1
            #expect(decoded.correlationID == envelope.id.uuid)
            let data = decoded.data
            let request = try #require(data["clientRequestId"]?.stringValue)
            #expect(request.count <= 35)
            requestIDs.insert(request)
            let amount = try #require(data["amount"]?["value"]?.stringValue)
            _ = try Money(string: amount, currencyCode: "CNY")
            amounts.insert(amount)
            _ = try CNAPSCode(try #require(data["debtor"]?["agent"]?.stringValue))
            _ = try CNAPSCode(try #require(data["creditor"]?["agent"]?.stringValue))
            _ = try AccountNumber(try #require(data["creditor"]?["account"]?.stringValue))
            #expect((data["remittanceInformation"]?.stringValue?.count ?? 0) <= 140)
        }
        #expect(requestIDs.count == 300)
        #expect(amounts.count == 300)
        // 64 paying enterprises, evenly: the commands spread over the consumer's lanes (ordering is per enterprise).
        #expect(payers.count == 64)
        #expect(payers.values.allSatisfy { $0 == 4 || $0 == 5 })
        // Another run on the same day uses other creditor accounts (R-PAY-5 across runs).
        let first = try BenchWorkload.payments.makeCommand("abcd1234", 5, 512).data["creditor"]?["account"]
        let second = try BenchWorkload.payments.makeCommand("beef5678", 5, 512).data["creditor"]?["account"]
        #expect(first != nil && first != second)
    }
}

/// The bench's paying enterprises are real-looking codes: R-ID-1/2 hold (USCC init) and R-ID-3 too.
@Test("bench payers: 64 distinct USCCs, each passing the check character (R-ID-2) and the GB 11714 check (R-ID-3)")
func benchPayersAreValid() throws {
    let payers = PaymentsCommands.benchPayers
    #expect(Set(payers).count == 64)
    for payer in payers {
        let code = try USCC(payer)
        #expect(code.organizationCodeCheckPasses, "\(payer)")
    }
}

/// The demo's traffic and screen, without servers.
@Suite("demo: traffic mix and board")
struct DemoUnitTests {
    @Test("the same seed sends the same traffic; every kind of the mix appears")
    func deterministic() throws {
        var first = DemoTraffic(seed: 7, runID: "r1")
        var second = DemoTraffic(seed: 7, runID: "r1")
        var kinds = Set<DemoTraffic.Kind>()
        for _ in 0..<400 {
            let a = try first.next()
            let b = try second.next()
            #expect(a.kind == b.kind)
            #expect(a.envelope.data == b.envelope.data)
            kinds.insert(a.kind)
        }
        #expect(kinds == Set(DemoTraffic.Kind.allCases))
    }

    @Test("payroll batches: control sum and count match the lines exactly, resident ids valid (R-PAY-6, R-ID-3)")
    func payroll() throws {
        var traffic = DemoTraffic(seed: 3, runID: "r2")
        var batches = 0
        for _ in 0..<300 {
            let (kind, envelope) = try traffic.next()
            guard kind == .payroll else { continue }
            batches += 1
            let lines = try #require(envelope.data["lines"]?.arrayValue)
            var sum = Money.zero(.cny)
            for line in lines {
                sum = try sum.adding(try Money(string: try #require(line["amount"]?["value"]?.stringValue), currencyCode: "CNY"))
                _ = try ResidentID(try #require(line["idNumber"]?.stringValue))
            }
            #expect(envelope.data["numberOfTransactions"] == .number(JSONNumber(lines.count)))
            #expect(envelope.data["controlSum"]?.stringValue == sum.amountString)
        }
        #expect(batches > 0)
    }

    @Test("the board follows a transfer's states, counts rejections by reason and measures the adapter round trip")
    func board() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var board = DemoBoard(started: start)
        #expect(board.render(now: start).contains { $0.contains("no payments events yet") })
        func event(_ type: String, _ data: JSONObject) throws -> Envelope {
            try Envelope(source: "urn:test", type: MessageType(type), dataSchema: "https://example.com/s.json", data: data)
        }
        board.apply(try event("payments.transfer.accepted.v1", ["transferId": "t1"]), at: start)
        board.apply(try event("payments.transfer.executing.v1", ["transferId": "t1", "rail": "BEPS"]), at: start)
        board.apply(try event("payments.transfer.settled.v1", ["transferId": "t1"]), at: start.addingTimeInterval(0.25))
        board.apply(try event("payments.transfer.rejected.v1", ["transferId": "t2", "reasonCode": "AM05"]), at: start)
        board.apply(try event("compliance.hold.placed.v1", ["holdId": "h1"]), at: start)
        #expect(board.transfersByState == ["settled": 1, "rejected": 1])
        #expect(board.rejections == ["AM05": 1])
        #expect(board.roundTrips == [250])
        #expect(board.compliance == ["hold placed": 1])
        let screen = board.render(now: start.addingTimeInterval(1)).joined(separator: "\n")
        #expect(screen.contains("AM05 1"))
        #expect(screen.contains("n=1"))
    }
}
