/// A bank card number (personal debit or credit card): 12–19 digits.
///
/// The Luhn check (R-ID-6) is a warning, not a failure, because some old domestic cards fail it: see
/// ``luhnCheckPasses``. Sensitive: `description`, `debugDescription` and reflection are masked; the raw number is
/// available only through ``unmaskedValue``.
public struct BankCardNumber: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The raw digits. Never log them; interpolate the value itself, which is masked.
    public let unmaskedValue: String

    /// Validates a card number.
    /// - Parameter string: 12 to 19 ASCII digits, no spaces.
    /// - Throws: `ValidationError` (`invalidFormat`, rule `card-format`).
    public init(_ string: String) throws(ValidationError) {
        guard (12...19).contains(string.utf8.count), IdentifierSupport.allDigits(string) else {
            throw ValidationError(.invalidFormat, rule: "card-format", message: "a bank card number is 12 to 19 digits")
        }
        self.unmaskedValue = string
    }

    /// Whether the Luhn check (R-ID-6) passes. A failure is a warning only.
    public var luhnCheckPasses: Bool { Self.luhnCheckPasses(unmaskedValue) }

    /// Warnings about this number (the R-ID-6 Luhn check); empty when none.
    public var warnings: [ValidationError] {
        luhnCheckPasses
            ? [] : [ValidationError(.checkFailed, rule: "R-ID-6", message: "the card number fails the Luhn check")]
    }

    /// The masked number (first 4 and last 4 digits visible).
    public var description: String { IdentifierSupport.mask(unmaskedValue) }
    /// The masked number, labelled.
    public var debugDescription: String { "BankCardNumber(\(description))" }
    /// A masked mirror, so that `dump` and reflection never show the raw number.
    public var customMirror: Mirror { Mirror(self, children: ["masked": description], displayStyle: .struct) }

    /// Decodes and validates a number from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in
            try BankCardNumber(s)
        }
    }

    /// Encodes the raw number as a JSON string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(unmaskedValue)
    }

    /// The Luhn check (R-ID-6) over any string of ASCII digits: from the right, double every second digit (minus 9
    /// if over 9); the sum must be ≡ 0 (mod 10).
    /// - Parameter digits: The digits.
    /// - Returns: Whether the check passes; false if the string is empty or not all digits.
    public static func luhnCheckPasses(_ digits: String) -> Bool {
        guard IdentifierSupport.allDigits(digits) else { return false }
        var sum = 0
        for (index, byte) in digits.utf8.reversed().enumerated() {
            var d = IdentifierSupport.digit(byte)
            if index % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return sum % 10 == 0
    }
}

/// A corporate bank account number: 1–34 characters of `[0-9A-Z-]`.
///
/// Formats are bank-specific, so there is no check digit (never Luhn-check account numbers, R-ID-6). Sensitive:
/// `description`, `debugDescription` and reflection are masked; the raw number only through ``unmaskedValue``.
public struct AccountNumber: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The raw account number. Never log it; interpolate the value itself, which is masked.
    public let unmaskedValue: String

    /// Validates an account number.
    /// - Parameter string: 1 to 34 characters of digits, uppercase letters and `-`.
    /// - Throws: `ValidationError` (`invalidFormat`, rule `account-format`).
    public init(_ string: String) throws(ValidationError) {
        let bytes = string.utf8
        guard (1...34).contains(bytes.count),
              bytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x2D })
        else {
            throw ValidationError(
                .invalidFormat, rule: "account-format",
                message: "an account number is 1 to 34 characters of digits, uppercase letters and '-'")
        }
        self.unmaskedValue = string
    }

    /// The masked number (first 4 and last 4 characters visible when longer than 8; otherwise fully masked).
    public var description: String { IdentifierSupport.mask(unmaskedValue) }
    /// The masked number, labelled.
    public var debugDescription: String { "AccountNumber(\(description))" }
    /// A masked mirror, so that `dump` and reflection never show the raw number.
    public var customMirror: Mirror { Mirror(self, children: ["masked": description], displayStyle: .struct) }

    /// Decodes and validates a number from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in
            try AccountNumber(s)
        }
    }

    /// Encodes the raw number as a JSON string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(unmaskedValue)
    }
}

/// A CNAPS code (联行号, R-ID-7): 12 digits = 3 bank category + 4 city + 4 branch + 1 check.
///
/// Only the syntax is validated: the check-digit algorithm is not public, so membership must come from a lookup in
/// the PBoC directory.
public struct CNAPSCode: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The 12 digits.
    public let value: String

    /// Validates a CNAPS code.
    /// - Parameter string: Exactly 12 ASCII digits.
    /// - Throws: `ValidationError` (`invalidFormat`, rule R-ID-7).
    public init(_ string: String) throws(ValidationError) {
        guard string.utf8.count == 12, IdentifierSupport.allDigits(string) else {
            throw ValidationError(.invalidFormat, rule: "R-ID-7", message: "a CNAPS code is exactly 12 digits")
        }
        self.value = string
    }

    /// The 3-digit bank category (e.g. `102` ICBC, `104` BOC).
    public var bankCategory: Substring { value.prefix(3) }

    /// The code (public directory data).
    public var description: String { value }
    /// The code, labelled.
    public var debugDescription: String { "CNAPSCode(\(value))" }

    /// Decodes and validates a code from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try CNAPSCode(s) }
    }

    /// Encodes the code as a JSON string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// A Business Identifier Code (ISO 9362, R-ID-8): `^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`.
