import CRabbitMQ
import Foundation

/// Owns C copies of Swift values for the duration of one library call.
///
/// `amqp_cstring_bytes(swiftString)` points into a temporary that dies after the call expression; every
/// `amqp_bytes_t`, C string and table handed to rabbitmq-c comes from an arena instead, and is freed when the arena
/// goes away. An arena is used by one actor method on one thread and never escapes it.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    init() {}

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    private func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: alignment)
        allocations.append(pointer)
        return pointer
    }

    /// A NUL-terminated copy of `string`.
    func cString(_ string: String) -> UnsafePointer<CChar> {
        let utf8 = Array(string.utf8)
        let pointer = allocate(byteCount: utf8.count + 1, alignment: 1)
        if !utf8.isEmpty { pointer.copyMemory(from: utf8, byteCount: utf8.count) }
        pointer.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
        return UnsafePointer(pointer.assumingMemoryBound(to: CChar.self))
    }

    /// An `amqp_bytes_t` over a copy of `bytes`.
    func bytes(_ bytes: [UInt8]) -> amqp_bytes_t {
        guard !bytes.isEmpty else { return amqp_bytes_t(len: 0, bytes: nil) }
        let pointer = allocate(byteCount: bytes.count, alignment: 1)
        pointer.copyMemory(from: bytes, byteCount: bytes.count)
        return amqp_bytes_t(len: bytes.count, bytes: pointer)
    }

    /// An `amqp_bytes_t` over a UTF-8 copy of `string`.
    func bytes(_ string: String) -> amqp_bytes_t { bytes(Array(string.utf8)) }

    /// An `amqp_table_t` whose entries (keys sorted, for a stable wire form) live in this arena.
    func table(_ fields: [String: AMQPFieldValue]) -> amqp_table_t {
        guard !fields.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let keys = fields.keys.sorted()
        let stride = MemoryLayout<amqp_table_entry_t>.stride
        let raw = allocate(byteCount: stride * keys.count, alignment: MemoryLayout<amqp_table_entry_t>.alignment)
        let entries = raw.bindMemory(to: amqp_table_entry_t.self, capacity: keys.count)
        for (index, key) in keys.enumerated() {
            // Safe: `fields[key]` exists because `key` came from `fields.keys`.
            let value = fields[key] ?? .void
            (entries + index).initialize(to: amqp_table_entry_t(key: bytes(key), value: field(value)))
        }
        return amqp_table_t(num_entries: Int32(keys.count), entries: entries)
    }

    /// An `amqp_field_value_t` for `value`, with any nested storage in this arena.
    func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        func kind(_ kind: amqp_field_value_kind_t) -> UInt8 { UInt8(truncatingIfNeeded: kind.rawValue) }
        switch value {
        case .bool(let v):
            field.kind = kind(AMQP_FIELD_KIND_BOOLEAN)
            field.value.boolean = v ? 1 : 0
        case .int8(let v):
            field.kind = kind(AMQP_FIELD_KIND_I8)
            field.value.i8 = v
        case .uint8(let v):
            field.kind = kind(AMQP_FIELD_KIND_U8)
            field.value.u8 = v
        case .int16(let v):
            field.kind = kind(AMQP_FIELD_KIND_I16)
            field.value.i16 = v
        case .uint16(let v):
            field.kind = kind(AMQP_FIELD_KIND_U16)
            field.value.u16 = v
        case .int32(let v):
            field.kind = kind(AMQP_FIELD_KIND_I32)
            field.value.i32 = v
        case .uint32(let v):
            field.kind = kind(AMQP_FIELD_KIND_U32)
            field.value.u32 = v
        case .int64(let v):
            field.kind = kind(AMQP_FIELD_KIND_I64)
            field.value.i64 = v
        case .uint64(let v):
            field.kind = kind(AMQP_FIELD_KIND_U64)
            field.value.u64 = v
        case .float(let v):
            field.kind = kind(AMQP_FIELD_KIND_F32)
            field.value.f32 = v
        case .double(let v):
            field.kind = kind(AMQP_FIELD_KIND_F64)
            field.value.f64 = v
        case .decimal(let decimals, let v):
            field.kind = kind(AMQP_FIELD_KIND_DECIMAL)
            field.value.decimal = amqp_decimal_t(decimals: decimals, value: v)
        case .string(let v):
            field.kind = kind(AMQP_FIELD_KIND_UTF8)
            field.value.bytes = bytes(v)
        case .bytes(let v):
            field.kind = kind(AMQP_FIELD_KIND_BYTES)
            field.value.bytes = bytes(v)
        case .timestamp(let v):
            field.kind = kind(AMQP_FIELD_KIND_TIMESTAMP)
            field.value.u64 = v
        case .table(let v):
            field.kind = kind(AMQP_FIELD_KIND_TABLE)
            field.value.table = table(v)
        case .array(let values):
            field.kind = kind(AMQP_FIELD_KIND_ARRAY)
            if values.isEmpty {
                field.value.array = amqp_array_t(num_entries: 0, entries: nil)
            } else {
                let raw = allocate(
                    byteCount: MemoryLayout<amqp_field_value_t>.stride * values.count,
                    alignment: MemoryLayout<amqp_field_value_t>.alignment
                )
                let entries = raw.bindMemory(to: amqp_field_value_t.self, capacity: values.count)
                for (index, element) in values.enumerated() { (entries + index).initialize(to: self.field(element)) }
                field.value.array = amqp_array_t(num_entries: Int32(values.count), entries: entries)
            }
        case .void:
            field.kind = kind(AMQP_FIELD_KIND_VOID)
        }
        return field
    }

    /// Basic properties for `properties`, persistent, with every string in this arena.
    func properties(_ properties: AMQPMessage.Properties) -> amqp_basic_properties_t {
        var result = amqp_basic_properties_t()
        var flags = UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        result.delivery_mode = 2
        if let value = properties.messageID {
            result.message_id = bytes(value)
            flags |= UInt32(AMQP_BASIC_MESSAGE_ID_FLAG)
        }
        if let value = properties.type {
            result.type = bytes(value)
            flags |= UInt32(AMQP_BASIC_TYPE_FLAG)
        }
        if let value = properties.correlationID {
            result.correlation_id = bytes(value)
            flags |= UInt32(AMQP_BASIC_CORRELATION_ID_FLAG)
        }
        if let value = properties.timestamp {
            let seconds = value.timeIntervalSince1970.rounded(.down)
            result.timestamp = seconds > 0 && seconds < 1.8e19 ? UInt64(seconds) : 0
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        if let value = properties.contentType {
            result.content_type = bytes(value)
            flags |= UInt32(AMQP_BASIC_CONTENT_TYPE_FLAG)
        }
        if let value = properties.appID {
            result.app_id = bytes(value)
            flags |= UInt32(AMQP_BASIC_APP_ID_FLAG)
        }
        if !properties.headers.isEmpty {
            result.headers = table(properties.headers)
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
        }
        result._flags = flags
        return result
    }
}

