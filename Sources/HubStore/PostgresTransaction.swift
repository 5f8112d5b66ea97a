/// An open transaction on a connection: run statements through it, nest savepoints with `withSavepoint`.
///
/// Valid only inside the `withTransaction` body that received it.
public struct PostgresTransaction: Sendable {
    /// The connection the transaction runs on.
    public let connection: PostgresConnection

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Runs one statement and returns all its rows.
    /// - Parameter query: The statement; interpolated values are parameters.
    /// - Returns: The result.
    /// - Throws: `PostgresError` as `PostgresConnection.query(_:)`.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresQueryResult {
        try await connection.query(query)
    }

    /// Runs one statement and returns the number of rows it affected.
    /// - Parameter query: The statement; interpolated values are parameters.
    /// - Returns: The affected-row count.
    /// - Throws: `PostgresError` as `PostgresConnection.query(_:)`.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await connection.execute(query)
    }

    /// Runs statements in order in one round trip (``PostgresConnection/pipeline(_:)``): each with its own snapshot,
    /// so a statement sees what the ones before it did, and a lock taken by one protects the reads of the next.
    /// - Parameter queries: The statements; their texts must not depend on each other's results.
    /// - Returns: Each statement's result, in order.
    /// - Throws: `PostgresError` as `PostgresConnection.query(_:)`: the first failure (the statements after it do
    ///   not run, and the transaction is aborted).
    @discardableResult
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresQueryResult] {
        try await connection.pipeline(queries)
    }

    /// Runs `query` when the transaction commits, in the same round trip as COMMIT (and as BEGIN too, when it is the
    /// transaction's only statement): for a last statement whose result the caller does not need, such as the
    /// runtime's outbox INSERT. It runs after every statement the body runs. If it fails, the transaction is rolled
    /// back and `withTransaction` throws its error. One per transaction.
    /// - Parameter query: The statement.
    /// - Throws: `PostgresError` when a statement is already deferred in this transaction.
    public func executeAtCommit(_ query: PostgresQuery) async throws {
        try await connection.deferToCommit(query)
    }

    /// Runs `body` inside a savepoint: RELEASE when it returns; ROLLBACK TO the savepoint when it throws (the
    /// transaction's earlier work survives), then rethrows.
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - body: The work; it receives this transaction.
    /// - Returns: The body's result.
    /// - Throws: The body's error, or `PostgresError` from SAVEPOINT, RELEASE or ROLLBACK TO.
    @discardableResult
    public func withSavepoint<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresTransaction) async throws -> sending Result
    ) async throws -> sending Result {
        let name = await connection.nextSavepointName()
        try await connection.runTrusted("SAVEPOINT \(name)")
        let result: Result
        do {
            result = try await body(self)
        } catch {
            // Rethrow the body's error, the informative one. If rolling back fails too, the connection is broken or
            // the transaction aborted: later statements and COMMIT report it.
            try? await connection.runTrusted("ROLLBACK TO SAVEPOINT \(name)")
            try? await connection.runTrusted("RELEASE SAVEPOINT \(name)")
            throw error
        }
        try await connection.runTrusted("RELEASE SAVEPOINT \(name)")
        return result
    }

    /// Bulk-inserts rows with COPY FROM STDIN, inside this transaction.
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - table: The table.
    ///   - schema: The table's schema (default: the search path).
    ///   - columns: The columns each row fills, in order.
    ///   - rows: The rows; each has one value per column (`Optional.none` is NULL).
    /// - Returns: The number of rows stored.
    /// - Throws: `PostgresError` with code `copyFailed` (nothing stored) or `encodingFailed`.
    @discardableResult
    public func copyFrom<Rows: Sequence>(
        isolation: isolated (any Actor)? = #isolation,
        table: SQLIdentifier,
        schema: SQLIdentifier? = nil,
        columns: [SQLIdentifier],
        rows: Rows
    ) async throws -> Int where Rows.Element == [any PostgresEncodable] {
        try await connection.copyFrom(table: table, schema: schema, columns: columns, rows: rows)
    }
}
