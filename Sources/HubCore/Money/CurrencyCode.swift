/// An ISO 4217 currency code with its numeric code and minor units, from a static table (R-ID-10).
///
/// The table is static on purpose: Foundation's CLDR data differs from ISO 4217 for some currencies. `CNH` (offshore
/// renminbi) is not an ISO code and is refused: use `CNY` with an offshore flag.
public struct CurrencyCode: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The alphabetic code, e.g. `CNY`.
    public let code: String
    /// The ISO numeric code, e.g. 156.
    public let numericCode: Int
    /// The number of minor-unit digits, e.g. 2 for CNY, 0 for JPY, 3 for BHD.
    public let minorUnits: Int

    private init(code: String, numericCode: Int, minorUnits: Int) {
        self.code = code
        self.numericCode = numericCode
        self.minorUnits = minorUnits
    }

    /// Renminbi (156, 2).
    public static let cny = CurrencyCode(code: "CNY", numericCode: 156, minorUnits: 2)
    /// US dollar (840, 2).
    public static let usd = CurrencyCode(code: "USD", numericCode: 840, minorUnits: 2)
    /// Euro (978, 2).
    public static let eur = CurrencyCode(code: "EUR", numericCode: 978, minorUnits: 2)
    /// Hong Kong dollar (344, 2).
    public static let hkd = CurrencyCode(code: "HKD", numericCode: 344, minorUnits: 2)
    /// Pound sterling (826, 2).
    public static let gbp = CurrencyCode(code: "GBP", numericCode: 826, minorUnits: 2)
    /// Yen (392, 0).
    public static let jpy = CurrencyCode(code: "JPY", numericCode: 392, minorUnits: 0)

    /// Every supported currency.
    public static let all: [CurrencyCode] = [
        cny, usd, eur, hkd, gbp, jpy,
        CurrencyCode(code: "KRW", numericCode: 410, minorUnits: 0),
        CurrencyCode(code: "BHD", numericCode: 48, minorUnits: 3),
        CurrencyCode(code: "KWD", numericCode: 414, minorUnits: 3),
        CurrencyCode(code: "CLF", numericCode: 990, minorUnits: 4),
        CurrencyCode(code: "SGD", numericCode: 702, minorUnits: 2),
        CurrencyCode(code: "AUD", numericCode: 36, minorUnits: 2),
        CurrencyCode(code: "CAD", numericCode: 124, minorUnits: 2),
        CurrencyCode(code: "CHF", numericCode: 756, minorUnits: 2),
        CurrencyCode(code: "MOP", numericCode: 446, minorUnits: 2),
        CurrencyCode(code: "TWD", numericCode: 901, minorUnits: 2),
        CurrencyCode(code: "NZD", numericCode: 554, minorUnits: 2),
        CurrencyCode(code: "SEK", numericCode: 752, minorUnits: 2),
        CurrencyCode(code: "NOK", numericCode: 578, minorUnits: 2),
        CurrencyCode(code: "DKK", numericCode: 208, minorUnits: 2),
        CurrencyCode(code: "RUB", numericCode: 643, minorUnits: 2),
        CurrencyCode(code: "THB", numericCode: 764, minorUnits: 2),
        CurrencyCode(code: "MYR", numericCode: 458, minorUnits: 2),
        CurrencyCode(code: "AED", numericCode: 784, minorUnits: 2),
        CurrencyCode(code: "SAR", numericCode: 682, minorUnits: 2),
        CurrencyCode(code: "OMR", numericCode: 512, minorUnits: 3),
        CurrencyCode(code: "JOD", numericCode: 400, minorUnits: 3),
        CurrencyCode(code: "TND", numericCode: 788, minorUnits: 3),
        CurrencyCode(code: "IQD", numericCode: 368, minorUnits: 3),
    ]

    private static let byCode: [String: CurrencyCode] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// Looks a currency up by its alphabetic code.
    /// - Parameter code: Three uppercase letters, e.g. `CNY`.
    /// - Throws: `ValidationError`: `invalidFormat` for anything but three uppercase letters, `invalidValue` for
    ///   `CNH` or a code not in the table (rule R-ID-10).
    public init(_ code: String) throws(ValidationError) {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw ValidationError(
                .invalidFormat, rule: "R-ID-10", message: "a currency code is three uppercase letters (ISO 4217)")
        }
        if code == "CNH" {
            throw ValidationError(
                .invalidValue, rule: "R-ID-10",
                message: "CNH is not an ISO 4217 code; use CNY with the offshore flag")
        }
        guard let known = Self.byCode[code] else {
            throw ValidationError(
                .invalidValue, rule: "R-ID-10", message: "the currency code is not in the hub's ISO 4217 table")
        }
        self = known
    }

    /// The alphabetic code.
    public var description: String { code }
    /// The code with its numeric code and minor units.
    public var debugDescription: String { "CurrencyCode(\(code), \(numericCode), minor units \(minorUnits))" }

    /// Decodes and validates a code from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in
            try CurrencyCode(s)
        }
    }

    /// Encodes the alphabetic code as a JSON string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}
