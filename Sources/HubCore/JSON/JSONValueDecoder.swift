import Foundation

/// Decodes `Decodable` types straight from a parsed ``JSONValue``, and tells which object members the type never
/// read.
///
/// Every payload arrives already parsed (the envelope is parsed once, by ``JSONParser``). Decoding it with
/// Foundation's `JSONDecoder` meant serialising it again and parsing it a second time, and the strict check for
/// unknown members re-encoded the result with `JSONEncoder` and parsed that too: four passes, two of them through
/// Foundation's Codable machinery, which the payments benchmark measured at a fifth of the serve process's CPU
/// (docs/performance.md). This decoder walks the tree once, and records the members it reads, so unknown members
/// are found without re-encoding.
///
/// It decodes as `JSONDecoder` does with its default strategies: numbers from their exact text (`Int` only from an
/// integer literal that fits, `Decimal` exactly), `Date` as seconds since 2001 (`deferredToDate`), `Data` from
/// base64, `URL` from a string; a `null` decodes as `nil` through `decodeIfPresent` and is then not counted as read.
/// Errors are the same `DecodingError` cases with the same coding paths, so ``Envelope/validationError(from:)``
/// maps them to the same pointers.
public struct JSONValueDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes `type` from `value`.
    /// - Parameters:
    ///   - type: The type.
    ///   - value: The parsed JSON.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError`, or what the type's `init(from:)` throws.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try decodeTrackingReads(type, from: value).value
    }

    /// Decodes `type` from `value` and returns, with it, the RFC 6901 pointer of the first object member (in source
    /// order, depth first) that the type did not read: a member the type does not define, or one that is `null`.
    /// - Parameters:
    ///   - type: The type.
    ///   - value: The parsed JSON.
    /// - Returns: The value and the first unread member's pointer (nil when every member was read).
    /// - Throws: `DecodingError`, or what the type's `init(from:)` throws.
    public func decodeTrackingReads<T: Decodable>(_ type: T.Type, from value: JSONValue) throws
        -> (value: T, firstUnreadMember: String?)
    {
        let log = ReadLog()
        let decoded: T = try JSONValueDecoding.decode(value, codingPath: [], pointer: "", log: log)
        return (decoded, log.firstUnread(in: value, pointer: ""))
    }
}

/// The members read during one decode, by pointer; subtrees taken whole (a `JSONValue` member) are not looked into.
private final class ReadLog {
    var read: Set<String> = []
    var whole: Set<String> = []

    func firstUnread(in value: JSONValue, pointer: String) -> String? {
        if whole.contains(pointer) { return nil }
        switch value {
        case .object(let object):
            for member in object {
                let child = JSONPointer.appending(pointer, member.key)
                guard read.contains(child) else { return child }
                if let found = firstUnread(in: member.value, pointer: child) { return found }
            }
            return nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let found = firstUnread(in: element, pointer: JSONPointer.appending(pointer, String(index))) {
                    return found
                }
            }
            return nil
        default:
            return nil
        }
    }
}

/// The shared decoding steps of the three containers.
private enum JSONValueDecoding {
    static func decode<T: Decodable>(
        _ value: JSONValue, codingPath: [any CodingKey], pointer: String, log: ReadLog
    ) throws -> T {
        switch T.self {
        case is JSONValue.Type:
            log.whole.insert(pointer)
            return value as! T
        case is Decimal.Type:
            return try decimal(value, codingPath: codingPath) as! T
        case is Data.Type:
            let text: String = try primitive(value, codingPath: codingPath)
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath, debugDescription: "Encountered Data is not valid Base64."))
            }
            return data as! T
        case is URL.Type:
            let text: String = try primitive(value, codingPath: codingPath)
            guard let url = URL(string: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Invalid URL string."))
            }
            return url as! T
        default:
            return try T(from: ValueDecoder(value: value, codingPath: codingPath, pointer: pointer, log: log))
        }
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, codingPath: [any CodingKey]) -> DecodingError {
        .typeMismatch(
            type,
            .init(codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(value.typeName) instead."))
    }

    static func decimal(_ value: JSONValue, codingPath: [any CodingKey]) throws -> Decimal {
        guard case .number(let number) = value else { throw mismatch(Decimal.self, value, codingPath: codingPath) }
        guard let decimal = number.decimalValue else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "Parsed JSON number <\(number.text)> does not fit in Decimal."))
        }
        return decimal
    }

    /// A string, a boolean or a number type.
    static func primitive<T>(_ value: JSONValue, codingPath: [any CodingKey]) throws -> T {
        switch value {
        case .string(let text):
            if T.self == String.self { return text as! T }
        case .bool(let flag):
            if T.self == Bool.self { return flag as! T }
        case .number(let number):
            if let converted: T = try convert(number, codingPath: codingPath) { return converted }
        case .null:
            throw DecodingError.valueNotFound(
                T.self, .init(codingPath: codingPath, debugDescription: "Cannot get value of type \(T.self) -- found null value instead"))
        default:
            break
        }
        throw mismatch(T.self, value, codingPath: codingPath)
    }

    /// A number type from a JSON number's text; nil when `T` is not a number type.
    private static func convert<T>(_ number: JSONNumber, codingPath: [any CodingKey]) throws -> T? {
        // Integers parse only from an integer literal that fits; floats from any number literal.
        func parsed<N: LosslessStringConvertible>(_: N.Type) throws -> N {
            guard let value = N(number.text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath, debugDescription: "Parsed JSON number <\(number.text)> does not fit in \(N.self)."))
            }
            return value
        }
        switch T.self {
        case is Int.Type: return try parsed(Int.self) as? T
        case is Int8.Type: return try parsed(Int8.self) as? T
        case is Int16.Type: return try parsed(Int16.self) as? T
        case is Int32.Type: return try parsed(Int32.self) as? T
        case is Int64.Type: return try parsed(Int64.self) as? T
        case is UInt.Type: return try parsed(UInt.self) as? T
        case is UInt8.Type: return try parsed(UInt8.self) as? T
        case is UInt16.Type: return try parsed(UInt16.self) as? T
        case is UInt32.Type: return try parsed(UInt32.self) as? T
        case is UInt64.Type: return try parsed(UInt64.self) as? T
        case is Double.Type: return try parsed(Double.self) as? T
        case is Float.Type: return try parsed(Float.self) as? T
        default: return nil
        }
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let pointer: String
    let log: ReadLog
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            if case .null = value {
                throw DecodingError.valueNotFound(
                    [String: Any].self,
                    .init(codingPath: codingPath, debugDescription: "Cannot get keyed decoding container -- found null value instead"))
            }
            throw JSONValueDecoding.mismatch([String: Any].self, value, codingPath: codingPath)
        }
        return KeyedDecodingContainer(KeyedReader<Key>(object: object, codingPath: codingPath, pointer: pointer, log: log))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            if case .null = value {
                throw DecodingError.valueNotFound(
                    [Any].self,
                    .init(codingPath: codingPath, debugDescription: "Cannot get unkeyed decoding container -- found null value instead"))
            }
            throw JSONValueDecoding.mismatch([Any].self, value, codingPath: codingPath)
        }
        return UnkeyedReader(elements: elements, codingPath: codingPath, pointer: pointer, log: log)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
}

