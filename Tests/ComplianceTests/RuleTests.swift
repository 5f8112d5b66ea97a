import ComplianceChecker
import Foundation
import HubCore
import Testing

/// Pure rule logic: no servers.
@Suite("Compliance rules (pure)")
struct RuleTests {
    let parameters = ComplianceParameters()

    func cny(_ text: String) throws -> Money { try Money(string: text, currency: .cny) }

    @Test("R-TAX-4 vectors #29: 20 % half-up to the fen", arguments: [
        ("88.88", "17.78"), ("66.66", "13.33"), ("0.02", "0.00"), ("0.03", "0.01"),
    ])
    func redPacketWithheld(_ amount: String, _ tax: String) throws {
        let result = try Rules.redPacketTax(amount: cny(amount), payerBorne: false, rate: Decimal(string: "0.20")!)
        #expect(result.tax == (try cny(tax)))
    }

    @Test("R-TAX-4 vectors #30: payer-borne gross-up", arguments: [
        ("88.88", "111.10", "22.22"), ("6.66", "8.33", "1.67"),
    ])
    func redPacketPayerBorne(_ net: String, _ taxable: String, _ tax: String) throws {
        let result = try Rules.redPacketTax(amount: cny(net), payerBorne: true, rate: Decimal(string: "0.20")!)
        #expect(result.taxable == (try cny(taxable)))
        #expect(result.tax == (try cny(tax)))
    }

    @Test("R-FX-2 vector #23: used + request ≤ 50,000 USD is allowed, one cent more needs documents")
    func fxQuota() throws {
        func fact(_ request: String) throws -> FXQuotaFact {
            let amount = try Money(string: request, currency: .usd)
            return FXQuotaFact(kind: "purchase", person: Party(), requestUSD: amount.amount, amount: amount, usedUSD: 49_000)
        }
        #expect(Rules.fxQuota(try fact("1000.00"), parameters: parameters) == nil)
        let finding = try #require(Rules.fxQuota(try fact("1000.01"), parameters: parameters))
        #expect(finding.rule == "R-FX-2")
        #expect(finding.evidence["outcome"] == "needs-documents")
    }

    @Test("R-ECNY-1 vector #24 and caps from configuration")
    func ecnyCaps() throws {
        func credit(_ tier: Int, _ balance: String, _ amount: String) throws -> ECNYCreditFact {
            ECNYCreditFact(wallet: Party(wallet: "0012345678901234"), tier: tier, balance: try cny(balance), amount: try cny(amount))
        }
        #expect(Rules.ecnyTierCap(try credit(3, "19000.00", "1000.00"), parameters: parameters) == nil)
        #expect(Rules.ecnyTierCap(try credit(3, "19000.00", "1000.01"), parameters: parameters)?.evidence["outcome"] == "reject")
        #expect(Rules.ecnyTierCap(try credit(1, "9999999.00", "1.00"), parameters: parameters) == nil, "tier 1 has no cap")
        var custom = parameters
        custom.ecnyTierCaps[3] = 25_000
        #expect(Rules.ecnyTierCap(try credit(3, "19000.00", "1000.01"), parameters: custom) == nil)
    }

    @Test("R-AML-1..4: thresholds are ≥, exactly at and one fen below")
    func thresholdEdges() {
        let threshold = parameters.threshold(for: .naturalPersonDomestic)
        #expect(Rules.meetsThreshold(Decimal(string: "500000.00")!, column: "RMB", threshold))
        #expect(!Rules.meetsThreshold(Decimal(string: "499999.99")!, column: "RMB", threshold))
        #expect(Rules.meetsThreshold(Decimal(string: "100000.00")!, column: "USD", threshold))
        #expect(!Rules.meetsThreshold(Decimal(string: "99999.99")!, column: "USD", threshold))
    }

    @Test("R-AML-5 columns: CNY → RMB, USD → USD, others at the configured rate, none without one")
    func columns() throws {
        #expect(Rules.column(of: try cny("1.00"), usdRates: [:])?.column == "RMB")
        #expect(Rules.column(of: try Money(string: "1.00", currency: .usd), usdRates: [:])?.column == "USD")
        let euro = try Money(string: "100.00", currency: .eur)
        #expect(Rules.column(of: euro, usdRates: [:]) == nil)
        #expect(Rules.column(of: euro, usdRates: ["EUR": Decimal(string: "1.08")!])?.amount == Decimal(string: "108")!)
    }
}

