import Foundation
import HubCore
import Testing

/// 2026-11-22T12:00:00Z, a fixed "now" for birth-date checks.
let fixedNow = Date(timeIntervalSince1970: 1_795_348_800)

@Suite("Identifiers (REFERENCE.md §1)")
struct IdentifierTests {
    @Test("Vectors #1-#4: valid USCCs (R-ID-2)", arguments: [
        "91320500MA1Q7H2K3A", "92320583MA20KX4F81", "12320506466012345F", "91350100M000100Y43",
    ])
    func validUSCC(_ code: String) throws {
        let uscc = try USCC(code)
        #expect(uscc.value == code)
        #expect(uscc.description == code)
    }

    @Test("Vector #3: organisation-code check passes (R-ID-3); worked examples #1, #2 and the sample too")
    func organisationCodeCheck() throws {
        #expect(try USCC("12320506466012345F").organizationCodeCheckPasses)
        #expect(try USCC("91320500MA1Q7H2K3A").organizationCodeCheckPasses)
        #expect(try USCC("92320583MA20KX4F81").organizationCodeCheckPasses)
        #expect(try USCC("91350100M000100Y43").organizationCodeCheckPasses)
        #expect(try USCC("91320500MA1Q7H2K3A").warnings.isEmpty)
    }

    @Test("R-ID-3 is a warning, not a failure: a valid USCC whose embedded org code fails still constructs")
    func organisationCodeWarning() throws {
        // Positions 9-17 changed to an org code with a wrong check digit; position 18 recomputed per R-ID-2.
        let first17 = "91320500MA1Q7H2K4"
        let check = try #require(USCC.checkCharacter(for: first17))
        let uscc = try USCC(first17 + String(check))
        #expect(!uscc.organizationCodeCheckPasses)
        #expect(uscc.warnings.map(\.rule) == ["R-ID-3"])
    }

    @Test("Vector #5: check character for 91320500MA1Q7H2K3 is A (R-ID-2)")
    func checkCharacter() {
        #expect(USCC.checkCharacter(for: "91320500MA1Q7H2K3") == "A")
        #expect(USCC.checkCharacter(for: "91320500MA1Q7H2K") == nil)
        #expect(USCC.checkCharacter(for: "91320500MA1Q7H2KI") == nil)
    }

