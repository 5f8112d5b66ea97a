/// A result column: its name and type.
public struct PostgresColumn: Sendable, Hashable {
    /// The column's name (`AS` alias if given).
    public var name: String
    /// The column's type.
    public var type: PostgresDataType
}

/// One row of a result, in text format, with its column names.
public struct PostgresRow: Sendable, Hashable {
    /// The result's columns, in order.
    public let columns: [PostgresColumn]
    /// The cells' text forms, nil for NULL.
    let cells: [String?]

    init(columns: [PostgresColumn], cells: [String?]) {
        self.columns = columns
        self.cells = cells
    }

    /// Decodes the first column with this name.
    /// - Parameters:
    ///   - type: The Swift type to decode; use an `Optional` for a nullable column.
    ///   - column: The column's name.
    /// - Returns: The value.
    /// - Throws: `PostgresError` with code `decodingFailed` naming the column and the expected type, when the
    ///   column does not exist, is NULL for a non-optional type, or holds a value the type cannot represent.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, column: String) throws(PostgresError) -> T {
        guard let index = columns.firstIndex(where: { $0.name == column }) else {
            let safeName = SQLIdentifier.problem(with: column) == nil ? column : "?"
            throw PostgresError(
                code: .decodingFailed,
                message:
                    "the result has no column '\(safeName)' (columns: \(columns.map(\.name).joined(separator: ", ")))"
            )
        }
        return try decode(T.self, at: index)
    }

    /// Decodes the column at a position.
    /// - Parameters:
    ///   - type: The Swift type to decode; use an `Optional` for a nullable column.
    ///   - index: The column's position, from 0.
    /// - Returns: The value.
    /// - Throws: `PostgresError` with code `decodingFailed` naming the column and the expected type.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at index: Int) throws(PostgresError) -> T {
        guard columns.indices.contains(index) else {
            throw PostgresError(
                code: .decodingFailed,
                message: "column index \(index) is out of range (the result has \(columns.count) columns)"
            )
        }
        let column = columns[index]
        guard let text = cells[index] else {
            if let null = T.postgresNull { return null }
            throw PostgresError(
                code: .decodingFailed,
                message: "column '\(column.name)' is NULL, which \(T.self) cannot hold; decode \(T.self)? instead"
            )
        }
        guard let value = T.decodePostgres(text: text, type: column.type) else {
            throw PostgresError(
                code: .decodingFailed,
                message: "column '\(column.name)' of type \(column.type) could not be decoded as \(T.self)"
            )
        }
        return value
    }

    /// Whether the cell at a position is NULL.
    /// - Parameter index: The column's position, from 0.
    /// - Returns: True for NULL (and for an index out of range).
    public func isNull(at index: Int) -> Bool {
        !cells.indices.contains(index) || cells[index] == nil
    }
}

/// The outcome of one statement.
public struct PostgresQueryResult: Sendable, Hashable {
    /// The columns (empty for a command without rows).
    public var columns: [PostgresColumn]
    /// The rows, all of them, in order.
    public var rows: [PostgresRow]
    /// The command tag, for example `INSERT 0 3`.
    public var commandTag: String
    /// The rows affected (INSERT, UPDATE, DELETE, SELECT, COPY …), when the command reports it.
    public var affectedRows: Int?

    /// No columns, no rows, no tag: what a command that produced no result reports.
    static let empty = PostgresQueryResult(columns: [], rows: [], commandTag: "", affectedRows: nil)
}
