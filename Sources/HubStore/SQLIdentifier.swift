/// A validated SQL identifier (schema, table, column, channel): lowercase ASCII letters, digits and `_`, starting
/// with a letter or `_`, at most 63 characters. Interpolated into a `PostgresQuery` it is written double-quoted.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    /// The bare name, for example `payments`.
    public let name: String

    /// Validates a name against `^[a-z_][a-z0-9_]{0,62}$`.
    /// - Parameter name: The bare name.
    /// - Throws: `PostgresError` with code `invalidConfiguration` that says which rule the name breaks.
    public init(_ name: String) throws(PostgresError) {
        guard let problem = Self.problem(with: name) else {
            self.name = name
            return
        }
        throw PostgresError(code: .invalidConfiguration, message: "invalid SQL identifier: \(problem)")
    }

    /// The name double-quoted, as it appears in SQL (`"payments"`).
    public var quoted: String { "\"\(name)\"" }

    /// The quoted name.
    public var description: String { quoted }

    /// Why a name is not a valid identifier, or nil if it is.
    static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        guard let first = bytes.first else { return "it is empty" }
        guard bytes.count <= 63 else { return "it is longer than 63 characters" }
        func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard isLower(first) || first == UInt8(ascii: "_") else {
            return "it must start with a lowercase letter or '_'"
        }
        guard bytes.allSatisfy({ isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") }) else {
            return "it may contain only lowercase ASCII letters, digits and '_'"
        }
        return nil
    }
}
