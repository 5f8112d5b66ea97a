public import Foundation

/// An exact amount of money in one currency.
///
/// - The amount is a `Decimal`, built only from a decimal string or from integer minor units (R-GEN-1): there is
///   no `Double` initialiser and no float literal, because a float literal passes through `Double`
///   (`let d: Decimal = 3.133` is 3.132999999999999488).
/// - String parsing is strict (R-GEN-3): `^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`, no exponent, sign `+`, spaces or
///   leading zeros; at most the currency's minor-unit digits after the point; at most 18 integer digits.
/// - A `Money` value never holds more fraction digits than its currency's minor units; results with more digits
///   are rounded half-up once, explicitly (``rounded(_:currency:)``, R-GEN-2).
/// - The canonical string has exactly the minor-unit digits (`1234.50`); JSON is
///   `{"amount":"1234.50","currency":"CNY"}`.
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The exact amount.
    public let amount: Decimal
    /// The currency.
    public let currency: CurrencyCode

    /// The largest number of integer digits an amount may have.
    public static let maximumIntegerDigits = 18

    /// Parses a wire amount.
    /// - Parameters:
    ///   - string: The decimal string, e.g. `1234.50`.
    ///   - currency: The currency, which bounds the fraction digits.
    /// - Throws: `ValidationError`: `invalidFormat` (grammar, rule R-GEN-3), `invalidValue` (too many fraction
    ///   digits for the currency, R-GEN-3), `outOfRange` (more than 18 integer digits).
    public init(string: String, currency: CurrencyCode) throws(ValidationError) {
        let (negative, integerDigits, fractionDigits) = try Self.lex(string)
        guard fractionDigits.count <= currency.minorUnits else {
            throw ValidationError(
                .invalidValue, rule: "R-GEN-3",
                message: "the amount has more fraction digits than the currency's \(currency.minorUnits) minor units")
        }
        guard integerDigits.count <= Self.maximumIntegerDigits else {
            throw ValidationError(.outOfRange, rule: "R-GEN-3", message: "the amount has more than 18 integer digits")
        }
        var significand = Decimal(0)
        for byte in integerDigits + fractionDigits { significand = significand * 10 + Decimal(Int(byte) - 0x30) }
        var value = Decimal(sign: .plus, exponent: -fractionDigits.count, significand: significand)
        if negative && value != 0 { value.negate() }
        self.amount = value
        self.currency = currency
    }

    /// Parses an amount string and a currency code, as found on the wire.
    /// - Parameters:
    ///   - string: The decimal string.
    ///   - currencyCode: The ISO 4217 code.
    /// - Throws: `ValidationError` from the currency or the amount.
    public init(string: String, currencyCode: String) throws(ValidationError) {
        try self.init(string: string, currency: try CurrencyCode(currencyCode))
    }

    /// Creates an amount from integer minor units (e.g. fen for CNY): `Money(minorUnits: 123450, currency: .cny)` is
    /// 1234.50 CNY.
    /// - Parameters:
    ///   - minorUnits: The amount in minor units.
    ///   - currency: The currency.
    public init(minorUnits: Int64, currency: CurrencyCode) {
        var value = Decimal(sign: .plus, exponent: -currency.minorUnits, significand: Decimal(minorUnits.magnitude))
        if minorUnits < 0 { value.negate() }
        self.amount = value
        self.currency = currency
    }

    private init(exact amount: Decimal, currency: CurrencyCode) {
        self.amount = amount
        self.currency = currency
    }

    /// Rounds an exact decimal half-up (away from zero on a tie) to the currency's minor units (R-GEN-2:
    /// `NSDecimalRound(…, .plain)`, never `.bankers`): 0.125 CNY → 0.13.
    /// - Parameters:
    ///   - amount: The exact amount, e.g. the result of a rate calculation.
    ///   - currency: The currency.
    /// - Returns: The rounded money.
    /// - Throws: `ValidationError` (`outOfRange`) if the result has more than 18 integer digits.
    public static func rounded(_ amount: Decimal, currency: CurrencyCode) throws(ValidationError) -> Money {
        var input = amount
        var result = Decimal()
        NSDecimalRound(&result, &input, currency.minorUnits, .plain)
        guard result.magnitude < Self.limit else {
            throw ValidationError(.outOfRange, rule: "R-GEN-3", message: "the amount has more than 18 integer digits")
        }
        return Money(exact: result == 0 ? 0 : result, currency: currency)
    }

    /// Zero in a currency.
    /// - Parameter currency: The currency.
    /// - Returns: 0 in that currency.
    public static func zero(_ currency: CurrencyCode) -> Money { Money(exact: 0, currency: currency) }

    /// The canonical amount string with exactly the currency's minor-unit digits, e.g. `1234.50`, `-0.01`, `100`.
    public var amountString: String {
        let scale = currency.minorUnits
        var scaled = amount.magnitude
        for _ in 0..<scale { scaled *= 10 }
        var digits = Array(NSDecimalNumber(decimal: scaled).stringValue)
        if digits.count <= scale { digits = Array(repeating: "0", count: scale - digits.count + 1) + digits }
        let integer = String(digits[..<(digits.count - scale)])
        let fraction = String(digits[(digits.count - scale)...])
        let sign = amount < 0 ? "-" : ""
        return scale == 0 ? sign + integer : sign + integer + "." + fraction
    }

    /// The amount in integer minor units, if it fits in `Int64`.
    public var minorUnits: Int64? {
        var scaled = amount
        for _ in 0..<currency.minorUnits { scaled *= 10 }
        return Int64(NSDecimalNumber(decimal: scaled).stringValue)
    }

    /// Whether two values are the same amount in the same currency (`1.5` and `1.50` CNY are equal).
    /// - Parameters:
    ///   - lhs: An amount.
    ///   - rhs: Another amount.
    /// - Returns: Whether they are equal.
    public static func == (lhs: Money, rhs: Money) -> Bool {
        lhs.currency == rhs.currency && lhs.amount == rhs.amount
    }

    /// Hashes the canonical amount string and the currency, consistent with `==` whatever the `Decimal` scale.
    /// - Parameter hasher: The hasher.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(amountString)
        hasher.combine(currency)
    }

    /// Whether the amount is below zero.
    public var isNegative: Bool { amount < 0 }
    /// Whether the amount is zero.
    public var isZero: Bool { amount == 0 }

    /// `1234.50 CNY`. Amounts are business data, not personal identifiers; redact at the call site if a policy says so.
    public var description: String { "\(amountString) \(currency.code)" }
    /// The same, labelled.
    public var debugDescription: String { "Money(\(description))" }

    // MARK: Arithmetic (same currency only)

    /// Adds an amount in the same currency.
    /// - Parameter other: The amount to add.
    /// - Returns: The sum.
    /// - Throws: `ValidationError` (`currencyMismatch`, or `outOfRange` past 18 integer digits).
    public func adding(_ other: Money) throws(ValidationError) -> Money {
        try checkCurrency(other)
        return try Self.checked(amount + other.amount, currency: currency)
    }

    /// Subtracts an amount in the same currency.
    /// - Parameter other: The amount to subtract.
    /// - Returns: The difference.
    /// - Throws: `ValidationError` (`currencyMismatch`, or `outOfRange` past 18 integer digits).
    public func subtracting(_ other: Money) throws(ValidationError) -> Money {
        try checkCurrency(other)
        return try Self.checked(amount - other.amount, currency: currency)
    }

    /// Multiplies by an exact factor (a rate, a ratio) and rounds half-up to minor units once (R-GEN-2).
    /// - Parameter factor: The exact factor, built from a string (`Decimal(string:)`), never a float literal.
    /// - Returns: The rounded product.
    /// - Throws: `ValidationError` (`outOfRange`) past 18 integer digits.
    public func multiplied(by factor: Decimal) throws(ValidationError) -> Money {
        try Self.rounded(amount * factor, currency: currency)
    }

    /// The amount with the opposite sign.
    public var negated: Money { Money(exact: amount == 0 ? 0 : -amount, currency: currency) }

    /// Compares two amounts in the same currency.
    /// - Parameter other: The amount to compare with.
    /// - Returns: `.orderedAscending` if `self < other`, and so on.
    /// - Throws: `ValidationError` (`currencyMismatch`).
    public func compare(_ other: Money) throws(ValidationError) -> ComparisonResult {
        try checkCurrency(other)
        if amount < other.amount { return .orderedAscending }
        if amount > other.amount { return .orderedDescending }
        return .orderedSame
    }

    private func checkCurrency(_ other: Money) throws(ValidationError) {
        guard currency == other.currency else {
            throw ValidationError(
                .currencyMismatch, rule: "money-currency",
                message: "cannot combine amounts in \(currency.code) and \(other.currency.code); convert first")
        }
    }

    private static let limit: Decimal = {
        var value = Decimal(1)
        for _ in 0..<maximumIntegerDigits { value *= 10 }
        return value
    }()

    private static func checked(_ amount: Decimal, currency: CurrencyCode) throws(ValidationError) -> Money {
        guard amount.magnitude < limit else {
            throw ValidationError(.outOfRange, rule: "R-GEN-3", message: "the amount has more than 18 integer digits")
        }
        return Money(exact: amount, currency: currency)
    }

    /// Splits the strict grammar into sign, integer digits and fraction digits.
    static func lex(_ string: String) throws(ValidationError) -> (Bool, [UInt8], [UInt8]) {
        var bytes = Array(string.utf8)[...]
        let grammar = ValidationError(
            .invalidFormat, rule: "R-GEN-3",
            message: "an amount is a plain decimal string such as \"1234.50\": optional '-', digits without leading "
                + "zeros, optional '.' and digits; no exponent, '+', spaces or separators")
        var negative = false
        if bytes.first == 0x2D {
            negative = true
            bytes = bytes.dropFirst()
        }
        let isDigit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        let integer = Array(bytes.prefix(while: isDigit))
        bytes = bytes.dropFirst(integer.count)
        guard !integer.isEmpty, integer.count == 1 || integer[0] != 0x30 else { throw grammar }
        var fraction: [UInt8] = []
        if bytes.first == 0x2E {
            bytes = bytes.dropFirst()
            fraction = Array(bytes.prefix(while: isDigit))
            bytes = bytes.dropFirst(fraction.count)
            guard !fraction.isEmpty else { throw grammar }
        }
        guard bytes.isEmpty else { throw grammar }
        return (negative, integer, fraction)
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey { case amount, currency }

    /// Decodes `{"amount":"1234.50","currency":"CNY"}`; the amount must be a JSON string, never a number.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the path; a validation failure is its underlying `ValidationError`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try container.decode(CurrencyCode.self, forKey: .currency)
        let string = try container.decode(String.self, forKey: .amount)
        do {
            try self.init(string: string, currency: currency)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: container.codingPath + [CodingKeys.amount],
                    debugDescription: error.description,
                    underlyingError: error
                )
            )
        }
    }

    /// Encodes `{"amount":"1234.50","currency":"CNY"}` with the canonical amount string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(amountString, forKey: .amount)
        try container.encode(currency, forKey: .currency)
    }
}