public struct BIC: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The 8 or 11 characters.
    public let value: String

    /// Validates a BIC.
    /// - Parameter string: 8 or 11 uppercase characters; characters 5–6 are letters (the ISO 3166 country).
    /// - Throws: `ValidationError` (`invalidFormat`, rule R-ID-8).
    public init(_ string: String) throws(ValidationError) {
        let bytes = Array(string.utf8)
        let isAlnum = { (b: UInt8) in (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) }
        let isAlpha = { (b: UInt8) in b >= 0x41 && b <= 0x5A }
        guard bytes.count == 8 || bytes.count == 11,
              bytes[0..<4].allSatisfy(isAlnum), bytes[4..<6].allSatisfy(isAlpha), bytes[6...].allSatisfy(isAlnum)
        else {
            throw ValidationError(
                .invalidFormat, rule: "R-ID-8",
                message: "a BIC is 8 or 11 uppercase characters: 4 party, 2 country letters, 2 location, optional 3 branch")
        }
        self.value = string
    }

    /// The ISO 3166 country code (characters 5–6).
    public var countryCode: Substring { value.dropFirst(4).prefix(2) }

    /// The 11-character form (`XXX` appended to a BIC8).
    public var bic11: String { value.utf8.count == 8 ? value + "XXX" : value }

    /// The code.
    public var description: String { value }
    /// The code, labelled.
    public var debugDescription: String { "BIC(\(value))" }

    /// Decodes and validates a BIC from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try BIC(s) }
    }

    /// Encodes the BIC as a JSON string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// An International Bank Account Number (ISO 13616, R-ID-9), electronic form (uppercase, no spaces).
///
/// China has no IBAN: a `CN` IBAN is refused, and CN accounts travel as ISO 20022 `Othr/Id` (``AccountNumber``).
/// Sensitive: `description`, `debugDescription` and reflection are masked; raw value through ``unmaskedValue``.
public struct IBAN: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The raw IBAN. Never log it; interpolate the value itself, which is masked.
    public let unmaskedValue: String

    /// Validates an IBAN.
    /// - Parameter string: 15–34 characters: 2 country letters, 2 check digits, then uppercase letters and digits.
    /// - Throws: `ValidationError` with `invalidFormat` (syntax), `invalidValue` (country CN) or `checkFailed`
    ///   (mod 97 ≠ 1), rule R-ID-9.
    public init(_ string: String) throws(ValidationError) {
        let bytes = Array(string.utf8)
        let isAlpha = { (b: UInt8) in b >= 0x41 && b <= 0x5A }
        let isDigit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        guard (15...34).contains(bytes.count), bytes[0..<2].allSatisfy(isAlpha), bytes[2..<4].allSatisfy(isDigit),
              bytes[4...].allSatisfy({ isAlpha($0) || isDigit($0) })
        else {
            throw ValidationError(
                .invalidFormat, rule: "R-ID-9",
                message: "an IBAN is 15 to 34 characters: 2 country letters, 2 check digits, then uppercase letters "
                    + "and digits, without spaces")
        }
        guard !(bytes[0] == 0x43 && bytes[1] == 0x4E) else {
            throw ValidationError(
                .invalidValue, rule: "R-ID-9",
                message: "China has no IBAN; send a CN account number as an ISO 20022 Othr/Id account number")
        }
        var remainder = 0
        for byte in bytes[4...] + bytes[0..<4] {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte) - 0x30) % 97
            } else {
                remainder = (remainder * 100 + Int(byte) - 0x41 + 10) % 97
            }
        }
        guard remainder == 1 else {
            throw ValidationError(.checkFailed, rule: "R-ID-9", message: "the IBAN check digits do not match (mod 97)")
        }
        self.unmaskedValue = string
    }

    /// The ISO 3166 country code (characters 1–2).
    public var countryCode: Substring { unmaskedValue.prefix(2) }

    /// The masked IBAN (first 4 and last 4 characters visible).
    public var description: String { IdentifierSupport.mask(unmaskedValue) }
    /// The masked IBAN, labelled.
    public var debugDescription: String { "IBAN(\(description))" }
    /// A masked mirror, so that `dump` and reflection never show the raw value.
    public var customMirror: Mirror { Mirror(self, children: ["masked": description], displayStyle: .struct) }

    /// Decodes and validates an IBAN from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try IBAN(s) }
    }

    /// Encodes the raw IBAN as a JSON string.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(unmaskedValue)
    }
}
