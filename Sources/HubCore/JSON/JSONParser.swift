/// Why and where JSON text was refused.
///
/// `offset` is the 0-based byte offset of the offending byte; `line` and `column` are 1-based, with the column
/// counted in bytes (a multi-byte UTF-8 character counts for its bytes). The description is log-safe: it never
/// quotes the input.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The reason. A struct over a private enum, so that reasons can be added.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unexpectedCharacter = "unexpected character"
            case unexpectedEnd = "unexpected end of input"
            case unterminatedString = "unterminated string"
            case controlCharacterInString = "unescaped control character in string"
            case invalidEscape = "invalid escape sequence"
            case loneSurrogate = "lone UTF-16 surrogate in \\u escape"
            case invalidUTF8 = "invalid UTF-8"
            case invalidNumber = "invalid number"
            case duplicateKey = "duplicate object key"
            case trailingData = "trailing data after the JSON value"
            case nestingTooDeep = "nesting deeper than the limit"
            case tooLarge = "input larger than the limit"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A byte that cannot start or continue a value here.
        public static let unexpectedCharacter = Reason(.unexpectedCharacter)
        /// The input ended inside a value.
        public static let unexpectedEnd = Reason(.unexpectedEnd)
        /// A string has no closing quote.
        public static let unterminatedString = Reason(.unterminatedString)
        /// A byte below 0x20 appears unescaped inside a string.
        public static let controlCharacterInString = Reason(.controlCharacterInString)
        /// A backslash is followed by something other than `"\/bfnrtu`, or `\u` by fewer than 4 hex digits.
        public static let invalidEscape = Reason(.invalidEscape)
        /// A `\u` escape is a high surrogate not followed by a low one, or a low surrogate alone.
        public static let loneSurrogate = Reason(.loneSurrogate)
        /// The bytes are not valid UTF-8.
        public static let invalidUTF8 = Reason(.invalidUTF8)
        /// A number does not follow RFC 8259 syntax (e.g. a leading zero, `+`, a bare `.`).
        public static let invalidNumber = Reason(.invalidNumber)
        /// An object has two members with the same name.
        public static let duplicateKey = Reason(.duplicateKey)
        /// Something other than whitespace follows the value.
        public static let trailingData = Reason(.trailingData)
        /// Arrays and objects are nested deeper than the limit.
        public static let nestingTooDeep = Reason(.nestingTooDeep)
        /// The input is longer than the size limit.
        public static let tooLarge = Reason(.tooLarge)

        /// The reason in words.
        public var description: String { base.rawValue }
    }

    /// The reason.
    public let reason: Reason
    /// The 0-based byte offset of the offending byte (the input length for an unexpected end).
    public let offset: Int
    /// The 1-based line.
    public let line: Int
    /// The 1-based column, in bytes.
    public let column: Int

    /// Creates an error.
    /// - Parameters:
    ///   - reason: The reason.
    ///   - offset: The byte offset.
    ///   - line: The 1-based line.
    ///   - column: The 1-based byte column.
    public init(reason: Reason, offset: Int, line: Int, column: Int) {
        self.reason = reason
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// `invalid escape sequence at line 1, column 7 (byte 6)`.
    public var description: String { "\(reason) at line \(line), column \(column) (byte \(offset))" }
}

extension JSONValue {
    /// Limits applied while parsing.
    public struct Limits: Sendable, Hashable {
        /// The largest input accepted, in bytes. Default 1 MiB (1 048 576).
        public var maximumBytes: Int
        /// The deepest nesting of arrays and objects accepted (the top-level container is depth 1). Default 64.
        public var maximumDepth: Int

        /// Creates limits.
        /// - Parameters:
        ///   - maximumBytes: The largest input in bytes (default 1 MiB).
        ///   - maximumDepth: The deepest container nesting (default 64).
        public init(maximumBytes: Int = 1 << 20, maximumDepth: Int = 64) {
            self.maximumBytes = maximumBytes
            self.maximumDepth = maximumDepth
        }
    }

    /// Parses JSON text strictly (RFC 8259): UTF-8 only, no BOM, no comments, no trailing commas, no duplicate keys,
    /// nothing but whitespace after the value.
    /// - Parameters:
    ///   - bytes: The UTF-8 text.
    ///   - limits: Size and depth limits (default 1 MiB, 64 levels).
    /// - Returns: The value, numbers as their source text, members in source order.
    /// - Throws: `JSONParseError` with the reason and position of the first problem.
    public static func parse(_ bytes: some Collection<UInt8>, limits: Limits = Limits()) throws(JSONParseError)
        -> JSONValue
    {
        var parser = JSONParser(bytes: Array(bytes), limits: limits)
        return try parser.parseDocument()
    }

    /// Parses JSON text from a string, with the same rules as the byte-level parser.
    /// - Parameters:
    ///   - text: The JSON text.
    ///   - limits: Size and depth limits.
    /// - Returns: The value.
    /// - Throws: `JSONParseError`.
    public static func parse(_ text: String, limits: Limits = Limits()) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), limits: limits)
    }
}

struct JSONParser {
    let bytes: [UInt8]
    let limits: JSONValue.Limits
    var index = 0
    var depth = 0

