/// A SQL statement whose interpolated values are parameters, never text.
///
/// ```swift
/// let query: PostgresQuery = "SELECT name FROM \(schema).accounts WHERE id = \(id) AND active = \(true)"
/// // sql: SELECT name FROM "payments".accounts WHERE id = $1 AND active = $2
/// ```
///
/// Every interpolated `PostgresEncodable` value becomes `$n` with its value bound separately; an interpolated
/// `SQLIdentifier` is written quoted. Literal parts are `StaticString`s, so SQL cannot be assembled from runtime
/// strings: there is no initializer that takes a `String` as SQL.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The statement text with `$1…$n` placeholders. Contains no values.
    public private(set) var sql: String
    /// The parameters, in placeholder order.
    public private(set) var binds: [PostgresBind]

    /// A statement without parameters.
    /// - Parameter stringLiteral: The SQL text, a compile-time constant.
    public init(stringLiteral: StaticString) {
        sql = stringLiteral.description
        binds = []
    }

    /// A statement built by interpolation.
    /// - Parameter stringInterpolation: The interpolation.
    public init(stringInterpolation: StringInterpolation) {
        sql = stringInterpolation.sql
        binds = stringInterpolation.binds
    }

    /// Internal: a statement assembled by this module from constants and validated identifiers only.
    init(trustedSQL: String, binds: [PostgresBind] = []) {
        sql = trustedSQL
        self.binds = binds
    }

    /// The SQL text and the number of parameters; never the values.
    public var description: String { binds.isEmpty ? sql : "\(sql) [\(binds.count) parameters]" }

    /// Collects the literal parts and the interpolated values of a `PostgresQuery`.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        /// The literal parts are compile-time constants.
        public typealias StringLiteralType = StaticString

        var sql: String
        var binds: [PostgresBind]

        /// Reserves room.
        /// - Parameters:
        ///   - literalCapacity: The length of the literal parts.
        ///   - interpolationCount: The number of interpolations.
        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        /// Appends SQL text.
        /// - Parameter literal: A compile-time constant.
        public mutating func appendLiteral(_ literal: StaticString) {
            sql += literal.description
        }

        /// Appends a parameter placeholder `$n` and binds the value.
        /// - Parameter value: The value (an `Optional` binds NULL when nil).
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresBind())
            sql += "$\(binds.count)"
        }

        /// Appends a parameter placeholder `$n` and binds the value, or NULL when it is nil.
        /// - Parameter value: The optional value.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            binds.append(value.postgresBind())
            sql += "$\(binds.count)"
        }

        /// Appends a quoted identifier.
        /// - Parameter identifier: The validated identifier.
        public mutating func appendInterpolation(_ identifier: SQLIdentifier) {
            sql += identifier.quoted
        }

        /// Appends a comma-separated list of quoted identifiers (for column lists).
        /// - Parameter identifiers: The validated identifiers.
        public mutating func appendInterpolation(_ identifiers: [SQLIdentifier]) {
            sql += identifiers.map(\.quoted).joined(separator: ", ")
        }
    }
}
