public import Foundation

/// An RFC 3339 timestamp with an explicit offset, kept both as an instant and as its original text.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)` with an uppercase `T` and `Z`, 1–9 fraction digits, a real
/// calendar date, hours 00–23, minutes and seconds 00–59 (leap seconds are refused: no system the hub talks to emits
/// them, and `Date` cannot represent them), and an offset of at most ±23:59. A timestamp without an offset
/// (local time) is refused: its instant would be ambiguous.
public struct Timestamp: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The instant (sub-millisecond digits may round in `Date`; ``text`` keeps them).
    public let date: Date
    /// The original text.
    public let text: String

    /// Parses a timestamp.
    /// - Parameter text: The RFC 3339 text.
    /// - Throws: `ValidationError`: `invalidFormat` (syntax or missing offset) or `invalidValue` (impossible date or
    ///   time), rule `RFC3339`.
    public init(rfc3339 text: String) throws(ValidationError) {
        let b = Array(text.utf8)
        let format = ValidationError(
            .invalidFormat, rule: "RFC3339",
            message: "a time is RFC 3339 with an explicit offset, e.g. 2026-05-01T08:30:00Z or "
                + "2026-05-01T16:30:00.250+08:00")
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i]) - 0x30
            }
            return value
        }
        guard b.count >= 20, let year = digits(0..<4), b[4] == 0x2D, let month = digits(5..<7), b[7] == 0x2D,
              let day = digits(8..<10), b[10] == 0x54, let hour = digits(11..<13), b[13] == 0x3A,
              let minute = digits(14..<16), b[16] == 0x3A, let second = digits(17..<19)
        else { throw format }
        var i = 19
        var fraction = 0.0
        if b[i] == 0x2E {
            i += 1
            let start = i
            var scale = 0.1
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(Int(b[i]) - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i - start >= 1, i - start <= 9 else { throw format }
        }
        guard i < b.count else { throw format }
        var offsetSeconds = 0
        if b[i] == 0x5A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            guard let offsetHour = digits((i + 1)..<(i + 3)), i + 3 < b.count, b[i + 3] == 0x3A,
                  let offsetMinute = digits((i + 4)..<(i + 6))
            else { throw format }
            guard offsetHour <= 23, offsetMinute <= 59 else {
                throw ValidationError(.invalidValue, rule: "RFC3339", message: "the time's UTC offset is out of range")
            }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (b[i] == 0x2D ? -1 : 1)
            i += 6
        } else {
            throw format
        }
        guard i == b.count else { throw format }
        guard CivilCalendar.isRealDate(year: year, month: month, day: day), hour <= 23, minute <= 59, second <= 59
        else {
            throw ValidationError(
                .invalidValue, rule: "RFC3339", message: "the time names a date or time of day that does not exist")
        }
        let days = CivilCalendar.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.date = Date(timeIntervalSince1970: Double(seconds) + fraction)
        self.text = text
    }

    /// A timestamp for an instant, written in UTC with milliseconds: `2026-05-01T08:30:00.250Z`.
    /// - Parameter date: The instant.
    public init(_ date: Date) {
        let totalMilliseconds = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let (days, dayMilliseconds) = totalMilliseconds.floorDivided(by: 86_400_000)
        let (year, month, day) = CivilCalendar.civilFromDays(days)
        let milliseconds = dayMilliseconds % 1000
        let seconds = dayMilliseconds / 1000
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        self.text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):"
            + "\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(milliseconds, 3))Z"
        self.date = Date(timeIntervalSince1970: Double(totalMilliseconds) / 1000)
    }

    /// The current time, in UTC with milliseconds.
    public static var now: Timestamp { Timestamp(Date()) }

    /// The original text.
    public var description: String { text }

    /// Decodes and checks a timestamp from a JSON string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the path, with the `ValidationError` as its underlying error.
    public init(from decoder: any Decoder) throws {
        self = try IdentifierSupport.decode(from: decoder) { (s: String) throws(ValidationError) in
            try Timestamp(rfc3339: s)
        }
    }

    /// Encodes the original text.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

extension Int {
    fileprivate func floorDivided(by divisor: Int) -> (quotient: Int, remainder: Int) {
        let quotient = (self >= 0 ? self : self - divisor + 1) / divisor
        return (quotient, self - quotient * divisor)
    }
}

/// Proleptic Gregorian calendar arithmetic (internal; H. Hinnant's days-from-civil algorithms).
enum CivilCalendar {
    static func isRealDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