// MARK: - Decoding C values into Swift (copies; nothing points into library memory afterwards)

enum CDecode {
    static func bytes(_ bytes: amqp_bytes_t) -> [UInt8] {
        guard let pointer = bytes.bytes, bytes.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: bytes.len))
    }

    static func string(_ value: amqp_bytes_t) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    static func table(_ table: amqp_table_t) -> [String: AMQPFieldValue] {
        guard let entries = table.entries, table.num_entries > 0 else { return [:] }
        var result: [String: AMQPFieldValue] = [:]
        for index in 0..<Int(table.num_entries) {
            let entry = entries[index]
            result[string(entry.key)] = field(entry.value)
        }
        return result
    }

    static func field(_ field: amqp_field_value_t) -> AMQPFieldValue {
        switch UInt32(field.kind) {
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: return .bool(field.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: return .int8(field.value.i8)
        case AMQP_FIELD_KIND_U8.rawValue: return .uint8(field.value.u8)
        case AMQP_FIELD_KIND_I16.rawValue: return .int16(field.value.i16)
        case AMQP_FIELD_KIND_U16.rawValue: return .uint16(field.value.u16)
        case AMQP_FIELD_KIND_I32.rawValue: return .int32(field.value.i32)
        case AMQP_FIELD_KIND_U32.rawValue: return .uint32(field.value.u32)
        case AMQP_FIELD_KIND_I64.rawValue: return .int64(field.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: return .uint64(field.value.u64)
        case AMQP_FIELD_KIND_F32.rawValue: return .float(field.value.f32)
        case AMQP_FIELD_KIND_F64.rawValue: return .double(field.value.f64)
        case AMQP_FIELD_KIND_DECIMAL.rawValue:
            return .decimal(decimals: field.value.decimal.decimals, value: field.value.decimal.value)
        case AMQP_FIELD_KIND_UTF8.rawValue:
            let raw = bytes(field.value.bytes)
            return String(validating: raw, as: UTF8.self).map(AMQPFieldValue.string) ?? .bytes(raw)
        case AMQP_FIELD_KIND_BYTES.rawValue: return .bytes(bytes(field.value.bytes))
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: return .timestamp(field.value.u64)
        case AMQP_FIELD_KIND_TABLE.rawValue: return .table(table(field.value.table))
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            let array = field.value.array
            guard let entries = array.entries, array.num_entries > 0 else { return .array([]) }
            return .array((0..<Int(array.num_entries)).map { self.field(entries[$0]) })
        default: return .void
        }
    }

    static func properties(_ properties: amqp_basic_properties_t) -> (AMQPMessage.Properties, deliveryMode: UInt8?) {
        let flags = properties._flags
        func has(_ flag: Int32) -> Bool { flags & UInt32(flag) != 0 }
        var result = AMQPMessage.Properties()
        if has(AMQP_BASIC_MESSAGE_ID_FLAG) { result.messageID = string(properties.message_id) }
        if has(AMQP_BASIC_TYPE_FLAG) { result.type = string(properties.type) }
        if has(AMQP_BASIC_CORRELATION_ID_FLAG) { result.correlationID = string(properties.correlation_id) }
        if has(AMQP_BASIC_TIMESTAMP_FLAG) {
            result.timestamp = Date(timeIntervalSince1970: TimeInterval(properties.timestamp))
        }
        if has(AMQP_BASIC_CONTENT_TYPE_FLAG) { result.contentType = string(properties.content_type) }
        if has(AMQP_BASIC_APP_ID_FLAG) { result.appID = string(properties.app_id) }
        if has(AMQP_BASIC_HEADERS_FLAG) { result.headers = table(properties.headers) }
        return (result, has(AMQP_BASIC_DELIVERY_MODE_FLAG) ? properties.delivery_mode : nil)
    }
}

// MARK: - Wire form of field tables (what rabbitmq-c puts on the socket)

enum FieldTableCodec {
    /// Encodes a field table as AMQP 0-9-1 wire bytes (32-bit length prefix, then entries).
    static func encode(_ fields: [String: AMQPFieldValue]) throws(AMQPError) -> [UInt8] {
        let arena = CArena()
        var table = arena.table(fields)
        var capacity = 4096
        while capacity <= 1 << 26 {
            var buffer = [UInt8](repeating: 0, count: capacity)
            var offset = 0
            let status = buffer.withUnsafeMutableBytes { raw -> Int32 in
                amqp_encode_table(amqp_bytes_t(len: raw.count, bytes: raw.baseAddress), &table, &offset)
            }
            if status == AMQP_STATUS_OK.rawValue { return Array(buffer[..<offset]) }
            guard status == AMQP_STATUS_TABLE_TOO_BIG.rawValue else {
                throw AMQPError(.protocolError, "could not encode a field table", detail: AMQPConnection.statusText(status))
            }
            capacity *= 4
        }
        throw AMQPError(.protocolError, "field table too large to encode")
    }

    /// Decodes AMQP 0-9-1 wire bytes of a field table.
    static func decode(_ bytes: [UInt8]) throws(AMQPError) -> [String: AMQPFieldValue] {
        var pool = amqp_pool_t()
        init_amqp_pool(&pool, 4096)
        defer { empty_amqp_pool(&pool) }
        var copy = bytes
        var table = amqp_table_t()
        var offset = 0
        let status = copy.withUnsafeMutableBytes { raw -> Int32 in
            amqp_decode_table(amqp_bytes_t(len: raw.count, bytes: raw.baseAddress), &pool, &table, &offset)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.protocolError, "could not decode a field table", detail: AMQPConnection.statusText(status))
        }
        return CDecode.table(table)
    }
}
