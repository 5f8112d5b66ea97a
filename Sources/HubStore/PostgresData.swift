public import Foundation
import HubCore

/// A PostgreSQL type, by its OID.
public struct PostgresDataType: Sendable, Hashable, CustomStringConvertible {
    /// The type's OID (`pg_type.oid`).
    public var oid: UInt32

    /// Wraps an OID.
    /// - Parameter oid: The type's OID; 0 lets the server infer the type from the statement.
    public init(oid: UInt32) { self.oid = oid }

    /// Let the server infer the type.
    public static let unspecified = PostgresDataType(oid: 0)
    /// `bool`.
    public static let bool = PostgresDataType(oid: 16)
    /// `bytea`.
    public static let bytea = PostgresDataType(oid: 17)
    /// `int8` (`bigint`).
    public static let int8 = PostgresDataType(oid: 20)
    /// `int2` (`smallint`).
    public static let int2 = PostgresDataType(oid: 21)
    /// `int4` (`integer`).
    public static let int4 = PostgresDataType(oid: 23)
    /// `text`.
    public static let text = PostgresDataType(oid: 25)
    /// `json`.
    public static let json = PostgresDataType(oid: 114)
    /// `varchar`.
    public static let varchar = PostgresDataType(oid: 1043)
    /// `timestamp` (without time zone).
    public static let timestamp = PostgresDataType(oid: 1114)
    /// `timestamptz`.
    public static let timestamptz = PostgresDataType(oid: 1184)
    /// `numeric`.
    public static let numeric = PostgresDataType(oid: 1700)
    /// `uuid`.
    public static let uuid = PostgresDataType(oid: 2950)
    /// `jsonb`.
    public static let jsonb = PostgresDataType(oid: 3802)

    /// The type's SQL name for the common types, else `oid <n>`.
    public var description: String {
        switch oid {
        case 0: "unspecified"
        case 16: "bool"
        case 17: "bytea"
        case 20: "int8"
        case 21: "int2"
        case 23: "int4"
        case 25: "text"
        case 114: "json"
        case 1043: "varchar"
        case 1114: "timestamp"
        case 1184: "timestamptz"
        case 1700: "numeric"
        case 2950: "uuid"
        case 3802: "jsonb"
        default: "oid \(oid)"
        }
    }
}

/// One bound parameter: its type and its bytes in text or binary format, or NULL.
public struct PostgresBind: Sendable, Hashable {
    /// The parameter's type.
    public var type: PostgresDataType
    /// The value's bytes; nil is SQL NULL.
    public var bytes: [UInt8]?
    /// Whether `bytes` are in binary format (only `bytea` uses it); otherwise text format.
    public var isBinary: Bool

    /// A text-format value.
    /// - Parameters:
    ///   - text: The value in PostgreSQL's text format.
    ///   - type: The parameter's type.
    /// - Returns: The bind.
    public static func text(_ text: String, type: PostgresDataType) -> PostgresBind {
        PostgresBind(type: type, bytes: Array(text.utf8), isBinary: false)
    }

    /// A binary `bytea` value.
    /// - Parameter bytes: The raw bytes.
    /// - Returns: The bind.
    public static func bytea(_ bytes: [UInt8]) -> PostgresBind {
        PostgresBind(type: .bytea, bytes: bytes, isBinary: true)
    }

    /// SQL NULL of a type.
    /// - Parameter type: The parameter's type.
    /// - Returns: The bind.
    public static func null(type: PostgresDataType) -> PostgresBind {
        PostgresBind(type: type, bytes: nil, isBinary: false)
    }

