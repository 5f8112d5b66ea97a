import Foundation
import HubStore
import Testing

@Suite("Store: repeated statements are prepared once per connection (real PostgreSQL)")
struct StorePreparedStatementTests {
    /// The statements this session has prepared, by text (`pg_prepared_statements` is per session).
    static func preparedTexts(_ connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'huitong\\_%' ORDER BY prepare_time"
        ).rows.map { try $0.decode(String.self, at: 0) }
    }

    static func withConnection<T>(
        preparedStatements: Bool = true, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        var configuration = try StoreSupport.configuration()
        configuration.preparedStatements = preparedStatements
        let connection = try await PostgresConnection.connect(configuration: configuration, logger: StoreSupport.logger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    @Test("a query run three times is prepared once and answers with each run's parameters")
    func preparedOnce() async throws {
        try await Self.withConnection { connection in
            var answers: [Int64] = []
            for n in [Int64(1), 2, 3] {
                answers.append(try await connection.query("SELECT \(n)::int8 * 10").rows[0].decode(Int64.self, at: 0))
            }
            #expect(answers == [10, 20, 30])
            let texts = try await Self.preparedTexts(connection)
            #expect(texts.filter { $0.contains("* 10") }.count == 1, "\(texts)")
        }
    }

    @Test("transaction control and DDL are never prepared")
    func onlyQueriesAndDML() async throws {
        try await Self.withConnection { connection in
            try await connection.withTransaction { transaction in
                try await transaction.execute("CREATE TEMPORARY TABLE prepared_probe (a int) ON COMMIT DROP")
                try await transaction.execute("INSERT INTO prepared_probe VALUES (\(Int32(1)))")
            }
            let texts = try await Self.preparedTexts(connection)
            #expect(texts.contains { $0.hasPrefix("INSERT INTO prepared_probe") })
            #expect(!texts.contains { $0.hasPrefix("CREATE") || $0 == "BEGIN" || $0 == "COMMIT" }, "\(texts)")
        }
    }

    @Test("a prepared statement whose result type changed under it fails once, then is prepared again")
    func invalidatedByDDL() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).widened (a int)")
            try await pool.query("INSERT INTO \(schema).widened VALUES (1)")
            try await Self.withConnection { connection in
                let select: PostgresQuery = "SELECT * FROM \(schema).widened"
                #expect(try await connection.query(select).columns.count == 1)
                try await connection.query("ALTER TABLE \(schema).widened ADD COLUMN b int")
                // PostgreSQL refuses to run a cached plan whose row type changed (SQLSTATE 0A000)…
                let error = await #expect(throws: PostgresError.self) { try await connection.query(select) }
                #expect(error?.sqlState == "0A000")
                // …and the connection forgets it, so the next run prepares the new shape.
                #expect(try await connection.query(select).columns.count == 2)
            }
        }
    }

    @Test("prepared_statements=off in the URL runs every statement unnamed")
    func turnedOff() async throws {
        let configuration = try PostgresConfiguration(url: "postgres://u@h/db?prepared_statements=off")
        #expect(!configuration.preparedStatements)
        #expect(configuration.redactedDescription.hasSuffix("&prepared_statements=off"))
        #expect(try PostgresConfiguration(url: "postgres://u@h/db").preparedStatements)
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "postgres://u@h/db?prepared_statements=maybe") }
        try await Self.withConnection(preparedStatements: false) { connection in
            for n in [Int32(1), 2] { _ = try await connection.query("SELECT \(n) + 1") }
            #expect(try await Self.preparedTexts(connection).isEmpty)
        }
    }
}
