public import Foundation

/// A PRC resident identity card number (GB 11643), or a Hong Kong / Macau / Taiwan residence permit number (address
/// codes 810000, 820000, 830000), which uses the same layout and check.
///
/// Sensitive personal data: `description`, `debugDescription` and reflection are masked (first 4 and last 4
/// characters visible); the raw number is available only through ``unmaskedValue``.
public struct ResidentID: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Who issued the number.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case mainland, hongKong, macau, taiwan }
        private let base: Base
        /// A mainland resident identity card.
        public static let mainland = Kind(base: .mainland)
        /// A residence permit for Hong Kong residents (address code 810000).
        public static let hongKongPermit = Kind(base: .hongKong)
        /// A residence permit for Macau residents (address code 820000).
        public static let macauPermit = Kind(base: .macau)
        /// A residence permit for Taiwan residents (address code 830000).
        public static let taiwanPermit = Kind(base: .taiwan)
        /// The kind's name.
        public var description: String { base.rawValue }
    }

    /// The raw 18-character number. Never log it; interpolate the value itself, which is masked.
    public let unmaskedValue: String
    /// The birth date encoded in the number (year, month, day; a civil date in Asia/Shanghai).
    public let birthDate: DateComponents
    /// Who issued the number.
    public let kind: Kind

    /// The weights of R-ID-4 (2^(18−i) mod 11).
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    /// Check characters for remainders 0…10.
    static let checkCharacters: [UInt8] = Array("10X98765432".utf8)

    /// Validates an 18-character number (R-ID-4).
    /// - Parameters:
    ///   - string: The number: 17 digits and a check character (digit or uppercase `X`).
    ///   - now: The current instant, for the not-in-the-future check on the birth date, evaluated as a civil date
    ///     in Asia/Shanghai (default: the system clock). Inject it in tests.
    /// - Throws: `ValidationError` with `invalidFormat` (layout), `invalidValue` (impossible or future birth date)
    ///   or `checkFailed` (check character), all under rule R-ID-4.
    public init(_ string: String, now: Date = Date()) throws(ValidationError) {
        let bytes = Array(string.utf8)
        guard bytes.count == 18,
              bytes[..<17].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              (bytes[17] >= 0x30 && bytes[17] <= 0x39) || bytes[17] == 0x58
        else {
            throw ValidationError(
                .invalidFormat, rule: "R-ID-4",
                message: "a resident ID number is 17 digits followed by a digit or uppercase X (18 characters)"
            )
        }
        guard bytes[0] != 0x30 else {
            throw ValidationError(.invalidFormat, rule: "R-ID-4", message: "the address code cannot start with 0")
        }
        let number = { (range: Range<Int>) -> Int in range.reduce(0) { $0 * 10 + IdentifierSupport.digit(bytes[$1]) } }
        let year = number(6..<10), month = number(10..<12), day = number(12..<14)
        guard CivilCalendar.isRealDate(year: year, month: month, day: day), year >= 1800 else {
            throw ValidationError(
                .invalidValue, rule: "R-ID-4", message: "the birth date (positions 7-14) is not a real calendar date")
        }
        let today = Self.shanghaiCivilDate(of: now)
        guard (year, month, day) <= (today.year, today.month, today.day) else {
            throw ValidationError(.invalidValue, rule: "R-ID-4", message: "the birth date (positions 7-14) is in the future")
        }
        guard Self.checkCharacter(bytes[..<17]) == bytes[17] else {
            throw ValidationError(
                .checkFailed, rule: "R-ID-4",
                message: "the check character (position 18) does not match positions 1-17; check for a typo")
        }
        self.unmaskedValue = string
        self.birthDate = DateComponents(year: year, month: month, day: day)
        switch number(0..<6) {
        case 810_000: self.kind = .hongKongPermit
        case 820_000: self.kind = .macauPermit
        case 830_000: self.kind = .taiwanPermit
        default: self.kind = .mainland
        }
    }

    /// Upgrades a legacy 15-digit number to 18 characters (R-ID-5): inserts `19` before the 2-digit year and
    /// appends the check character.
    /// - Parameters:
    ///   - fifteenDigits: The legacy 15-digit number.
    ///   - now: The current instant, for the birth-date check (default: the system clock).
    /// - Returns: The validated 18-character number.
    /// - Throws: `ValidationError` (`invalidFormat`, rule R-ID-5) if the input is not 15 digits, or any R-ID-4 error.
    public static func upgrading(fifteenDigits: String, now: Date = Date()) throws(ValidationError) -> ResidentID {
        guard fifteenDigits.utf8.count == 15, IdentifierSupport.allDigits(fifteenDigits) else {
            throw ValidationError(.invalidFormat, rule: "R-ID-5", message: "a legacy resident ID number is 15 digits")
        }
        let bytes = Array(fifteenDigits.utf8)
        let body = Array(bytes[..<6]) + Array("19".utf8) + Array(bytes[6...])
        let check = checkCharacter(body[...])
        return try ResidentID(String(decoding: body + [check], as: UTF8.self), now: now)
    }

    /// The sex encoded by the sequence number (odd = male).
    public var isMale: Bool {
        let bytes = Array(unmaskedValue.utf8)
        return IdentifierSupport.digit(bytes[16]) % 2 == 1
    }

    /// The masked number (first 4 and last 4 characters visible).
    public var description: String { IdentifierSupport.mask(unmaskedValue) }

    /// The masked number, labelled.
    public var debugDescription: String { "ResidentID(\(description))" }

    /// A masked mirror, so that `dump` and reflection never show the raw number.
    public var customMirror: Mirror { Mirror(self, children: ["masked": description], displayStyle: .struct) }

    /// Decodes and validates a number from a JSON string (birth date checked against the system clock).
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in try ResidentID(s) }
    }

    /// Encodes the raw number as a JSON string (the wire form needs it; encrypt at rest).
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(unmaskedValue)
    }

    static func checkCharacter(_ first17: ArraySlice<UInt8>) -> UInt8 {
        var sum = 0
        for (weight, byte) in zip(weights, first17) { sum += weight * IdentifierSupport.digit(byte) }
        return checkCharacters[sum % 11]
    }

    /// The civil date of an instant in Asia/Shanghai (UTC+8 all year; China has no daylight saving since 1991).
    static func shanghaiCivilDate(of instant: Date) -> (year: Int, month: Int, day: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600) ?? .gmt
        let components = calendar.dateComponents([.year, .month, .day], from: instant)
        return (components.year ?? 0, components.month ?? 0, components.day ?? 0)
    }
}
