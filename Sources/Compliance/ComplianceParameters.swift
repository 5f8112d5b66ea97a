public import Foundation
import HubCore

/// The parameters of every compliance rule. Regulator numbers are configuration, not constants: the defaults are
/// the figures of REFERENCE.md, and a JSON parameters file (``ComplianceParameters/load(fileAt:)``) or
/// `huitong.compliance.*` keys override them.
///
/// Amounts are decimal strings in the file (`"50000.00"`), never JSON numbers (R-GEN-1).
public struct ComplianceParameters: Sendable, Hashable {
    /// A large-value threshold: one amount in RMB (compared with CNY totals) and one in USD (compared with the USD
    /// equivalent of foreign-currency totals), R-AML-5.
    public struct Threshold: Sendable, Hashable, Codable {
        /// The RMB column.
        public var rmb: Decimal
        /// The USD column (foreign currency, USD equivalent).
        public var usd: Decimal

        /// Creates a threshold.
        /// - Parameters:
        ///   - rmb: The RMB column.
        ///   - usd: The USD column.
        public init(rmb: Decimal, usd: Decimal) {
            self.rmb = rmb
            self.usd = usd
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rmb = try DecimalText.decode(container, .rmb)
            usd = try DecimalText.decode(container, .usd)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(DecimalText.plain(rmb), forKey: .rmb)
            try container.encode(DecimalText.plain(usd), forKey: .usd)
        }

        private enum CodingKeys: String, CodingKey { case rmb, usd }
    }

    /// R-AML-7 exemptions (unless suspicious): what does not count towards large-value totals.
    public struct Exemptions: Sendable, Hashable, Codable {
        /// Purpose codes that are exempt (e.g. `INTE` interest, `TAXS` bank-initiated tax, `CORT` corrections).
        public var purposes: [String]
        /// Counterparty USCC prefixes that are exempt (e.g. `11`: state organs under the staffing office).
        public var counterpartyUSCCPrefixes: [String]
        /// Transfers between two accounts of the same name at the same institution (time↔demand rollovers,
        /// internal transfers).
        public var sameNameSameInstitution: Bool

        /// Creates exemptions.
        public init(purposes: [String] = ["INTE", "TAXS", "CORT"], counterpartyUSCCPrefixes: [String] = ["11"],
                    sameNameSameInstitution: Bool = true) {
            self.purposes = purposes
            self.counterpartyUSCCPrefixes = counterpartyUSCCPrefixes
            self.sameNameSameInstitution = sameNameSameInstitution
        }
    }

    /// Which screened commands need a reviewer's clearance (holds) and how holds end.
    public struct HoldPolicy: Sendable, Hashable {
        /// A watchlist hit (R-AML-9) holds the command.
        public var onScreeningHit: Bool = true
        /// A finding of severity `error` (e.g. R-PAY-8 without a documented basis) holds the command.
        public var onErrorFinding: Bool = true
        /// Amounts at or above this many CNY (or its USD column equivalent) hold the command; nil: off.
        public var amountThreshold: Decimal? = nil
        /// The first payment of a customer to a counterparty it never paid before holds the command.
        public var onNewCounterparty: Bool = false
        /// Release needs two different reviewers (a single rejection is final).
        public var fourEyes: Bool = false
        /// An open hold is rejected after this many seconds without a decision.
        public var expirySeconds: Int = 72 * 3600

        /// Creates a policy with the defaults.
        public init() {}
    }

