import Foundation

/// Encodes `Encodable` values straight into a ``JSONValue`` tree: the mirror of ``JSONValueDecoder``.
///
/// Foundation's `JSONEncoder` was ~5 % of the payments role's CPU for one `jsonb` column per transfer (its generic
/// machinery, then bytes that PostgreSQL parses again). This encoder builds the tree directly; write it with
/// ``JSONValue/canonicalBytes()`` or embed it in another value.
///
/// It encodes what `JSONEncoder` encodes with its default strategies, as JSON values: `Decimal` as a number with its
/// exact digits, `Date` as seconds since 2001 (`deferredToDate`), `Data` as base64, `URL` as its absolute string;
/// `encodeIfPresent` with nil omits the member, `encodeNil` writes `null`; a non-finite `Double` or `Float` is refused
/// with the same `EncodingError.invalidValue`. Object members keep the order the type encodes them in (`JSONEncoder`
/// without `.sortedKeys`); the canonical form sorts them.
public struct JSONValueEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// Encodes `value`.
    /// - Parameter value: The value.
    /// - Returns: Its JSON.
    /// - Throws: `EncodingError`, or what the type's `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        guard let node = try JSONValueEncoding.node(for: value, codingPath: []) else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return node.value
    }
}

/// A value under construction: containers are references, because a nested container is filled after it was
/// placed in its parent.
private enum Node {
    case value(JSONValue)
    case object(ObjectNode)
    case array(ArrayNode)
    /// A `superEncoder()`: whatever it encoded, or an empty object.
    case deferred(ValueEncoder)

    var value: JSONValue {
        switch self {
        case .value(let value): value
        case .object(let object): .object(JSONObject(object.members.map { ($0.key, $0.node.value) }))
        case .array(let array): .array(array.elements.map(\.value))
        case .deferred(let encoder): encoder.node?.value ?? .object(JSONObject())
        }
    }
}

private final class ObjectNode {
    var members: [(key: String, node: Node)] = []

    func set(_ node: Node, for key: String) {
        // A repeated key replaces the value in place, as a dictionary would.
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].node = node
        } else {
            members.append((key, node))
        }
    }
}

private final class ArrayNode {
    var elements: [Node] = []
}

private enum JSONValueEncoding {
    /// The node of one value; nil when it encoded nothing at all.
    static func node<T: Encodable>(for value: T, codingPath: [any CodingKey]) throws -> Node? {
        switch value {
        case let decimal as Decimal:
            return .value(.number(JSONNumber(unchecked: decimal.description)))
        case let data as Data:
            return .value(.string(data.base64EncodedString()))
        case let url as URL:
            return .value(.string(url.absoluteString))
        default:
            let encoder = ValueEncoder(codingPath: codingPath)
            try value.encode(to: encoder)
            return encoder.node
        }
    }

    /// A nested value: one that encodes nothing is an empty object, as with `JSONEncoder`.
    static func nested<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> Node {
        try node(for: value, codingPath: codingPath) ?? .value(.object(JSONObject()))
    }

    static func number(_ value: some BinaryInteger) -> Node { .value(.number(JSONNumber(unchecked: String(value)))) }

    static func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, codingPath: [any CodingKey])
        throws -> Node
    {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                .init(codingPath: codingPath, debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
        }
        // Integral values print without a fraction, as JSONEncoder writes them ("1", not "1.0").
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .value(.number(JSONNumber(unchecked: text)))
    }
}

/// The `Encoder` of one value; it records the container the value asked for.
private final class ValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var node: Node?

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: ObjectNode
        if case .object(let existing) = node {
            object = existing
        } else {
            object = ObjectNode()
            node = .object(object)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: ArrayNode
        if case .array(let existing) = node {
            array = existing
        } else {
            array = ArrayNode()
            node = .array(array)
        }
        return UnkeyedContainer(array: array, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(encoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectNode
    let codingPath: [any CodingKey]

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    mutating func encodeNil(forKey key: Key) throws { object.set(.value(.null), for: key.stringValue) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.set(.value(.bool(value)), for: key.stringValue) }
    mutating func encode(_ value: String, forKey key: Key) throws {
        object.set(.value(.string(value)), for: key.stringValue)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        object.set(try JSONValueEncoding.number(value, codingPath: path(key)), for: key.stringValue)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        object.set(try JSONValueEncoding.number(value, codingPath: path(key)), for: key.stringValue)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { object.set(JSONValueEncoding.number(value), for: key.stringValue) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(try JSONValueEncoding.nested(value, codingPath: path(key)), for: key.stringValue)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = ObjectNode()
        object.set(.object(nested), for: key.stringValue)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, codingPath: path(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayNode()
        object.set(.array(nested), for: key.stringValue)
        return UnkeyedContainer(array: nested, codingPath: path(key))
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = ValueEncoder(codingPath: codingPath + [JSONValueEncodingKey.super])
        object.set(.deferred(encoder), for: JSONValueEncodingKey.super.stringValue)
        return encoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let encoder = ValueEncoder(codingPath: path(key))
        object.set(.deferred(encoder), for: key.stringValue)
        return encoder
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: ArrayNode
    let codingPath: [any CodingKey]
    var count: Int { array.elements.count }

    private var nextPath: [any CodingKey] { codingPath + [JSONValueEncodingKey.index(array.elements.count)] }

    mutating func encodeNil() throws { array.elements.append(.value(.null)) }
    mutating func encode(_ value: Bool) throws { array.elements.append(.value(.bool(value))) }
    mutating func encode(_ value: String) throws { array.elements.append(.value(.string(value))) }
    mutating func encode(_ value: Double) throws {
        array.elements.append(try JSONValueEncoding.number(value, codingPath: nextPath))
    }
    mutating func encode(_ value: Float) throws {
        array.elements.append(try JSONValueEncoding.number(value, codingPath: nextPath))
    }
    mutating func encode(_ value: Int) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: Int8) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: Int16) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: Int32) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: Int64) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: UInt) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: UInt8) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: UInt16) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: UInt32) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode(_ value: UInt64) throws { array.elements.append(JSONValueEncoding.number(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        array.elements.append(try JSONValueEncoding.nested(value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let path = nextPath
        let nested = ObjectNode()
        array.elements.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let nested = ArrayNode()
        array.elements.append(.array(nested))
        return UnkeyedContainer(array: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = ValueEncoder(codingPath: nextPath)
        array.elements.append(.deferred(encoder))
        return encoder
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.node = .value(.null) }
    mutating func encode(_ value: Bool) throws { encoder.node = .value(.bool(value)) }
    mutating func encode(_ value: String) throws { encoder.node = .value(.string(value)) }
    mutating func encode(_ value: Double) throws { encoder.node = try JSONValueEncoding.number(value, codingPath: codingPath) }
    mutating func encode(_ value: Float) throws { encoder.node = try JSONValueEncoding.number(value, codingPath: codingPath) }
    mutating func encode(_ value: Int) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: Int8) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: Int16) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: Int32) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: Int64) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: UInt) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: UInt8) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: UInt16) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: UInt32) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode(_ value: UInt64) throws { encoder.node = JSONValueEncoding.number(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.node = try JSONValueEncoding.nested(value, codingPath: codingPath)
    }
}

/// The coding keys the encoder makes itself: array positions and `super`.
private struct JSONValueEncodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
    }

    static let `super` = JSONValueEncodingKey(stringValue: "super")
    static func index(_ index: Int) -> JSONValueEncodingKey { JSONValueEncodingKey(intValue: index) }
}
