import AdapterSimulation
import Foundation
import HubContracts
import HubCore
@testable import InterbankAdapter
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fixtures(_ folder: String) -> [String] {
    let directory = repositoryRoot.appendingPathComponent("contracts/iso20022/\(folder)")
    return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()
}

func fixture(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: repositoryRoot.appendingPathComponent("contracts/iso20022/\(path)")))
}

/// Reads any of the ISO 20022 messages the adapter handles, with the field rules applied.
func parseAny(_ bytes: [UInt8]) throws(ISO20022Error) {
    let root = try XMLNode.parse(bytes)
    switch root.children.first?.name {
    case "FIToFICstmrCdtTrf": _ = try Pacs008.parse(bytes)
    case "FIToFIPmtStsRpt": _ = try Pacs002.parse(bytes)
    default: _ = try AccountReport.parse(bytes)
    }
}

@Suite("ISO 20022 XML: writer, parser and field rules (REFERENCE.md §7)")
struct ISO20022Tests {
    static let party = PacsParty(name: "苏州示例科技有限公司", account: try! AccountNumber("32250199880600001234"), agent: try! CNAPSCode("102305012345"))

    static func sample(remittance: String = "Invoice <42> & \"parts\" 'A'") throws -> Pacs008 {
        Pacs008(
            messageId: "HT0123456789abcdef0123456789abcdef", creationDateTime: "2026-11-23T09:30:00+08:00",
            clearingSystem: "HVPS", instructingAgent: party.agent, instructedAgent: try CNAPSCode("308305067890"),
            transactions: [
                Pacs008.Transaction(
                    instructionId: "INSTR-1", endToEndId: "E2E-1", transactionId: "0123456789abcdef0123456789abcdef",
                    uetr: "6f1c2a3b-4d5e-4f60-8a1b-2c3d4e5f6071", amount: try Money(string: "1250.50", currencyCode: "CNY"),
                    settlementDate: "2026-11-23", debtor: party,
                    creditor: PacsParty(name: "Wuxi Parts & Tools", account: try AccountNumber("512345678900010"), agent: try CNAPSCode("308305067890")),
                    purpose: "SUPP", remittanceInformation: remittance)
            ])
    }

    @Test("The writer escapes the five XML specials in attributes and the three in text")
    func escaping() {
        #expect(XMLWriter.escape("a&b<c>\"d'", quotes: false) == "a&amp;b&lt;c&gt;\"d'")
        #expect(XMLWriter.escape("a&b<c>\"d'", quotes: true) == "a&amp;b&lt;c&gt;&quot;d&apos;")
        // A C0 control cannot appear in XML 1.0 even escaped: it is replaced, never passed through.
        #expect(XMLWriter.escape("x\u{1}y", quotes: false) == "x\u{FFFD}y")
    }

    @Test("pacs.008 written by the hub reads back field for field, specials and Chinese text intact")
    func pacs008RoundTrip() throws {
        let message = try Self.sample()
        let parsed = try Pacs008.parse(Array(message.xml.utf8))
        #expect(parsed == message)
        #expect(message.xml.contains("<NbOfTxs>1</NbOfTxs>"))
        #expect(message.xml.contains("<CtrlSum>1250.50</CtrlSum>"))
        #expect(message.xml.contains("<IntrBkSttlmAmt Ccy=\"CNY\">1250.50</IntrBkSttlmAmt>"))
        #expect(message.xml.contains("Invoice &lt;42&gt; &amp; \"parts\" 'A'"))
    }

