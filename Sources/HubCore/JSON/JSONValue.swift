public import Foundation

/// A JSON value that keeps what Foundation's `JSONSerialization` loses: the exact text of numbers and the order of
/// object members.
///
/// Parse with ``parse(_:limits:)`` (strict, RFC 8259, precise errors) and serialise with ``canonicalBytes()``.
/// Equality is equality of the canonical form: object member order does not matter (JSON objects are unordered),
/// and two numbers are equal only if their texts are (`1.0` and `1` differ), as a hash over canonical bytes sees it.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as its exact source text.
    case number(JSONNumber)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in source order.
    case object(JSONObject)

    /// The JSON type name (`null`, `boolean`, `number`, `string`, `array`, `object`), for messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { value } else { nil }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The member named `key`, if this is an object that has one.
    /// - Parameter key: The member name.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

/// A JSON number kept as its source text, which is valid RFC 8259 number syntax
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The exact source text, e.g. `1.10` or `1e2`.
    public let text: String

    /// Wraps a number text after checking its syntax.
    /// - Parameter text: The number text.
    /// - Returns: nil if the text is not RFC 8259 number syntax.
    public init?(text: String) {
        let bytes = Array(text.utf8)
        guard JSONParser.numberLength(bytes, from: 0) == bytes.count, !bytes.isEmpty else { return nil }
        self.text = text
    }

    /// A number from an integer.
    /// - Parameter value: The integer.
    public init(_ value: Int) { self.text = String(value) }

    init(unchecked text: String) { self.text = text }

    /// The value as an exact `Decimal`, or nil if out of `Decimal`'s range.
    public var decimalValue: Decimal? { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) }

    /// The value as an `Int`, if the text is an integer literal that fits.
    public var intValue: Int? { Int(text) }

    /// The source text.
    public var description: String { text }
}

/// A JSON object: members in source order, names unique.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One member.
    public struct Member: Sendable, Hashable {
        /// The member name.
        public var key: String
        /// The member value.
        public var value: JSONValue

        /// Creates a member.
        /// - Parameters:
        ///   - key: The name.
        ///   - value: The value.
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members in order.
    public private(set) var members: [Member]

    /// An empty object.
    public init() { self.members = [] }

    /// Creates an object from members; a repeated name keeps its first position and its last value.
    /// - Parameter members: (name, value) pairs.
    public init(_ members: [(String, JSONValue)]) {
        self.members = []
        for (key, value) in members { self[key] = value }
    }

    /// Wraps members whose names are known to be unique (the parser checks them).
    init(uniqueMembers: [Member]) { self.members = uniqueMembers }

    /// Creates an object from a literal, keeping the literal's order.
    /// - Parameter elements: (name, value) pairs.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    /// The value of a member, or nil; setting nil removes it, setting a new name appends it.
    /// - Parameter key: The member name.
    public subscript(key: String) -> JSONValue? {
        get { members.first { $0.key == key }?.value }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// The member names in order.
    public var keys: [String] { members.map(\.key) }

    /// The number of members.
    public var count: Int { members.count }

    /// Whether there are no members.
    public var isEmpty: Bool { members.isEmpty }

    /// Whether two objects have the same members, regardless of order (equality of the canonical form).
    /// - Parameters:
    ///   - lhs: An object.
    ///   - rhs: Another object.
    /// - Returns: Whether they are equal.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.count == rhs.count && lhs.members.allSatisfy { member in rhs[member.key] == member.value }
    }

    /// Hashes the members in canonical (sorted) order, consistent with `==`.
    /// - Parameter hasher: The hasher.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for member in members.sorted(by: { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }) {
            hasher.combine(member.key)
            hasher.combine(member.value)
        }
    }

    /// Iterates over the members in order.
    /// - Returns: An iterator over the members.
    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// `null`.
    /// - Parameter nilLiteral: Unused.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean.
    /// - Parameter value: The boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer number.
    /// - Parameter value: The integer.
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    /// A string.
    /// - Parameter value: The string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array.
    /// - Parameter elements: The elements.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object, in literal order.
    /// - Parameter elements: The members.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}
