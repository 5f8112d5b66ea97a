import Foundation
public import HubAMQP
public import HubCore

/// The AMQP basic properties and headers of a delivery, as canonical JSON (the form stored and hashed).
///
/// Members (absent ones omitted): `appId`, `contentType`, `correlationId`, `deliveryMode`, `headers`, `messageId`,
/// `timestamp` (seconds), `type`. Header values keep their AMQP type where JSON would lose it: strings, booleans
/// and integers are JSON values; floats are numbers; `bytes` is `{"$bytes": base64}`, `timestamp` is
/// `{"$timestamp": seconds}`, `decimal` is `{"$decimal": "text"}`, `void` is `null`; tables and arrays nest.
public enum AuditProperties {
    /// The canonical JSON of a delivery's properties.
    /// - Parameters:
    ///   - properties: The basic properties.
    ///   - deliveryMode: The delivery mode, if set.
    /// - Returns: The canonical bytes.
    public static func canonicalBytes(_ properties: AMQPMessage.Properties, deliveryMode: UInt8?) -> [UInt8] {
        jsonValue(properties, deliveryMode: deliveryMode).canonicalBytes()
    }

    /// The JSON form of a delivery's properties.
    /// - Parameters:
    ///   - properties: The basic properties.
    ///   - deliveryMode: The delivery mode, if set.
    /// - Returns: The JSON object.
    public static func jsonValue(_ properties: AMQPMessage.Properties, deliveryMode: UInt8?) -> JSONValue {
        var object = JSONObject()
        if let value = properties.appID { object["appId"] = .string(value) }
        if let value = properties.contentType { object["contentType"] = .string(value) }
        if let value = properties.correlationID { object["correlationId"] = .string(value) }
        if let deliveryMode { object["deliveryMode"] = .number(JSONNumber(Int(deliveryMode))) }
        if !properties.headers.isEmpty {
            object["headers"] = .object(JSONObject(properties.headers.map { ($0.key, json($0.value)) }))
        }
        if let value = properties.messageID { object["messageId"] = .string(value) }
        if let value = properties.timestamp {
            object["timestamp"] = .number(JSONNumber(Int(value.timeIntervalSince1970.rounded(.down))))
        }
        if let value = properties.type { object["type"] = .string(value) }
        return .object(object)
    }

    static func json(_ value: AMQPFieldValue) -> JSONValue {
        switch value {
        case .bool(let v): return .bool(v)
        case .int8(let v): return .number(JSONNumber(Int(v)))
        case .uint8(let v): return .number(JSONNumber(Int(v)))
        case .int16(let v): return .number(JSONNumber(Int(v)))
        case .uint16(let v): return .number(JSONNumber(Int(v)))
        case .int32(let v): return .number(JSONNumber(Int(v)))
        case .uint32(let v): return .number(JSONNumber(Int(v)))
        case .int64(let v): return .number(JSONNumber(Int(v)))
        case .uint64(let v): return JSONNumber(text: String(v)).map(JSONValue.number) ?? .string(String(v))
        case .float(let v): return number(Double(v))
        case .double(let v): return number(v)
        case .decimal(let decimals, let raw):
            var text = String(raw)
            if decimals > 0 {
                while text.count <= Int(decimals) { text = "0" + text }
                text.insert(".", at: text.index(text.endIndex, offsetBy: -Int(decimals)))
            }
            return .object(JSONObject([("$decimal", .string(text))]))
        case .string(let v): return .string(v)
        case .bytes(let v): return .object(JSONObject([("$bytes", .string(Data(v).base64EncodedString()))]))
        case .timestamp(let v): return .object(JSONObject([("$timestamp", .number(JSONNumber(text: String(v)) ?? JSONNumber(0)))]))
        case .table(let table): return .object(JSONObject(table.map { ($0.key, json($0.value)) }))
        case .array(let values): return .array(values.map(json))
        case .void: return .null
        }
    }

    private static func number(_ value: Double) -> JSONValue {
        guard value.isFinite, let number = JSONNumber(text: "\(value)") else { return .string("\(value)") }
        return .number(number)
    }
}