    /// R-AML-1 cash in or out.
    public var cash = Threshold(rmb: 50_000, usd: 10_000)
    /// R-AML-2 non-natural-person account transfers.
    public var legalPersonTransfer = Threshold(rmb: 2_000_000, usd: 200_000)
    /// R-AML-3 natural person, domestic transfers.
    public var naturalPersonDomestic = Threshold(rmb: 500_000, usd: 100_000)
    /// R-AML-4 natural person, cross-border transfers.
    public var naturalPersonCrossBorder = Threshold(rmb: 200_000, usd: 10_000)
    /// USD per one unit of each foreign currency other than USD (e.g. `"EUR": "1.08"`), for the USD column.
    public var usdRates: [String: Decimal] = [:]
    /// R-AML-7.
    public var exemptions = Exemptions()
    /// R-AML-8: working days (Asia/Shanghai calendar) from the day a large-value criterion is met to the filing
    /// deadline.
    public var reportDeadlineWorkingDays = 5
    /// R-AML-8: the most transactions one report message carries. A report with more (a day of many small movements
    /// that together reach a threshold) is sent in parts with the same report id, so that no message exceeds the
    /// consumers' body limit (1 MiB; a transaction's elements are at most ~2 KB).
    public var reportTransactionsPerMessage = 200
    /// Structuring detector: a transaction between these fractions of its threshold is "near" it.
    public var structuringLowerRatio = Decimal(string: "0.90")!
    /// Structuring detector: the upper fraction (inclusive).
    public var structuringUpperRatio = Decimal(string: "0.9999")!
    /// Structuring detector: near-threshold transactions in one customer-day-direction before it fires (their sum
    /// must also reach the threshold).
    public var structuringMinimumCount = 2
    /// R-FX-2: the individual annual quota in USD.
    public var fxAnnualQuotaUSD: Decimal = 50_000
    /// R-ECNY-1: balance caps by wallet tier (CNY); a tier without a cap is absent.
    public var ecnyTierCaps: [Int: Decimal] = [2: 500_000, 3: 20_000, 4: 10_000]
    /// R-PAY-5: the window in seconds within which the same debtor, creditor, amount, currency and value date need an
    /// explicit override.
    public var duplicateWindowSeconds = 24 * 3600
    /// R-PAY-8: corporate→person transfers strictly above this many CNY need a documented basis.
    public var personPaymentBasisThreshold: Decimal = 50_000
    /// R-TAX-4: the incidental-income rate for red packets to non-employees.
    public var redPacketTaxRate = Decimal(string: "0.20")!
    /// Detector: ISO 3166 country codes of high-risk jurisdictions (e.g. the FATF call-for-action list); a
    /// counterparty bank (BIC) there raises a warning. Empty by default: the list is the bank's policy.
    public var highRiskCountries: Set<String> = []
    /// Holds.
    public var holds = HoldPolicy()
    /// The command types that get exactly one verdict (cleared or hold placed).
    public var screenedTypes: Set<String> = ["payments.transfer.request.v1", "payments.batch.request.v1"]

    /// The defaults of REFERENCE.md.
    public init() {}

    /// The threshold of a large-value criterion.
    /// - Parameter criterion: The criterion.
    /// - Returns: Its threshold.
    public func threshold(for criterion: LargeValueCriterion) -> Threshold {
        switch criterion {
        case .cash: cash
        case .legalPersonTransfer: legalPersonTransfer
        case .naturalPersonDomestic: naturalPersonDomestic
        case .naturalPersonCrossBorder: naturalPersonCrossBorder
        }
    }
}

/// The four large-value criteria of PBoC Order [2016] No.3 (REFERENCE.md §2).
public enum LargeValueCriterion: String, Sendable, Hashable, CaseIterable {
    /// R-AML-1: cash in or out.
    case cash = "R-AML-1"
    /// R-AML-2: non-natural-person account transfer.
    case legalPersonTransfer = "R-AML-2"
    /// R-AML-3: natural person, domestic transfer.
    case naturalPersonDomestic = "R-AML-3"
    /// R-AML-4: natural person, cross-border transfer.
    case naturalPersonCrossBorder = "R-AML-4"

    /// The rule ID.
    public var rule: String { rawValue }
}

// MARK: - The parameters file