    @Test("Vectors #6, #7: wrong check character and transposition fail R-ID-2 with checkFailed", arguments: [
        "91320500MA1Q7H2K3B", "91320500M1AQ7H2K3A",
    ])
    func uSCCCheckFails(_ code: String) {
        #expect {
            try USCC(code)
        } throws: { error in
            let error = error as? ValidationError
            return error?.code == .checkFailed && error?.rule == "R-ID-2"
        }
    }

    @Test("Vectors #8, #9 and layout errors fail R-ID-1 with invalidFormat", arguments: [
        "91320500MAIQ7H2K3A", "91320500ma1q7h2k3a", "9132050MA1Q7H2K3A", "91320500MA1Q7H2K3AA", "913A0500MA1Q7H2K3A", "",
    ])
    func uSCCFormatFails(_ code: String) {
        #expect {
            try USCC(code)
        } throws: { error in
            let error = error as? ValidationError
            return error?.code == .invalidFormat && error?.rule == "R-ID-1"
        }
    }

    @Test("Vector #10: 11010519491231002X is a valid resident ID (R-ID-4)")
    func validResidentID() throws {
        let id = try ResidentID("11010519491231002X", now: fixedNow)
        #expect(id.unmaskedValue == "11010519491231002X")
        #expect(id.birthDate.year == 1949 && id.birthDate.month == 12 && id.birthDate.day == 31)
        #expect(id.kind == .mainland)
        #expect(!id.isMale)
    }

    @Test("Vector #11: 110105194912310021 fails the R-ID-4 check character")
    func residentIDCheck() {
        #expect(throws: ValidationError.self) { try ResidentID("110105194912310021", now: fixedNow) }
        do {
            _ = try ResidentID("110105194912310021", now: fixedNow)
        } catch {
            #expect(error.code == .checkFailed)
            #expect(error.rule == "R-ID-4")
        }
    }

    @Test("Vector #12: 320506199002301239 (30 Feb) is refused as an impossible birth date (R-ID-4)")
    func residentIDImpossibleDate() {
        do {
            _ = try ResidentID("320506199002301239", now: fixedNow)
            Issue.record("accepted 30 February")
        } catch {
            #expect(error.code == .invalidValue)
        }
    }

    @Test("R-ID-4: a birth date after 'today' in Asia/Shanghai is refused; today itself is accepted")
    func residentIDFutureDate() throws {
        // 2026-11-22T20:00:00Z is already 2026-11-23 in Shanghai (UTC+8).
        let lateEvening = Date(timeIntervalSince1970: 1_795_377_600)
        let body = "11010520261123002"
        let check = Self.residentCheck(body)
        #expect(throws: ValidationError.self) { try ResidentID(body + check, now: fixedNow) }
        #expect(try ResidentID(body + check, now: lateEvening).birthDate.day == 23)
    }

    @Test("Vector #13: R-ID-5 upgrades 110105491231002 to 11010519491231002X")
    func residentIDUpgrade() throws {
        #expect(try ResidentID.upgrading(fifteenDigits: "110105491231002", now: fixedNow).unmaskedValue
            == "11010519491231002X")
        #expect(throws: ValidationError.self) { try ResidentID.upgrading(fifteenDigits: "11010549123100", now: fixedNow) }
    }

    @Test("Vector #14: 810000199001011230 is a valid Hong Kong residence permit (R-ID-4)")
    func hongKongPermit() throws {
        let id = try ResidentID("810000199001011230", now: fixedNow)
        #expect(id.kind == .hongKongPermit)
        #expect(id.isMale)
    }

    @Test("R-ID-4 layout: lowercase x, wrong length, letters are invalidFormat", arguments: [
        "11010519491231002x", "11010519491231002", "1101051949123100AX", "01010519491231002X",
    ])
    func residentIDFormat(_ value: String) {
        do {
            _ = try ResidentID(value, now: fixedNow)
            Issue.record("accepted a malformed ID")
        } catch {
            #expect(error.code == .invalidFormat)
        }
    }

    @Test("Vector #15: Luhn (R-ID-6) 6212261234567890128 valid, …129 invalid, 79927398713 valid")
    func luhn() throws {
        #expect(try BankCardNumber("6212261234567890128").luhnCheckPasses)
        let failing = try BankCardNumber("6212261234567890129")  // a Luhn failure is a warning, not an error
        #expect(!failing.luhnCheckPasses)
        #expect(failing.warnings.map(\.rule) == ["R-ID-6"])
        #expect(BankCardNumber.luhnCheckPasses("79927398713"))
        #expect(throws: ValidationError.self) { try BankCardNumber("79927398713") }  // 11 digits: too short for a card
        #expect(throws: ValidationError.self) { try BankCardNumber("6212 2612 3456 7890") }
    }

    @Test("Vector #16: IBAN (R-ID-9) GB82WEST12345698765432 valid, …433 checkFailed; CN refused")
    func iban() throws {
        #expect(try IBAN("GB82WEST12345698765432").countryCode == "GB")
        do {
            _ = try IBAN("GB82WEST12345698765433")
            Issue.record("accepted a bad IBAN")
        } catch {
            #expect(error.code == .checkFailed)
        }
        do {
            _ = try IBAN("CN12345678901234567")
            Issue.record("accepted a CN IBAN")
        } catch {
            #expect(error.code == .invalidValue)
            #expect(error.message.contains("China has no IBAN"))
        }
        #expect(throws: ValidationError.self) { try IBAN("GB82 WEST 1234 5698 7654 32") }
    }

    @Test("Vector #17: BIC (R-ID-8) BKCHCNBJ300 valid, BKCH1NBJ invalid")
    func bic() throws {
        let bic = try BIC("BKCHCNBJ300")
        #expect(bic.countryCode == "CN")
        #expect(try BIC("BKCHCNBJ").bic11 == "BKCHCNBJXXX")
        #expect(throws: ValidationError.self) { try BIC("BKCH1NBJ") }
        #expect(throws: ValidationError.self) { try BIC("bkchcnbj") }
    }

    @Test("R-ID-7: a CNAPS code is exactly 12 digits")
    func cnaps() throws {
        #expect(try CNAPSCode("102305002012").bankCategory == "102")
        for bad in ["10230500201", "1023050020123", "10230500201A"] {
            #expect(throws: ValidationError.self) { try CNAPSCode(bad) }
        }
    }

    @Test("Corporate account numbers: 1-34 of [0-9A-Z-], never Luhn-checked (R-ID-6)")
    func accountNumber() throws {
        #expect(try AccountNumber("3202-0000-1234567890").unmaskedValue == "3202-0000-1234567890")
        #expect(try AccountNumber("6212261234567890129").unmaskedValue.count == 19)  // fails Luhn, still fine
        for bad in ["", "abc123", "1234 5678", String(repeating: "1", count: 35)] {
            #expect(throws: ValidationError.self) { try AccountNumber(bad) }
        }
    }

    @Test("R-ID-10: ISO 4217 table; CNH refused with a pointer to CNY + offshore flag")
    func currencies() throws {
        let expected: [(String, Int, Int)] = [
            ("CNY", 156, 2), ("USD", 840, 2), ("EUR", 978, 2), ("HKD", 344, 2), ("GBP", 826, 2), ("JPY", 392, 0),
            ("KRW", 410, 0), ("BHD", 48, 3), ("KWD", 414, 3), ("CLF", 990, 4), ("SGD", 702, 2), ("AUD", 36, 2),
            ("CAD", 124, 2), ("CHF", 756, 2),
        ]
        for (code, numeric, minor) in expected {
            let currency = try CurrencyCode(code)
            #expect(currency.numericCode == numeric, "\(code)")
            #expect(currency.minorUnits == minor, "\(code)")
        }
        do {
            _ = try CurrencyCode("CNH")
            Issue.record("accepted CNH")
        } catch {
            #expect(error.code == .invalidValue)
            #expect(error.message.contains("CNY"))
            #expect(error.message.contains("offshore"))
        }
        #expect(throws: ValidationError.self) { try CurrencyCode("cny") }
        #expect(throws: ValidationError.self) { try CurrencyCode("XYZ") }
    }

    @Test("Sensitive identifiers: description, debugDescription, interpolation and dump never show the raw value")
    func masking() throws {
        let card = try BankCardNumber("6212261234567890128")
        let id = try ResidentID("11010519491231002X", now: fixedNow)
        let account = try AccountNumber("320200001234567890")
        let shortAccount = try AccountNumber("12345678")
        let iban = try IBAN("GB82WEST12345698765432")
        let raw = [card.unmaskedValue, id.unmaskedValue, account.unmaskedValue, shortAccount.unmaskedValue,
                   iban.unmaskedValue]
        var dumped = ""
        dump(card, to: &dumped)
        dump(id, to: &dumped)
        dump(account, to: &dumped)
        dump(shortAccount, to: &dumped)
        dump(iban, to: &dumped)
        let renderings = [
            "\(card) \(id) \(account) \(shortAccount) \(iban)",
            String(reflecting: card) + String(reflecting: id) + String(reflecting: account)
                + String(reflecting: shortAccount) + String(reflecting: iban),
            "\([card])\([id])\([account])\([iban])",
            dumped,
        ]
        for rendering in renderings {
            for value in raw {
                #expect(!rendering.contains(value), "raw value leaked")
            }
            // The middle digits (positions 5..<last 4) never appear either.
            #expect(!rendering.contains("12345678901"))
        }
        #expect(card.description == "6212***********0128")
        #expect(id.description == "1101**********002X")
        #expect(shortAccount.description == "********")
    }

    @Test("Codable identifiers validate while decoding and name the JSON path")
    func codablePath() throws {
        struct Payee: Decodable { var enterprise: USCC }
        struct Wrapper: Decodable { var payee: Payee }
        let good = Data(#"{"payee":{"enterprise":"91320500MA1Q7H2K3A"}}"#.utf8)
        #expect(try JSONDecoder().decode(Wrapper.self, from: good).payee.enterprise.value == "91320500MA1Q7H2K3A")
        let bad = Data(#"{"payee":{"enterprise":"91320500MA1Q7H2K3B"}}"#.utf8)
        do {
            _ = try JSONDecoder().decode(Wrapper.self, from: bad)
            Issue.record("accepted a bad USCC")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.codingPath.map(\.stringValue) == ["payee", "enterprise"])
            #expect(context.debugDescription.contains("/payee/enterprise"))
            #expect((context.underlyingError as? ValidationError)?.rule == "R-ID-2")
        }
    }

    static func residentCheck(_ body: String) -> String {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(weights, body.utf8).reduce(0) { $0 + $1.0 * Int($1.1 - 0x30) }
        return String(Array("10X98765432")[sum % 11])
    }
}