    /// The value in text format, as COPY expects it before escaping; nil for NULL.
    var textForm: [UInt8]? {
        guard let bytes else { return nil }
        guard isBinary else { return bytes }
        var hex: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        hex.reserveCapacity(2 + bytes.count * 2)
        let digits = Array("0123456789abcdef".utf8)
        for byte in bytes {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return hex
    }
}

/// A Swift value that can be a query parameter.
public protocol PostgresEncodable: Sendable {
    /// The parameter's type when the value is NULL (used by `Optional`).
    static var postgresType: PostgresDataType { get }
    /// The value as a parameter.
    /// - Returns: The bind.
    func postgresBind() -> PostgresBind
}

/// A Swift value that can be read from a column (results arrive in text format).
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value from its text form.
    /// - Parameters:
    ///   - text: The value in PostgreSQL's text format.
    ///   - type: The column's type.
    /// - Returns: The value, or nil if the text is not a valid value of this Swift type.
    static func decodePostgres(text: String, type: PostgresDataType) -> Self?
    /// The value a NULL decodes to; nil (the default) makes NULL a decoding error.
    static var postgresNull: Self? { get }
}

extension PostgresDecodable {
    /// NULL is an error unless the type is an `Optional`.
    public static var postgresNull: Self? { nil }
}

/// Both directions.
public typealias PostgresCodable = PostgresEncodable & PostgresDecodable

extension String: PostgresEncodable, PostgresDecodable {
    /// `text`.
    public static var postgresType: PostgresDataType { .text }
    /// The string as `text`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(self, type: .text) }
    /// Any column's text form.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The text form itself.
    public static func decodePostgres(text: String, type: PostgresDataType) -> String? { text }
}

extension Int: PostgresEncodable, PostgresDecodable {
    /// `int8`.
    public static var postgresType: PostgresDataType { .int8 }
    /// The value as `int8`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(String(self), type: .int8) }
    /// An integer column.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The value, or nil if not an integer in range.
    public static func decodePostgres(text: String, type: PostgresDataType) -> Int? { Int(text) }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    /// `int8`.
    public static var postgresType: PostgresDataType { .int8 }
    /// The value as `int8`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(String(self), type: .int8) }
    /// An integer column.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The value, or nil if not an integer in range.
    public static func decodePostgres(text: String, type: PostgresDataType) -> Int64? { Int64(text) }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    /// `int4`.
    public static var postgresType: PostgresDataType { .int4 }
    /// The value as `int4`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(String(self), type: .int4) }
    /// An integer column.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The value, or nil if not an integer in range.
    public static func decodePostgres(text: String, type: PostgresDataType) -> Int32? { Int32(text) }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    /// `bool`.
    public static var postgresType: PostgresDataType { .bool }
    /// The value as `bool`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(self ? "t" : "f", type: .bool) }
    /// A `bool` column (`t`/`f`).
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The value, or nil for any other text.
    public static func decodePostgres(text: String, type: PostgresDataType) -> Bool? {
        switch text {
        case "t", "true": true
        case "f", "false": false
        default: nil
        }
    }
}

extension Decimal: PostgresEncodable, PostgresDecodable {
    /// `numeric`.
    public static var postgresType: PostgresDataType { .numeric }
    /// The value as `numeric`, in plain decimal notation.
    /// - Returns: The bind; NaN is sent as `NaN`.
    public func postgresBind() -> PostgresBind { .text(DecimalText.format(self), type: .numeric) }
    /// A `numeric` column, parsed exactly (never through `Double`).
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The value, or nil if the text is not a finite number or has more digits than `Decimal` holds.
    public static func decodePostgres(text: String, type: PostgresDataType) -> Decimal? { DecimalText.parse(text) }
}

extension Date: PostgresEncodable, PostgresDecodable {
    /// `timestamptz`.
    public static var postgresType: PostgresDataType { .timestamptz }
    /// The instant as `timestamptz`, ISO 8601 in UTC with microseconds (`2024-03-01T00:30:00.123456+00:00`).
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(TimestampText.format(self), type: .timestamptz) }
    /// A `timestamptz` column (ISO output with an offset). `timestamp` without a zone is refused: it names no
    /// instant.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The instant, or nil.
    public static func decodePostgres(text: String, type: PostgresDataType) -> Date? { TimestampText.parse(text) }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    /// `uuid`.
    public static var postgresType: PostgresDataType { .uuid }
    /// The value as `uuid`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(UUIDText.format(self), type: .uuid) }
    /// A `uuid` column.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The value, or nil.
    public static func decodePostgres(text: String, type: PostgresDataType) -> UUID? {
        // The server writes the lowercase canonical form; anything else goes through Foundation.
        UUIDText.parse(text) ?? UUID(uuidString: text)
    }
}