    init(bytes: [UInt8], limits: JSONValue.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        guard bytes.count <= limits.maximumBytes else { throw error(.tooLarge, at: limits.maximumBytes) }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw error(.trailingData, at: index) }
        return value
    }

    func error(_ reason: JSONParseError.Reason, at offset: Int) -> JSONParseError {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return JSONParseError(reason: reason, offset: offset, line: line, column: offset - lineStart + 1)
    }

    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error(.unexpectedEnd, at: index) }
        switch bytes[index] {
        case 0x7B: return try parseObject()
        case 0x5B: return try parseArray()
        case 0x22: return .string(try parseString())
        case 0x74: try expectLiteral("true"); return .bool(true)
        case 0x66: try expectLiteral("false"); return .bool(false)
        case 0x6E: try expectLiteral("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try parseNumber())
        default: throw error(.unexpectedCharacter, at: index)
        }
    }

    mutating func expectLiteral(_ literal: String) throws(JSONParseError) {
        for byte in literal.utf8 {
            guard index < bytes.count else { throw error(.unexpectedEnd, at: index) }
            guard bytes[index] == byte else { throw error(.unexpectedCharacter, at: index) }
            index += 1
        }
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        guard depth <= limits.maximumDepth else { throw error(.nestingTooDeep, at: index) }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        var members: [JSONObject.Member] = []
        var seen: Set<String> = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x7D {
            index += 1
            depth -= 1
            return .object(JSONObject(uniqueMembers: members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error(.unexpectedEnd, at: index) }
            guard bytes[index] == 0x22 else { throw error(.unexpectedCharacter, at: index) }
            let keyOffset = index
            let key = try parseString()
            guard seen.insert(key).inserted else { throw error(.duplicateKey, at: keyOffset) }
            skipWhitespace()
            guard index < bytes.count else { throw error(.unexpectedEnd, at: index) }
            guard bytes[index] == 0x3A else { throw error(.unexpectedCharacter, at: index) }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard index < bytes.count else { throw error(.unexpectedEnd, at: index) }
            if bytes[index] == 0x2C {
                index += 1
                continue
            }
            guard bytes[index] == 0x7D else { throw error(.unexpectedCharacter, at: index) }
            index += 1
            depth -= 1
            return .object(JSONObject(uniqueMembers: members))
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x5D {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error(.unexpectedEnd, at: index) }
            if bytes[index] == 0x2C {
                index += 1
                continue
            }
            guard bytes[index] == 0x5D else { throw error(.unexpectedCharacter, at: index) }
            index += 1
            depth -= 1
            return .array(elements)
        }
    }

    /// The length of the longest RFC 8259 number starting at `start`, or nil if no number starts there.
    static func numberLength(_ bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        let isDigit = { (j: Int) in j < bytes.count && bytes[j] >= 0x30 && bytes[j] <= 0x39 }
        if i < bytes.count, bytes[i] == 0x2D { i += 1 }
        guard isDigit(i) else { return nil }
        if bytes[i] == 0x30 {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == 0x2E {
            i += 1
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == 0x65 || bytes[i] == 0x45 {
            i += 1
            if i < bytes.count, bytes[i] == 0x2B || bytes[i] == 0x2D { i += 1 }
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
        }
        return i - start
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = index
        guard let length = Self.numberLength(bytes, from: start) else { throw error(.invalidNumber, at: start) }
        index += length
        // A digit right after a complete number (e.g. `012`) or a stray `.`/`e` is a malformed number.
        if index < bytes.count, (bytes[index] >= 0x30 && bytes[index] <= 0x39) || bytes[index] == 0x2E
            || bytes[index] == 0x65 || bytes[index] == 0x45
        {
            throw error(.invalidNumber, at: start)
        }
        return JSONNumber(unchecked: String(decoding: bytes[start..<index], as: UTF8.self))
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw error(.unexpectedEnd, at: index) }
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error(.invalidEscape, at: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func parseString() throws(JSONParseError) -> String {
        let start = index
        index += 1
        var buffer: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error(.unterminatedString, at: start) }
            let byte = bytes[index]
            switch byte {
            case 0x22:
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            case 0x5C:
                let escapeStart = index
                index += 1
                guard index < bytes.count else { throw error(.unterminatedString, at: start) }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case 0x22, 0x5C, 0x2F: buffer.append(escaped)
                case 0x62: buffer.append(0x08)
                case 0x66: buffer.append(0x0C)
                case 0x6E: buffer.append(0x0A)
                case 0x72: buffer.append(0x0D)
                case 0x74: buffer.append(0x09)
                case 0x75:
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else {
                            throw error(.loneSurrogate, at: escapeStart)
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error(.loneSurrogate, at: escapeStart) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error(.loneSurrogate, at: escapeStart)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error(.invalidEscape, at: escapeStart) }
                    buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw error(.invalidEscape, at: escapeStart)
                }
            case 0x00..<0x20:
                throw error(.controlCharacterInString, at: index)
            case 0x20..<0x80:
                buffer.append(byte)
                index += 1
            default:
                let length = try utf8SequenceLength(at: index)
                buffer.append(contentsOf: bytes[index..<(index + length)])
                index += length
            }
        }
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF) and returns its length.
    func utf8SequenceLength(at i: Int) throws(JSONParseError) -> Int {
        let lead = bytes[i]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw error(.invalidUTF8, at: i)
        }
        guard i + length <= bytes.count else { throw error(.invalidUTF8, at: i) }
        guard (lower...upper).contains(bytes[i + 1]) else { throw error(.invalidUTF8, at: i + 1) }
        for j in (i + 2)..<(i + length) where !(0x80...0xBF).contains(bytes[j]) { throw error(.invalidUTF8, at: j) }
        return length
    }
}
