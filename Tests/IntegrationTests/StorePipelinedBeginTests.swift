import Foundation
import HubStore
import Testing

/// A transaction's BEGIN is sent with its first statement (libpq pipeline mode): the statement must still run inside
/// the transaction, a failure must leave the connection usable, and an empty transaction must send nothing.
@Suite("Store: BEGIN travels with the first statement, a deferred statement with COMMIT (real PostgreSQL)")
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

    @Test("a first statement that fails while it is prepared still aborts the transaction: COMMIT then refuses")
    func failingPrepareAbortsTheTransaction() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).kept (n int)")
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { transaction in
                    // A text this connection has never prepared, naming a table that does not exist: its PREPARE fails.
                    _ = try? await transaction.execute("INSERT INTO \(schema).absent VALUES (\(Int32(1)))")
                    try await transaction.execute("INSERT INTO \(schema).kept VALUES (\(Int32(1)))")
                }
            }
            #expect(error?.sqlState == "25P02", "the swallowed failure aborted the transaction, as any failed statement does")
            #expect(try await pool.query("SELECT count(*) FROM \(schema).kept").rows[0].decode(Int64.self, at: 0) == 0)
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

    @Test("a statement deferred to commit runs after the body's statements, in the transaction, and is committed")
    func deferredRunsAtCommit() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).log (n int, seen bigint)")
            try await pool.withTransaction { transaction in
                // Deferred first, so it must still run last: it counts the row the body inserts after it.
                try await transaction.executeAtCommit(
                    "INSERT INTO \(schema).log SELECT \(Int32(2)), count(*) FROM \(schema).log")
                try await transaction.execute("INSERT INTO \(schema).log VALUES (\(Int32(1)), 0)")
            }
            let rows = try await pool.query("SELECT n, seen FROM \(schema).log ORDER BY n").rows.map {
                "\(try $0.decode(Int32.self, at: 0)):\(try $0.decode(Int64.self, at: 1))"
            }
            #expect(rows == ["1:0", "2:1"])
        }
    }

    @Test("a deferred statement that fails fails the commit with its error, rolls everything back, and the connection goes on")
    func deferredFailure() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).once (n int PRIMARY KEY)")
            try await pool.query("INSERT INTO \(schema).once VALUES (1)")
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.execute("INSERT INTO \(schema).once VALUES (\(Int32(2)))")
                    try await transaction.executeAtCommit("INSERT INTO \(schema).once VALUES (\(Int32(1)))")
                }
            }
            #expect(error?.isUniqueViolation == true)
            let rows = try await pool.query("SELECT n FROM \(schema).once ORDER BY n").rows.map { try $0.decode(Int32.self, at: 0) }
            #expect(rows == [1], "the body's insert was rolled back with the failed deferred one")
            let refused = await #expect(throws: PostgresError.self) { try await pool.query("SAVEPOINT after_failure") }
            #expect(refused?.sqlState == "25P01", "no transaction block is left open on the connection")
        }
    }

    @Test("a deferred statement alone sends BEGIN, itself and COMMIT together; a second one in the same transaction is refused")
    func deferredAlone() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).alone (n int)")
            try await pool.withTransaction { transaction in
                try await transaction.executeAtCommit("INSERT INTO \(schema).alone VALUES (\(Int32(5)))")
            }
            #expect(try await pool.query("SELECT count(*) FROM \(schema).alone").rows[0].decode(Int64.self, at: 0) == 1)
            await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.executeAtCommit("INSERT INTO \(schema).alone VALUES (\(Int32(6)))")
                    try await transaction.executeAtCommit("INSERT INTO \(schema).alone VALUES (\(Int32(7)))")
                }
            }
            #expect(try await pool.query("SELECT count(*) FROM \(schema).alone").rows[0].decode(Int64.self, at: 0) == 1)
        }
    }

    @Test("a body that throws after deferring a statement runs nothing of it")
    func deferredThenThrow() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).never (n int)")
            await #expect(throws: Abort.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.executeAtCommit("INSERT INTO \(schema).never VALUES (\(Int32(1)))")
                    throw Abort()
                }
            }
            #expect(try await pool.query("SELECT count(*) FROM \(schema).never").rows[0].decode(Int64.self, at: 0) == 0)
        }
    }
}
