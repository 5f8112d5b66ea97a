import Foundation
import HubCore
import HubStore
import Testing
@testable import PaymentsService

@Suite("Transfer validation (REFERENCE.md §1, §7; ISO 20022 reason codes)")
struct ValidationTests {
    let validation = TransferValidation(configuration: PaymentsConfiguration())
    let now = Fixtures.instant("2026-11-23", 10, 0)

    func rejection(_ payload: TransferRequestPayload, enterprise: USCC? = Fixtures.enterprise) -> Rejection? {
        do {
            _ = try validation.validate(payload, enterpriseID: enterprise, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test("A well-formed request becomes an instruction with typed, masked identifiers and defaults")
    func valid() throws {
        let instruction = try validation.validate(Fixtures.transferPayload(), enterpriseID: Fixtures.enterprise, now: now)
        #expect(instruction.channel == "api")
        #expect(instruction.amount == (try Money(string: "1250.00", currency: .cny)))
        #expect(instruction.duplicateOverride == false)
        #expect(instruction.valueDate(now: now) == CalendarDate("2026-11-23"))
        guard case .account(let account, let agent) = instruction.creditor.destination else {
            Issue.record("expected an account")
            return
        }
        #expect(agent.value == "104290003019")
        #expect(!"\(account)".contains("31001234567890"))
    }

    @Test("the stored instruction (JSONValueEncoder) is the JSON JSONEncoder wrote, and decodes back to the instruction")
    func storedInstruction() throws {
        let instruction = try validation.validate(Fixtures.transferPayload(), enterpriseID: Fixtures.enterprise, now: now)
        let stored = try PaymentsStore.instructionJSON(instruction).text
        let before = try JSONValue.parse(Array(JSONEncoder().encode(instruction))).canonicalString
        #expect(stored == before)
        // TransferRecord reads the column back with JSONDecoder.
        #expect(try JSONDecoder().decode(TransferInstruction.self, from: Data(stored.utf8)) == instruction)
    }

    @Test("RR01: no enterpriseid")
    func missingEnterprise() {
        let refusal = rejection(Fixtures.transferPayload(), enterprise: nil)
        #expect(refusal?.code == .missingDebtorIdentification)
        #expect(refusal?.pointer == "/enterpriseid")
    }

    @Test("Every business rejection names its ISO 20022 code and the JSON pointer of the value",
          arguments: [
              ("debtor account", "AC02", "/data/debtor/account"),
              ("debtor agent", "RC01", "/data/debtor/agent"),
              ("debtor name", "RR02", "/data/debtor/name"),
              ("debtor kind", "FF01", "/data/debtor/kind"),
              ("creditor account", "AC03", "/data/creditor/account"),
              ("creditor agent", "RC01", "/data/creditor/agent"),
              ("creditor name", "RR03", "/data/creditor/name"),
              ("creditor kind", "FF01", "/data/creditor/kind"),
              ("account and wallet", "FF01", "/data/creditor"),
              ("wallet", "AC03", "/data/creditor/wallet"),
              ("wallet operator", "RC01", "/data/creditor/walletOperator"),
              ("currency", "AM11", "/data/amount/currency"),
              ("amount grammar", "AM12", "/data/amount/value"),
              ("three decimals", "AM12", "/data/amount/value"),
              ("negative", "AM12", "/data/amount/value"),
              ("zero", "AM01", "/data/amount/value"),
              ("above maximum", "AM02", "/data/amount/value"),
              ("date format", "DT01", "/data/requestedExecutionDate"),
              ("date in the past", "DT01", "/data/requestedExecutionDate"),
              ("date too far", "DT01", "/data/requestedExecutionDate"),
              ("remittance too long", "FF01", "/data/remittanceInformation"),
              ("channel", "FF01", "/data/channel"),
              ("cross-border", "NARR", "/data/crossBorder"),
              ("R-PAY-8 person above limit", "RR04", "/data/documentedBasis"),
          ])
    func rejections(_ label: String, _ code: String, _ pointer: String) {
        var payload = Fixtures.transferPayload()
        switch label {
        case "debtor account": payload.debtor.account = "62220 2020"
        case "debtor agent": payload.debtor.agent = "10230500001"
        case "debtor name": payload.debtor.name = "  "
        case "debtor kind": payload.debtor.kind = "person"
        case "creditor account": payload.creditor.account = "abc"
        case "creditor agent": payload.creditor.agent = "1042900030AB"
        case "creditor name": payload.creditor.name = String(repeating: "名", count: 141)
        case "creditor kind": payload.creditor.kind = "government"
        case "account and wallet": payload.creditor.wallet = "0012345678901234"
        case "wallet":
            payload = Fixtures.transferPayload(wallet: true)
            payload.creditor.wallet = "001234567890123"
        case "wallet operator":
            payload = Fixtures.transferPayload(wallet: true)
            payload.creditor.walletOperator = "NOTABANK"
        case "currency": payload.amount.currency = "USD"
        case "amount grammar": payload.amount.value = "1e3"
        case "three decimals": payload.amount.value = "12.345"
        case "negative": payload.amount.value = "-5.00"
        case "zero": payload.amount.value = "0.00"
        case "above maximum": payload.amount.value = "100000000.01"
        case "date format": payload.requestedExecutionDate = "2026-02-30"
        case "date in the past": payload.requestedExecutionDate = "2026-11-22"
        case "date too far": payload.requestedExecutionDate = "2027-01-30"
        case "remittance too long": payload.remittanceInformation = String(repeating: "x", count: 141)
        case "channel": payload.channel = "API"
        case "cross-border": payload.crossBorder = true
        case "R-PAY-8 person above limit": payload = Fixtures.transferPayload(amount: "50000.01", creditorKind: "person")
        default: Issue.record("unknown case \(label)")
        }
        let refusal = rejection(payload)
        #expect(refusal?.code.code == code, "\(label): \(String(describing: refusal))")
        #expect(refusal?.pointer == pointer, "\(label)")
    }

    @Test("R-PAY-8: corporate→person at exactly the limit passes; above it passes with a documented basis; corporate→enterprise is not concerned")
    func personLimit() {
        #expect(rejection(Fixtures.transferPayload(amount: "50000.00", creditorKind: "person")) == nil)
        #expect(rejection(Fixtures.transferPayload(amount: "80000.00", creditorKind: "person",
                                                   documentedBasis: "payroll agreement 2026-07")) == nil)
        #expect(rejection(Fixtures.transferPayload(amount: "80000.00", creditorKind: "enterprise")) == nil)
        var configured = PaymentsConfiguration()
        configured.personTransferLimit = Money(minorUnits: 1_000_000, currency: .cny)
        let strict = TransferValidation(configuration: configured)
        #expect(throws: Rejection.self) {
            try strict.validate(Fixtures.transferPayload(amount: "10000.01", creditorKind: "person"),
                                enterpriseID: Fixtures.enterprise, now: now)
        }
    }

    @Test("R-PAY-2: client references are 1–35 of [A-Za-z0-9._:/-]")
    func clientReferences() {
        #expect(TransferValidation.isClientReference("ERP-2026/11:23.001_a"))
        #expect(TransferValidation.isClientReference(String(repeating: "a", count: 35)))
        #expect(!TransferValidation.isClientReference(String(repeating: "a", count: 36)))
        #expect(!TransferValidation.isClientReference(""))
        #expect(!TransferValidation.isClientReference("req 1"))
        #expect(!TransferValidation.isClientReference("付款1"))
    }
}

