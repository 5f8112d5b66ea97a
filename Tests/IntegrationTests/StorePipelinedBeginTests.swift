import Foundation
import HubStore
import Testing

/// A transaction's BEGIN is sent with its first statement (libpq pipeline mode): the statement must still run inside
/// the transaction, a failure must leave the connection usable, and an empty transaction must send nothing.
@Suite("Store: BEGIN travels with the transaction's first statement (real PostgreSQL)")
struct StorePipelinedBeginTests {
    struct Abort: Error {}

    @Test("the first statement runs inside the transaction: a rollback undoes it")
    func firstStatementIsTransactional() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).rows (n int)")
            await #expect(throws: Abort.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.execute("INSERT INTO \(schema).rows VALUES (\(Int32(1)))")
                    throw Abort()
                }
            }
            try await pool.withTransaction { transaction in
                try await transaction.execute("INSERT INTO \(schema).rows VALUES (\(Int32(2)))")
                // Inside a transaction block, not an implicit one: SAVEPOINT is accepted only there.
                try await transaction.execute("SAVEPOINT inside_block")
            }
            let rows = try await pool.query("SELECT n FROM \(schema).rows ORDER BY n").rows.map { try $0.decode(Int32.self, at: 0) }
            #expect(rows == [2])
        }
    }

    @Test("a first statement that fails is reported and the connection runs the next transaction")
    func failingFirstStatement() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.execute("INSERT INTO \(schema).missing VALUES (\(Int32(1)))")
                }
            }
            #expect(error?.sqlState == "42P01")
            // One connection in the pool: the same connection, out of pipeline mode and out of the transaction.
            let value = try await pool.withTransaction { transaction in
                try await transaction.query("SELECT \(Int32(7)) + 1").rows[0].decode(Int32.self, at: 0)
            }
            #expect(value == 8)
        }
    }

    @Test("a transaction with no statement commits nothing and leaves the connection idle")
    func emptyTransaction() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, _ in
            try await pool.withTransaction { _ in }
            // The same (only) connection is outside any transaction block: SAVEPOINT is refused there (25P01).
            let error = await #expect(throws: PostgresError.self) { try await pool.query("SAVEPOINT after_empty") }
            #expect(error?.sqlState == "25P01")
        }
    }
}
