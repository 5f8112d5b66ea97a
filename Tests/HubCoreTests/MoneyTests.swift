import Foundation
import HubCore
import Testing

@Suite("Money (R-GEN-1..3, R-ID-11)")
struct MoneyTests {
    @Test("R-GEN-3 accept: canonical output has exactly the minor-unit digits", arguments: [
        ("1234.5", "CNY", "1234.50"), ("1234.50", "CNY", "1234.50"), ("0", "CNY", "0.00"), ("0.01", "CNY", "0.01"),
        ("-0.01", "CNY", "-0.01"), ("-0", "CNY", "0.00"), ("100", "JPY", "100"), ("1.234", "BHD", "1.234"),
        ("0.0001", "CLF", "0.0001"), ("999999999999999999.99", "CNY", "999999999999999999.99"),
        ("10", "USD", "10.00"),
    ])
    func accepts(_ input: String, _ currency: String, _ canonical: String) throws {
        let money = try Money(string: input, currencyCode: currency)
        #expect(money.amountString == canonical)
        #expect(money.currency.code == currency)
    }

    @Test("R-GEN-3 reject: grammar (invalidFormat)", arguments: [
        "", "-", "+1.00", "1e3", "1E3", " 1.00", "1.00 ", "1,000.00", "012", "00.5", "-01", ".5", "5.", "1..0",
        "0x10", "１２", "NaN", "Infinity", "1.0.0", "--1", "1_000",
    ])
    func rejectsGrammar(_ input: String) {
        do {
            _ = try Money(string: input, currency: .cny)
            Issue.record("accepted a malformed amount")
        } catch {
            #expect(error.code == .invalidFormat)
            #expect(error.rule == "R-GEN-3")
        }
    }

    @Test("R-GEN-3 reject: more fraction digits than the currency's minor units (invalidValue)", arguments: [
        ("1.001", "CNY"), ("1.5", "JPY"), ("0.0001", "BHD"), ("0.00001", "CLF"),
    ])
    func rejectsFractionDigits(_ input: String, _ currency: String) {
        do {
            _ = try Money(string: input, currencyCode: currency)
            Issue.record("accepted too many fraction digits")
        } catch {
            #expect(error.code == .invalidValue)
        }
    }

    @Test("R-GEN-3 reject: more than 18 integer digits (outOfRange)")
    func rejectsTooLarge() {
        do {
            _ = try Money(string: "1000000000000000000", currency: .cny)
            Issue.record("accepted 19 integer digits")
        } catch {
            #expect(error.code == .outOfRange)
        }
    }

    @Test("R-GEN-1: Money(string: \"3.133\") is exact, unlike the float literal")
    func floatLiteralTrap() throws {
        let money = try Money(string: "3.133", currency: CurrencyCode("BHD"))
        #expect(money.amount == Decimal(sign: .plus, exponent: -3, significand: 3133))
        #expect(money.amountString == "3.133")
        let literal: Decimal = 3.133
        #expect(literal != money.amount)  // the trap R-GEN-1 describes
    }

    @Test("Integer minor units")
    func minorUnits() throws {
        #expect(Money(minorUnits: 123_450, currency: .cny).amountString == "1234.50")
        #expect(Money(minorUnits: -5, currency: .cny).amountString == "-0.05")
        #expect(Money(minorUnits: 7, currency: .jpy).amountString == "7")
        #expect(try Money(string: "1234.50", currency: .cny).minorUnits == 123_450)
        // 1.5 and 1.50 are the same amount: equal and hashed alike.
        let short = try Money(string: "1.5", currency: .cny)
        let long = Money(minorUnits: 150, currency: .cny)
        #expect(short == long)
        #expect(Set([short, long]).count == 1)
        #expect(short != Money(minorUnits: 150, currency: .usd))
    }

    @Test("R-GEN-2: rounding is half-up (.plain): 0.125 → 0.13 (bankers would give 0.12)", arguments: [
        ("0.125", "0.13"), ("0.135", "0.14"), ("0.124", "0.12"), ("-0.125", "-0.13"), ("2.675", "2.68"),
        ("0.005", "0.01"), ("0.0049", "0.00"),
    ])
    func rounding(_ input: String, _ expected: String) throws {
        let exact = try #require(Decimal(string: input, locale: Locale(identifier: "en_US_POSIX")))
        #expect(try Money.rounded(exact, currency: .cny).amountString == expected)
    }

    @Test("Same-currency arithmetic and comparison; a mismatch is an error")
    func arithmetic() throws {
        let a = try Money(string: "100.10", currency: .cny)
        let b = try Money(string: "0.90", currency: .cny)
        #expect(try a.adding(b).amountString == "101.00")
        #expect(try b.subtracting(a).amountString == "-99.20")
        #expect(try a.compare(b) == .orderedDescending)
        #expect(try a.multiplied(by: Decimal(string: "0.20")!).amountString == "20.02")
        #expect(a.negated.amountString == "-100.10")
        let usd = try Money(string: "1.00", currency: .usd)
        do {
            _ = try a.adding(usd)
            Issue.record("added CNY and USD")
        } catch {
            #expect(error.code == .currencyMismatch)
        }
        #expect(throws: ValidationError.self) { try a.compare(usd) }
        let big = try Money(string: "999999999999999999.99", currency: .cny)
        #expect(throws: ValidationError.self) { try big.adding(b) }
    }

    @Test("Codable as {\"amount\":\"1234.50\",\"currency\":\"CNY\"}; a number amount is refused")
    func codable() throws {
        let money = try Money(string: "1234.5", currency: .cny)
        let encoded = try JSONEncoder().encode(money)
        let object = try JSONValue.parse(Array(encoded))
        #expect(object.canonicalString == #"{"amount":"1234.50","currency":"CNY"}"#)
        let decoded = try JSONDecoder().decode(Money.self, from: Data(#"{"amount":"1234.50","currency":"CNY"}"#.utf8))
        #expect(decoded == money)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Money.self, from: Data(#"{"amount":1234.5,"currency":"CNY"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Money.self, from: Data(#"{"amount":"1234.505","currency":"CNY"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Money.self, from: Data(#"{"amount":"1.00","currency":"CNH"}"#.utf8))
        }
    }

    @Test("Vector #35: Chinese capitals (R-ID-11)", arguments: [
        ("10005.60", "壹万零伍元陆角"), ("16.15", "壹拾陆元壹角伍分"), ("1010.00", "壹仟零壹拾元整"),
        ("0.00", "零元整"), ("0.05", "伍分"), ("10.05", "壹拾元零伍分"), ("100000.00", "壹拾万元整"),
        ("1000000001.00", "壹拾亿零壹元整"), ("100100000.00", "壹亿零壹拾万元整"), ("-3.20", "负叁元贰角"),
    ])
    func chineseUppercase(_ amount: String, _ expected: String) throws {
        #expect(try Money(string: amount, currency: .cny).chineseUppercase() == expected)
    }

    @Test("R-ID-11 is for CNY only")
    func chineseUppercaseCurrency() throws {
        #expect(throws: ValidationError.self) { try Money(string: "1.00", currency: .usd).chineseUppercase() }
    }
}