@Suite("Batch validation (R-PAY-6, R-PAY-8)")
struct BatchValidationTests {
    let validation = TransferValidation(configuration: PaymentsConfiguration())
    let now = Fixtures.instant("2026-11-23", 10, 0)

    func batch(kind: String = "payroll", amounts: [String] = ["8000.00", "60000.00", "0.00"], count: Int? = nil,
               controlSum: String? = nil, basis: String? = nil) -> BatchRequestPayload {
        let transfer = Fixtures.transferPayload()
        let lines = amounts.enumerated().map { index, amount in
            BatchLinePayload(
                sequence: index + 1,
                creditor: CreditorPayload(name: "员工\(index)", kind: "person", account: "6222000011112222\(index)",
                                          agent: "102305000014", wallet: nil, walletOperator: nil),
                amount: AmountPayload(value: amount, currency: "CNY"), idNumber: index == 0 ? "11010519491231002X" : nil)
        }
        let sum = amounts.reduce(Money.zero(.cny)) { try! $0.adding(try! Money(string: $1, currency: .cny)) }
        return BatchRequestPayload(
            batchId: "PAY-2026-11", channel: nil, kind: kind, payer: transfer.debtor, purpose: "工资",
            numberOfTransactions: count ?? lines.count, controlSum: controlSum ?? sum.amountString, currency: "CNY",
            requestedExecutionDate: nil, originalBatchId: nil, documentedBasis: basis, lines: lines)
    }

