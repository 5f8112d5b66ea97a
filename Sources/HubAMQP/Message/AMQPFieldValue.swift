public import HubCore

/// A value in an AMQP field table: message headers, queue arguments, `x-death` records.
public enum AMQPFieldValue: Sendable, Hashable {
    /// A boolean (`t`).
    case bool(Bool)
    /// A signed 8-bit integer (`b`).
    case int8(Int8)
    /// An unsigned 8-bit integer (`B`).
    case uint8(UInt8)
    /// A signed 16-bit integer (`s`).
    case int16(Int16)
    /// An unsigned 16-bit integer (`u`).
    case uint16(UInt16)
    /// A signed 32-bit integer (`I`).
    case int32(Int32)
    /// An unsigned 32-bit integer (`i`).
    case uint32(UInt32)
    /// A signed 64-bit integer (`l`).
    case int64(Int64)
    /// An unsigned 64-bit integer (`L`).
    case uint64(UInt64)
    /// A single-precision float (`f`).
    case float(Float)
    /// A double-precision float (`d`).
    case double(Double)
    /// A decimal: `value × 10^−decimals` (`D`).
    case decimal(decimals: UInt8, value: UInt32)
    /// A UTF-8 string (`S`, long string). A long string that is not valid UTF-8 decodes as ``bytes(_:)``.
    case string(String)
    /// Raw bytes (`x`).
    case bytes([UInt8])
    /// A timestamp in seconds since the Unix epoch (`T`).
    case timestamp(UInt64)
    /// A nested table (`F`).
    case table([String: AMQPFieldValue])
    /// An array (`A`).
    case array([AMQPFieldValue])
    /// No value (`V`).
    case void

    /// The string, when this is a ``string(_:)``.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as an `Int64`, when it is any integer that fits.
    public var int64Value: Int64? {
        switch self {
        case .int8(let v): Int64(v)
        case .uint8(let v): Int64(v)
        case .int16(let v): Int64(v)
        case .uint16(let v): Int64(v)
        case .int32(let v): Int64(v)
        case .uint32(let v): Int64(v)
        case .int64(let v): v
        case .uint64(let v): Int64(exactly: v)
        default: nil
        }
    }

    /// The table, when this is a ``table(_:)``.
    public var tableValue: [String: AMQPFieldValue]? {
        if case .table(let value) = self { return value }
        return nil
    }

    /// The array, when this is an ``array(_:)``.
    public var arrayValue: [AMQPFieldValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

extension AMQPFieldValue {
    /// Converts a topology argument (`x-queue-type`, `x-delivery-limit`, …) to its AMQP field value.
    /// - Parameter argument: The argument.
    public init(_ argument: Topology.ArgumentValue) {
        switch argument {
        case .string(let value): self = .string(value)
        case .int(let value): self = .int64(value)
        case .bool(let value): self = .bool(value)
        }
    }

    /// Converts a topology argument table to an AMQP field table.
    /// - Parameter arguments: The arguments, e.g. `Topology.Queue.arguments`.
    /// - Returns: The field table to declare with.
    public static func table(_ arguments: [String: Topology.ArgumentValue]) -> [String: AMQPFieldValue] {
        arguments.mapValues(AMQPFieldValue.init)
    }
}