    @Test("pacs.002 written by the simulator reads back; a report for other references or another amount is refused")
    func pacs002References() throws {
        let amount = try Money(string: "1250.50", currencyCode: "CNY")
        let report = Pacs002(
            messageId: "S1", creationDateTime: "2026-11-23T09:30:02+08:00", originalMessageId: "HT1",
            originalInstructionId: "INSTR-1", originalEndToEndId: "E2E-1", originalTransactionId: "T1",
            originalUETR: "6f1c2a3b-4d5e-4f60-8a1b-2c3d4e5f6071", status: .rejected, reasonCode: "AC04",
            additionalInformation: "Closed account number", originalAmount: amount)
        let parsed = try Pacs002.parse(Array(report.xml.utf8))
        #expect(parsed == report)
        try parsed.check(answering: "HT1", endToEndId: "E2E-1", uetr: "6f1c2a3b-4d5e-4f60-8a1b-2c3d4e5f6071", amount: amount)
        #expect(throws: ISO20022Error.self) {
            try parsed.check(answering: "HT1", endToEndId: "E2E-1", uetr: "00000000-0000-4000-8000-000000000000", amount: amount)
        }
        let other = try Money(string: "1250.51", currencyCode: "CNY")
        do {
            try parsed.check(answering: "HT1", endToEndId: "E2E-1", uetr: "6f1c2a3b-4d5e-4f60-8a1b-2c3d4e5f6071",
                             amount: other)
            Issue.record("an amount mismatch must be refused")
        } catch {
            #expect(error.issues.map(\.rule) == ["amount"])
        }
    }

    @Test("A DOCTYPE (entity expansion, XXE) is refused before parsing")
    func doctypeRefused() {
        let xml = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Document>&x;</Document>"
        #expect(throws: ISO20022Error.self) { try XMLNode.parse(Array(xml.utf8)) }
    }

    @Test("Every valid fixture under contracts/iso20022/valid passes the field rules", arguments: fixtures("valid"))
    func validFixture(_ file: String) throws {
        try parseAny(try fixture("valid/\(file)"))
    }

    @Test("Every invalid fixture is refused at the path and rule its .expect.json names", arguments: fixtures("invalid"))
    func invalidFixture(_ file: String) throws {
        let expect = try JSONValue.parse(try fixture("invalid/" + file.replacingOccurrences(of: ".xml", with: ".expect.json")))
        let path = try #require(expect["path"]?.stringValue)
        let rule = try #require(expect["rule"]?.stringValue)
        let bytes = try fixture("invalid/\(file)")
        do {
            try parseAny(bytes)
            Issue.record("\(file) was accepted")
        } catch {
            #expect(error.issues.contains { $0.path == path && $0.rule == rule }, "issues: \(error.issues)")
        }
    }

    @Test("The simulator's statement is balanced (OPBD + entries = CLBD) and deterministic for a seed")
    func simulatedStatement() throws {
        let account = try AccountNumber("512345678900010")
        let first = InterbankSimulator.report(kind: .statement, account: account, date: "2026-11-22", seed: 7, broken: false)
        let again = InterbankSimulator.report(kind: .statement, account: account, date: "2026-11-22", seed: 7, broken: false)
        #expect(first.balances == again.balances && first.entries == again.entries)
        let parsed = try AccountReport.parse(Array(first.xml.utf8))
        #expect(parsed.entries == first.entries)
        #expect(parsed.balances == first.balances)
        let broken = InterbankSimulator.report(kind: .statement, account: account, date: "2026-11-22", seed: 7, broken: true)
        #expect(throws: ISO20022Error.self) { try AccountReport.parse(Array(broken.xml.utf8)) }
    }

    @Test("The simulator is deterministic for a seed: the same UETR gets the same decision; faults vary with the seed")
    func simulatorDeterminism() throws {
        let faults = try SimulatorFaults(parsing: "timeout=0.3,5xx=0.3,reject=0.3,pending=0.3")
        let message = try Self.sample()
        let uetrs = (0..<64).map { _ in UUID().uuidString.lowercased() }
        func decisions(seed: UInt64) -> [String] {
            let simulator = InterbankSimulator(seed: seed, faults: faults)
            return uetrs.map { uetr in
                var tx = message.transactions[0]
                tx.uetr = uetr
                let (status, reason, fault) = simulator.decide(message, tx)
                return "\(status.rawValue)/\(reason ?? "-")/\(fault)"
            }
        }
        #expect(decisions(seed: 11) == decisions(seed: 11))
        #expect(decisions(seed: 11) != decisions(seed: 12))
    }

    @Test("R-PAY-2: MsgId and TxId are derived from the transfer id, at most 35 characters, the same every time")
    func derivedIdentifiers() throws {
        let id = try #require(UUID(uuidString: "019a1b2c-3d4f-7a00-9b1b-2c3d4e5f6075"))
        #expect(Interbank.messageId(for: id) == "HT019a1b2c3d4f7a009b1b2c3d4e5f6075")
        #expect(Interbank.messageId(for: id).count <= 35)
        #expect(Interbank.transactionId(for: id) == "019a1b2c3d4f7a009b1b2c3d4e5f6075")
    }

    @Test("Simulator fault settings parse, and a bad one is refused with its name")
    func faults() throws {
        let faults = try SimulatorFaults(parsing: "latency=20ms,timeout=0.1,5xx=0.05,reject=0.2,hang=3s")
        #expect(faults.latency == .milliseconds(20) && faults.timeoutRate == 0.1 && faults.errorRate == 0.05)
        #expect(faults.rejectRate == 0.2 && faults.hang == .seconds(3))
        #expect(throws: (any Error).self) { try SimulatorFaults(parsing: "timeout=2") }
        #expect(throws: (any Error).self) { try SimulatorFaults(parsing: "explode=1") }
    }
}
