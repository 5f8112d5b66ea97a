import Foundation
import HubAMQP
import HubCore

/// AMQP headers ⇄ JSON, for `hub.parked.headers` and the redrive that reads them back.
///
/// Strings, booleans, integers, tables and arrays round-trip (integers come back as 64-bit); bytes become
/// `{"$bytes": base64}`, timestamps `{"$timestamp": seconds}`, floats and decimals their decimal text as strings.
enum HeaderJSON {
    static func encode(_ headers: [String: AMQPFieldValue]) -> String {
        String(decoding: JSONValue.object(object(headers)).canonicalBytes(), as: UTF8.self)
    }

    static func decode(_ text: String) -> [String: AMQPFieldValue] {
        guard let value = try? JSONValue.parse(text), case .object(let object) = value else { return [:] }
        return table(object)
    }

    private static func object(_ headers: [String: AMQPFieldValue]) -> JSONObject {
        JSONObject(headers.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
    }

    private static func json(_ value: AMQPFieldValue) -> JSONValue {
        if let integer = value.int64Value { return .number(JSONNumber(Int(integer))) }
        switch value {
        case .bool(let flag): return .bool(flag)
        case .string(let text): return .string(text)
        case .bytes(let bytes): return .object(["$bytes": .string(Data(bytes).base64EncodedString())])
        case .timestamp(let seconds): return .object(["$timestamp": .string(String(seconds))])
        case .table(let table): return .object(object(table))
        case .array(let values): return .array(values.map(json))
        case .float(let number): return .string(String(number))
        case .double(let number): return .string(String(number))
        case .decimal(let decimals, let unscaled): return .string("\(unscaled)e-\(decimals)")
        case .void: return .null
        default: return .string("\(value)")
        }
    }

    private static func table(_ object: JSONObject) -> [String: AMQPFieldValue] {
        var result: [String: AMQPFieldValue] = [:]
        for member in object { result[member.key] = field(member.value) }
        return result
    }

    private static func field(_ value: JSONValue) -> AMQPFieldValue {
        switch value {
        case .null: return .void
        case .bool(let flag): return .bool(flag)
        case .number(let number): return number.intValue.map { .int64(Int64($0)) } ?? .string(number.text)
        case .string(let text): return .string(text)
        case .array(let values): return .array(values.map(field))
        case .object(let object):
            if object.count == 1, case .string(let text)? = object["$bytes"], let data = Data(base64Encoded: text) {
                return .bytes(Array(data))
            }
            if object.count == 1, case .string(let text)? = object["$timestamp"], let seconds = UInt64(text) {
                return .timestamp(seconds)
            }
            return .table(table(object))
        }
    }
}