@Suite("R-AML-9 name normalisation (pure)")
struct NameNormalizerTests {
    @Test("full width, traditional, punctuation, spaces, case", arguments: [
        ("黑石貿易（集團）有限公司", "黑石贸易 集团 有限公司"),
        ("ＡＣＭＥ　Ｔｒａｄｉｎｇ", "acme-trading"),
        ("BLACKSTONE TRADING GROUP LTD.", "Blackstone Trading Group Ltd"),
        ("匯豐銀行", "汇丰银行"),
    ])
    func equalKeys(_ listed: String, _ written: String) {
        #expect(NameNormalizer.compact(listed) == NameNormalizer.compact(written))
    }

    @Test("word order: sorted-token key")
    func wordOrder() {
        #expect(NameNormalizer.sortedTokens("Ivan PETROV") == NameNormalizer.sortedTokens("Petrov, Ivan"))
        #expect(NameNormalizer.compact("Ivan PETROV") != NameNormalizer.compact("Petrov, Ivan"))
    }

    @Test("NFKC leaves every ASCII character and every CJK Unified Ideograph (U+4E00–U+9FFF) as it is, so names made of them may skip it")
    func fastPathPremise() {
        var changed: [UInt32] = []
        for value in Array(0x00...0x7F) + Array(0x4E00...0x9FFF) {
            let text = String(Unicode.Scalar(UInt32(value))!)
            if text.precomposedStringWithCompatibilityMapping != text { changed.append(UInt32(value)) }
        }
        #expect(changed.isEmpty, "NFKC changes \(changed.prefix(10).map { String($0, radix: 16) })")
        // And names outside that set still get it: full-width letters fold to ASCII.
        #expect(NameNormalizer.compact("ＡＣＭＥ貿易") == NameNormalizer.compact("acme贸易"))
    }

    @Test("different names stay different")
    func noFalseFriends() {
        #expect(NameNormalizer.compact("黑石贸易有限公司") != NameNormalizer.compact("白石贸易有限公司"))
        #expect(NameNormalizer.compact("Harbour Bank") != NameNormalizer.compact("Harbour Bank Ltd"))
    }
}

@Suite("Compliance parameters file (pure)")
struct ParametersTests {
    @Test("defaults are REFERENCE.md's figures")
    func defaults() {
        let parameters = ComplianceParameters()
        #expect(parameters.cash.rmb == 50_000 && parameters.cash.usd == 10_000)
        #expect(parameters.legalPersonTransfer.rmb == 2_000_000 && parameters.legalPersonTransfer.usd == 200_000)
        #expect(parameters.naturalPersonDomestic.rmb == 500_000 && parameters.naturalPersonDomestic.usd == 100_000)
        #expect(parameters.naturalPersonCrossBorder.rmb == 200_000 && parameters.naturalPersonCrossBorder.usd == 10_000)
        #expect(parameters.reportDeadlineWorkingDays == 5)
        #expect(parameters.reportTransactionsPerMessage == 200)
        #expect(parameters.fxAnnualQuotaUSD == 50_000)
    }

    @Test("a file overrides members; amounts are decimal strings")
    func overrides() throws {
        let file = #"{"cash": {"rmb": "60000", "usd": "12000.50"}, "holds": {"fourEyes": true, "amountThreshold": "5000000.00"}, "screenedTypes": ["payments.transfer.request.v1"]}"#
        let parameters = try ComplianceParameters.parse(Array(file.utf8))
        #expect(parameters.cash.rmb == 60_000)
        #expect(parameters.cash.usd == Decimal(string: "12000.50")!)
        #expect(parameters.holds.fourEyes)
        #expect(parameters.holds.amountThreshold == 5_000_000)
        #expect(parameters.screenedTypes == ["payments.transfer.request.v1"])
        #expect(parameters.legalPersonTransfer.rmb == 2_000_000, "untouched members keep their defaults")
    }

    @Test("mistakes are refused with the member named", arguments: [
        (#"{"cahs": {}}"#, "cahs"),
        (#"{"cash": {"rmb": 50000, "usd": "1"}}"#, "cash.rmb"),
        (#"{"holds": {"expirySeconds": 0}}"#, "holds.expirySeconds"),
        (#"{"ecnyTierCaps": {"5": "1"}}"#, "ecnyTierCaps"),
        (#"{"reportTransactionsPerMessage": 401}"#, "reportTransactionsPerMessage"),
    ])
    func refused(_ file: String, _ member: String) {
        do {
            _ = try ComplianceParameters.parse(Array(file.utf8))
            Issue.record("accepted \(file)")
        } catch {
            #expect(error.description.contains(member))
        }
    }
}