extension ComplianceParameters {
    /// A failure to read the parameters file: names the member and what is wrong (log-safe).
    public struct FileError: Error, Sendable, CustomStringConvertible {
        /// What is wrong.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Reads a JSON parameters file over the defaults. Every member is optional; unknown members are refused so a
    /// misspelt key never silently keeps a default.
    ///
    /// ```json
    /// {"cash": {"rmb": "50000", "usd": "10000"}, "legalPersonTransfer": {...}, "naturalPersonDomestic": {...},
    ///  "naturalPersonCrossBorder": {...}, "usdRates": {"EUR": "1.08"},
    ///  "exemptions": {"purposes": ["INTE"], "counterpartyUSCCPrefixes": ["11"], "sameNameSameInstitution": true},
    ///  "reportDeadlineWorkingDays": 5, "reportTransactionsPerMessage": 200,
    ///  "structuring": {"lowerRatio": "0.90", "upperRatio": "0.9999", "minimumCount": 2},
    ///  "fxAnnualQuotaUSD": "50000", "ecnyTierCaps": {"2": "500000", "3": "20000", "4": "10000"},
    ///  "duplicateWindowSeconds": 86400, "personPaymentBasisThreshold": "50000", "redPacketTaxRate": "0.20",
    ///  "holds": {"onScreeningHit": true, "onErrorFinding": true, "amountThreshold": "5000000",
    ///            "onNewCounterparty": false, "fourEyes": false, "expirySeconds": 259200},
    ///  "screenedTypes": ["payments.transfer.request.v1", "payments.batch.request.v1"], "highRiskCountries": ["KP"]}
    /// ```
    /// - Parameters:
    ///   - bytes: The file's content.
    /// - Returns: The parameters.
    /// - Throws: ``FileError`` naming the member.
    public static func parse(_ bytes: [UInt8]) throws(FileError) -> ComplianceParameters {
        let root: JSONObject
        do {
            guard let object = try JSONValue.parse(bytes).objectValue else {
                throw FileError(message: "the parameters file must hold a JSON object")
            }
            root = object
        } catch let error as FileError {
            throw error
        } catch {
            throw FileError(message: "the parameters file is not JSON (\(error))")
        }
        var parameters = ComplianceParameters()
        let known: Set<String> = [
            "cash", "legalPersonTransfer", "naturalPersonDomestic", "naturalPersonCrossBorder", "usdRates", "exemptions",
            "reportDeadlineWorkingDays", "reportTransactionsPerMessage", "structuring", "fxAnnualQuotaUSD", "ecnyTierCaps",
            "duplicateWindowSeconds", "personPaymentBasisThreshold", "redPacketTaxRate", "holds", "screenedTypes", "highRiskCountries",
        ]
        for key in root.keys where !known.contains(key) {
            throw FileError(message: "unknown member '\(key)' in the parameters file")
        }
        func threshold(_ key: String) throws(FileError) -> Threshold? {
            guard let value = root[key] else { return nil }
            guard let object = value.objectValue else { throw FileError(message: "'\(key)' must be an object") }
            return Threshold(
                rmb: try decimal(object["rmb"], "\(key).rmb"), usd: try decimal(object["usd"], "\(key).usd"))
        }
        if let value = try threshold("cash") { parameters.cash = value }
        if let value = try threshold("legalPersonTransfer") { parameters.legalPersonTransfer = value }
        if let value = try threshold("naturalPersonDomestic") { parameters.naturalPersonDomestic = value }
        if let value = try threshold("naturalPersonCrossBorder") { parameters.naturalPersonCrossBorder = value }
        if let rates = root["usdRates"] {
            guard let object = rates.objectValue else { throw FileError(message: "'usdRates' must be an object") }
            for member in object { parameters.usdRates[member.key] = try decimal(member.value, "usdRates.\(member.key)") }
        }
        if let value = root["exemptions"] {
            guard let object = value.objectValue else { throw FileError(message: "'exemptions' must be an object") }
            if let list = object["purposes"] { parameters.exemptions.purposes = try strings(list, "exemptions.purposes") }
            if let list = object["counterpartyUSCCPrefixes"] {
                parameters.exemptions.counterpartyUSCCPrefixes = try strings(list, "exemptions.counterpartyUSCCPrefixes")
            }
            if let flag = object["sameNameSameInstitution"] {
                parameters.exemptions.sameNameSameInstitution = try bool(flag, "exemptions.sameNameSameInstitution")
            }
        }
        if let value = root["reportDeadlineWorkingDays"] {
            parameters.reportDeadlineWorkingDays = try integer(value, "reportDeadlineWorkingDays", range: 1...30)
        }
        if let value = root["reportTransactionsPerMessage"] {
            parameters.reportTransactionsPerMessage = try integer(value, "reportTransactionsPerMessage", range: 1...400)
        }
        if let value = root["structuring"] {
            guard let object = value.objectValue else { throw FileError(message: "'structuring' must be an object") }
            if let v = object["lowerRatio"] { parameters.structuringLowerRatio = try decimal(v, "structuring.lowerRatio") }
            if let v = object["upperRatio"] { parameters.structuringUpperRatio = try decimal(v, "structuring.upperRatio") }
            if let v = object["minimumCount"] {
                parameters.structuringMinimumCount = try integer(v, "structuring.minimumCount", range: 2...1000)
            }
        }
        if let value = root["fxAnnualQuotaUSD"] { parameters.fxAnnualQuotaUSD = try decimal(value, "fxAnnualQuotaUSD") }
        if let value = root["ecnyTierCaps"] {
            guard let object = value.objectValue else { throw FileError(message: "'ecnyTierCaps' must be an object") }
            var caps: [Int: Decimal] = [:]
            for member in object {
                guard let tier = Int(member.key), (1...4).contains(tier) else {
                    throw FileError(message: "'ecnyTierCaps' keys must be tiers 1–4")
                }
                caps[tier] = try decimal(member.value, "ecnyTierCaps.\(member.key)")
            }
            parameters.ecnyTierCaps = caps
        }
        if let value = root["duplicateWindowSeconds"] {
            parameters.duplicateWindowSeconds = try integer(value, "duplicateWindowSeconds", range: 0...(366 * 86400))
        }
        if let value = root["personPaymentBasisThreshold"] {
            parameters.personPaymentBasisThreshold = try decimal(value, "personPaymentBasisThreshold")
        }
        if let value = root["redPacketTaxRate"] { parameters.redPacketTaxRate = try decimal(value, "redPacketTaxRate") }
        if let value = root["holds"] {
            guard let object = value.objectValue else { throw FileError(message: "'holds' must be an object") }
            if let v = object["onScreeningHit"] { parameters.holds.onScreeningHit = try bool(v, "holds.onScreeningHit") }
            if let v = object["onErrorFinding"] { parameters.holds.onErrorFinding = try bool(v, "holds.onErrorFinding") }
            if let v = object["amountThreshold"] {
                parameters.holds.amountThreshold = v == .null ? nil : try decimal(v, "holds.amountThreshold")
            }
            if let v = object["onNewCounterparty"] {
                parameters.holds.onNewCounterparty = try bool(v, "holds.onNewCounterparty")
            }
            if let v = object["fourEyes"] { parameters.holds.fourEyes = try bool(v, "holds.fourEyes") }
            if let v = object["expirySeconds"] {
                parameters.holds.expirySeconds = try integer(v, "holds.expirySeconds", range: 1...(366 * 86400))
            }
        }
        if let value = root["highRiskCountries"] {
            let codes = try strings(value, "highRiskCountries")
            for code in codes where code.utf8.count != 2 || !code.utf8.allSatisfy({ (0x41...0x5A).contains($0) }) {
                throw FileError(message: "'highRiskCountries' must hold ISO 3166 alpha-2 codes such as \"KP\"")
            }
            parameters.highRiskCountries = Set(codes)
        }
        if let value = root["screenedTypes"] {
            parameters.screenedTypes = Set(try strings(value, "screenedTypes"))
        }
        return parameters
    }