    @Test("R-PAY-6: NbOfTxs different from the number of lines refuses the whole batch (FF01)")
    func numberOfTransactions() {
        #expect(throws: Rejection(.invalidFileFormat,
                                  "numberOfTransactions is 4 but the batch has 3 lines (R-PAY-6)",
                                  pointer: "/data/numberOfTransactions")) {
            try validation.validate(batch(count: 4), enterpriseID: Fixtures.enterprise, now: now)
        }
    }

    @Test("R-PAY-6: CtrlSum different from the sum of the lines refuses the whole batch (FF01)")
    func controlSum() {
        do {
            _ = try validation.validate(batch(controlSum: "68000.01"), enterpriseID: Fixtures.enterprise, now: now)
            Issue.record("accepted a wrong control sum")
        } catch {
            #expect(error.code == .invalidFileFormat)
            #expect(error.pointer == "/data/controlSum")
        }
    }

    @Test("Lines are validated one by one: a zero amount refuses that line only (AM01); R-PAY-8 per line")
    func perLine() throws {
        let result = try validation.validate(batch(kind: "transfers"), enterpriseID: Fixtures.enterprise, now: now)
        #expect(result.lines.count == 3)
        if case .failure = result.lines[0].result { Issue.record("line 1 should pass") }
        guard case .failure(let second) = result.lines[1].result, case .failure(let third) = result.lines[2].result else {
            Issue.record("lines 2 and 3 should fail")
            return
        }
        #expect(second.code == .regulatoryReason)
        #expect(third.code == .zeroAmount)
        #expect(third.pointer == "/data/lines/2/amount/value")
    }

    @Test("R-PAY-8: a payroll batch with a documented basis covers its lines above the limit; a transfers batch does not")
    func payrollBasis() throws {
        let payroll = try validation.validate(batch(basis: "代发工资协议 2026-01"), enterpriseID: Fixtures.enterprise, now: now)
        if case .failure(let error) = payroll.lines[1].result { Issue.record("payroll line 2 refused: \(error)") }
        let transfers = try validation.validate(batch(kind: "transfers", basis: "代发工资协议 2026-01"),
                                                enterpriseID: Fixtures.enterprise, now: now)
        guard case .failure(let error) = transfers.lines[1].result else {
            Issue.record("a transfers batch line above the limit must need its own basis")
            return
        }
        #expect(error.code == .regulatoryReason)
    }

    @Test("An invalid resident ID number refuses the line (R-ID-4), and the message never contains the number")
    func idNumber() throws {
        var payload = batch(amounts: ["100.00"])
        payload.lines[0].idNumber = "110105194912310021"
        let result = try validation.validate(payload, enterpriseID: Fixtures.enterprise, now: now)
        guard case .failure(let error) = result.lines[0].result else {
            Issue.record("accepted a wrong ID check digit")
            return
        }
        #expect(error.pointer == "/data/lines/0/idNumber")
        #expect(!error.reason.contains("110105"))
    }
}