extension Array: PostgresEncodable, PostgresDecodable where Element == UInt8 {
    /// `bytea`.
    public static var postgresType: PostgresDataType { .bytea }
    /// The bytes as binary `bytea`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .bytea(self) }
    /// A `bytea` column in hex output (`\x0a0b…`).
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The bytes, or nil if the text is not hex `bytea`.
    public static func decodePostgres(text: String, type: PostgresDataType) -> [UInt8]? { ByteaText.parse(text) }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    /// The wrapped type's.
    public static var postgresType: PostgresDataType { Wrapped.postgresType }
    /// The wrapped value, or NULL.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind {
        switch self {
        case .some(let value): value.postgresBind()
        case .none: .null(type: Wrapped.postgresType)
        }
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// The wrapped type's decoding.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: `.some(value)`, or nil if the wrapped type cannot decode it.
    public static func decodePostgres(text: String, type: PostgresDataType) -> Wrapped?? {
        Wrapped.decodePostgres(text: text, type: type).map { .some($0) }
    }
    /// NULL decodes to `nil`.
    public static var postgresNull: Wrapped?? { .some(nil) }
}

/// A JSON document for a `jsonb` (or `json`) column, kept as its text.
public struct PostgresJSON: Sendable, Hashable, PostgresEncodable, PostgresDecodable {
    /// The JSON text.
    public var text: String

    /// Wraps JSON text. The server validates it.
    /// - Parameter text: The JSON document.
    public init(_ text: String) { self.text = text }

    /// Encodes a value with `JSONEncoder`.
    /// - Parameters:
    ///   - value: The value.
    ///   - encoder: The encoder (default: a new `JSONEncoder` with sorted keys).
    /// - Throws: `PostgresError` with code `encodingFailed` if the encoder fails.
    public init(encoding value: some Encodable, encoder: JSONEncoder = PostgresJSON.defaultEncoder())
        throws(PostgresError)
    {
        do {
            text = String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw PostgresError(code: .encodingFailed, message: "a value could not be encoded as JSON")
        }
    }

    /// Decodes the document with `JSONDecoder`.
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - decoder: The decoder (default: a new `JSONDecoder`).
    /// - Returns: The decoded value.
    /// - Throws: `PostgresError` with code `decodingFailed` naming the type.
    public func decode<T: Decodable>(_ type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws(PostgresError) -> T {
        do {
            return try decoder.decode(T.self, from: Data(text.utf8))
        } catch {
            throw PostgresError(code: .decodingFailed, message: "a JSON document could not be decoded as \(T.self)")
        }
    }

    /// A `JSONEncoder` with sorted keys, so equal values give equal text.
    /// - Returns: The encoder.
    public static func defaultEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// `jsonb`.
    public static var postgresType: PostgresDataType { .jsonb }
    /// The document as `jsonb`.
    /// - Returns: The bind.
    public func postgresBind() -> PostgresBind { .text(text, type: .jsonb) }
    /// A `json` or `jsonb` column.
    /// - Parameters:
    ///   - text: The text form.
    ///   - type: The column's type.
    /// - Returns: The document.
    public static func decodePostgres(text: String, type: PostgresDataType) -> PostgresJSON? { PostgresJSON(text) }
}

/// Exact text forms of `Decimal`.
enum DecimalText {
    static func format(_ value: Decimal) -> String {
        if value.isNaN { return "NaN" }
        return value.description
    }