extension ValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: String.Type) throws -> String { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONValueDecoding.primitive(value, codingPath: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueDecoding.decode(value, codingPath: codingPath, pointer: pointer, log: log)
    }
}

private struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]
    let pointer: String
    let log: ReadLog

    var allKeys: [Key] {
        object.compactMap { member in
            guard let key = Key(stringValue: member.key) else { return nil }
            markRead(key)
            return key
        }
    }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func markRead(_ key: Key) { log.read.insert(JSONPointer.appending(pointer, key.stringValue)) }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        markRead(key)
        return value
    }

    // Not counted as read: a `null` member stays unread unless something decodes it as a value.
    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return value == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let value = try member(key)
        return try JSONValueDecoding.decode(
            value, codingPath: codingPath + [key], pointer: JSONPointer.appending(pointer, key.stringValue), log: log)
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try JSONValueDecoding.primitive(try member(key), codingPath: codingPath + [key])
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try JSONValueDecoding.primitive(try member(key), codingPath: codingPath + [key])
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try JSONValueDecoding.primitive(try member(key), codingPath: codingPath + [key])
    }

    // `JSONDecoder` returns nil for a missing key and for `null`; a `null` then stays unread.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = object[key.stringValue], value != .null else { return nil }
        markRead(key)
        return try JSONValueDecoding.decode(
            value, codingPath: codingPath + [key], pointer: JSONPointer.appending(pointer, key.stringValue), log: log)
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = object[key.stringValue], value != .null else { return nil }
        markRead(key)
        return try JSONValueDecoding.primitive(value, codingPath: codingPath + [key]) as String
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let value = object[key.stringValue], value != .null else { return nil }
        markRead(key)
        return try JSONValueDecoding.primitive(value, codingPath: codingPath + [key]) as Bool
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let value = object[key.stringValue], value != .null else { return nil }
        markRead(key)
        return try JSONValueDecoding.primitive(value, codingPath: codingPath + [key]) as Int
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ValueDecoder(
            value: try member(key), codingPath: codingPath + [key],
            pointer: JSONPointer.appending(pointer, key.stringValue), log: log
        ).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(
            value: try member(key), codingPath: codingPath + [key],
            pointer: JSONPointer.appending(pointer, key.stringValue), log: log
        ).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let key = Key(stringValue: "super")
        let value = key.flatMap { object[$0.stringValue] } ?? .null
        if let key { markRead(key) }
        return ValueDecoder(
            value: value, codingPath: codingPath, pointer: JSONPointer.appending(pointer, "super"), log: log)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        let value = object[key.stringValue] ?? .null
        markRead(key)
        return ValueDecoder(
            value: value, codingPath: codingPath + [key], pointer: JSONPointer.appending(pointer, key.stringValue),
            log: log)
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.init(intValue) }
}

private struct UnkeyedReader: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let pointer: String
    let log: ReadLog
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], pointer: String, log: ReadLog) {
        self.elements = elements
        self.codingPath = codingPath
        self.pointer = pointer
        self.log = log
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, [any CodingKey], String) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
        }
        let index = currentIndex
        currentIndex += 1
        return (elements[index], codingPath + [IndexKey(index)], JSONPointer.appending(pointer, String(index)))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any?.self, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
        }
        if elements[currentIndex] == .null {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path, childPointer) = try next(type)
        return try JSONValueDecoding.decode(value, codingPath: path, pointer: childPointer, log: log)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (value, path, childPointer) = try next(KeyedDecodingContainer<NestedKey>.self)
        return try ValueDecoder(value: value, codingPath: path, pointer: childPointer, log: log).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path, childPointer) = try next((any UnkeyedDecodingContainer).self)
        return try ValueDecoder(value: value, codingPath: path, pointer: childPointer, log: log).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path, childPointer) = try next((any Decoder).self)
        return ValueDecoder(value: value, codingPath: path, pointer: childPointer, log: log)
    }
}