    private static func decimal(_ value: JSONValue?, _ key: String) throws(FileError) -> Decimal {
        guard let text = value?.stringValue, let decimal = DecimalText.parse(text), decimal >= 0 else {
            throw FileError(message: "'\(key)' must be a non-negative decimal string such as \"50000.00\"")
        }
        return decimal
    }

    private static func integer(_ value: JSONValue, _ key: String, range: ClosedRange<Int>) throws(FileError) -> Int {
        guard case .number(let number) = value, let int = number.intValue, range.contains(int) else {
            throw FileError(message: "'\(key)' must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return int
    }

    private static func bool(_ value: JSONValue, _ key: String) throws(FileError) -> Bool {
        guard case .bool(let flag) = value else { throw FileError(message: "'\(key)' must be true or false") }
        return flag
    }

    private static func strings(_ value: JSONValue, _ key: String) throws(FileError) -> [String] {
        guard let array = value.arrayValue else { throw FileError(message: "'\(key)' must be an array of strings") }
        var result: [String] = []
        for element in array {
            guard let text = element.stringValue else { throw FileError(message: "'\(key)' must be an array of strings") }
            result.append(text)
        }
        return result
    }
}

/// Exact decimal text: parsing without `Double`, and plain formatting.
enum DecimalText {
    /// Parses `^-?[0-9]+(\.[0-9]+)?$` exactly.
    static func parse(_ text: String) -> Decimal? {
        var bytes = Array(text.utf8)
        var negative = false
        if bytes.first == UInt8(ascii: "-") { negative = true; bytes.removeFirst() }
        guard !bytes.isEmpty else { return nil }
        var significand = Decimal(0)
        var exponent = 0
        var seenPoint = false
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { return nil }
                seenPoint = true
                continue
            }
            guard (0x30...0x39).contains(byte) else { return nil }
            significand = significand * 10 + Decimal(Int(byte) - 0x30)
            if seenPoint { exponent -= 1 }
            digits += 1
        }
        guard digits > 0, digits <= 34, bytes.last != UInt8(ascii: ".") else { return nil }
        var value = Decimal(sign: .plus, exponent: exponent, significand: significand)
        if negative { value.negate() }
        return value
    }

    /// Plain notation (no exponent).
    static func plain(_ value: Decimal) -> String {
        NSDecimalNumber(decimal: value).description(withLocale: Locale(identifier: "en_US_POSIX"))
    }

    static func decode<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws -> Decimal {
        let text = try container.decode(String.self, forKey: key)
        guard let value = parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a decimal string")
        }
        return value
    }
}