    /// Parses `-123.4500`, `1e5` is refused (the server never sends it); nil unless exact.
    static func parse(_ text: String) -> Decimal? {
        var digits = Substring(text)
        var negative = false
        if digits.hasPrefix("-") {
            negative = true
            digits = digits.dropFirst()
        } else if digits.hasPrefix("+") {
            digits = digits.dropFirst()
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !digits.isEmpty, parts.count <= 2, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            !(parts.first?.isEmpty ?? true) || (parts.count == 2 && !parts[1].isEmpty)
        else { return nil }
        let integerPart = parts[0].drop(while: { $0 == "0" })
        var fractionPart = parts.count == 2 ? parts[1] : ""
        while fractionPart.last == "0" { fractionPart = fractionPart.dropLast() }
        // Decimal holds a 38-digit mantissa; more significant digits would be rounded silently.
        let significant = (integerPart + fractionPart).drop(while: { $0 == "0" })
        guard significant.count <= 38, fractionPart.count <= 127 else { return nil }
        // Up to 19 digits (every amount of money) fit a UInt64: the value is that integer times 10^-scale, built
        // exactly without Foundation's string scanner (which was 4 % of the compliance role's CPU).
        if significant.isEmpty { return Decimal.zero }  // 0, -0, 0.000
        if significant.count <= 19, let mantissa = UInt64(String(integerPart) + String(fractionPart)) {
            return Decimal(sign: negative ? .minus : .plus, exponent: -fractionPart.count, significand: Decimal(mantissa))
        }
        let canonical =
            (negative ? "-" : "") + (integerPart.isEmpty ? "0" : String(integerPart))
            + (fractionPart.isEmpty ? "" : "." + fractionPart)
        guard let value = Decimal(string: canonical, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        return value
    }
}

/// ISO 8601 timestamps with an offset, to the microsecond, without Foundation formatters.
enum TimestampText {
    /// `2024-03-01T00:30:00.123456+00:00` (UTC).
    static func format(_ date: Date) -> String {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let total = Int64(micros)
        var days = total / 86_400_000_000
        var rest = total % 86_400_000_000
        if rest < 0 {
            rest += 86_400_000_000
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        let seconds = rest / 1_000_000
        let fraction = rest % 1_000_000
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2))"
            + ":\(pad(seconds % 60, 2)).\(pad(fraction, 6))+00:00"
    }

    /// Parses `YYYY-MM-DD[ T]HH:MM:SS[.ffffff](Z|±HH[:MM[:SS]])`; nil without an offset.
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for offset in 0..<count {
                let byte = bytes[index + offset]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect(" T"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2),
            (1...12).contains(month), (1...31).contains(day), hour <= 24, minute <= 59, second <= 60
        else { return nil }
        var micros: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "Z") {
            index += 1
        } else {
            let sign: Int64
            switch bytes[index] {
            case UInt8(ascii: "+"): sign = 1
            case UInt8(ascii: "-"): sign = -1
            default: return nil
            }
            index += 1
            guard let offsetHours = number(2) else { return nil }
            var offsetMinutes: Int64 = 0
            var offsetSecondsPart: Int64 = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                index += 1
                guard let value = number(2) else { return nil }
                offsetMinutes = value
                if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                    index += 1
                    guard let value = number(2) else { return nil }
                    offsetSecondsPart = value
                }
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60 + offsetSecondsPart)
        }
        guard index == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let (total, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { return nil }
        // One division: the nearest Double to the exact instant, as a literal would give.
        return Date(timeIntervalSince1970: Double(total + micros) / 1_000_000)
    }

    // Howard Hinnant's civil-calendar algorithms (proleptic Gregorian).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day)
    }
}

/// `bytea` hex output.
enum ByteaText {
    static func parse(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0
        else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity((bytes.count - 2) / 2)
        var index = 2
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 97...102: byte - 87
            case 65...70: byte - 55
            default: nil
            }
        }
        while index < bytes.count {
            guard let high = nibble(bytes[index]), let low = nibble(bytes[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }
}
