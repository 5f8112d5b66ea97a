import Foundation
import HubStore
import Testing

/// Several statements sent together (`pipeline`): one round trip, each statement with its own snapshot, the first
/// failure reported and the rest not run.
@Suite("Store: statements in one pipeline (real PostgreSQL)")
struct StorePipelineTests {
    @Test("in a transaction: results in order, each statement sees the ones before it, and it all commits")
    func inOrderInATransaction() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).rows (n int)")
            let counted = try await pool.withTransaction { transaction in
                // The transaction's first statements: its BEGIN travels with them.
                let results = try await transaction.pipeline([
                    "INSERT INTO \(schema).rows VALUES (\(Int32(1))), (\(Int32(2)))",
                    "SELECT count(*) FROM \(schema).rows",
                    "INSERT INTO \(schema).rows VALUES (\(Int32(3)))",
                    "SELECT n FROM \(schema).rows ORDER BY n",
                ])
                #expect(results.count == 4)
                #expect(results[0].affectedRows == 2)
                #expect(results[2].affectedRows == 1)
                #expect(try results[3].rows.map { try $0.decode(Int32.self, at: 0) } == [1, 2, 3])
                return try results[1].rows[0].decode(Int64.self, at: 0)
            }
            #expect(counted == 2, "the count ran after the first insert, before the second")
            #expect(try await pool.query("SELECT count(*) FROM \(schema).rows").rows[0].decode(Int64.self, at: 0) == 3)
        }
    }

    @Test("a failing statement is reported; the ones after it do not run, the transaction is rolled back, the connection is reused")
    func failureInTheMiddle() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).rows (n int PRIMARY KEY)")
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.pipeline([
                        "INSERT INTO \(schema).rows VALUES (\(Int32(1)))",
                        "INSERT INTO \(schema).rows VALUES (\(Int32(1)))",
                        "INSERT INTO \(schema).rows VALUES (\(Int32(2)))",
                    ])
                }
            }
            #expect(error?.isUniqueViolation == true, "the second statement's error, not the skipped third's")
            #expect(try await pool.query("SELECT count(*) FROM \(schema).rows").rows[0].decode(Int64.self, at: 0) == 0)
            // The one pooled connection is out of pipeline mode and out of the transaction block.
            let refused = await #expect(throws: PostgresError.self) { try await pool.query("SAVEPOINT after_failure") }
            #expect(refused?.sqlState == "25P01")
        }
    }

    @Test("outside a transaction the statements are one implicit transaction: a failure leaves nothing")
    func implicitTransaction() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).rows (n int)")
            await #expect(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    try await connection.pipeline([
                        "INSERT INTO \(schema).rows VALUES (\(Int32(1)))",
                        "INSERT INTO \(schema).absent VALUES (\(Int32(1)))",
                    ])
                }
            }
            #expect(try await pool.query("SELECT count(*) FROM \(schema).rows").rows[0].decode(Int64.self, at: 0) == 0)
            let results = try await pool.withConnection { connection in
                try await connection.pipeline([
                    "INSERT INTO \(schema).rows VALUES (\(Int32(4)))", "SELECT count(*) FROM \(schema).rows",
                ])
            }
            #expect(try results[1].rows[0].decode(Int64.self, at: 0) == 1)
        }
    }

    /// What the payments handlers rely on: a lock statement, then a read in the same pipeline. The read's snapshot
    /// is taken when it starts, after the lock is granted, so it sees what the lock's previous holder committed.
    @Test("a read after a lock statement in the same pipeline sees what the lock's previous holder committed")
    func lockThenReadSeesTheHoldersCommit() async throws {
        try await StoreSupport.withTestSchema(poolSize: 3) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).rows (n int)")
            let key = "pipeline-test:\(UUID().uuidString)"
            let holder = try await PostgresConnection.connect(
                configuration: try StoreSupport.configuration(), logger: StoreSupport.logger)
            try await holder.query("BEGIN")
            try await holder.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))")
            try await holder.query("INSERT INTO \(schema).rows VALUES (\(Int32(1)))")
            let waiter = Task {
                try await pool.withTransaction { transaction in
                    try await transaction.pipeline([
                        "SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))",
                        "SELECT count(*) FROM \(schema).rows",
                    ])[1].rows[0].decode(Int64.self, at: 0)
                }
            }
            // Commit only once the waiter is blocked on the lock (its pipeline already sent).
            var waiting = false
            for _ in 0..<500 where !waiting {
                waiting = try await pool.query(
                    """
                    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                    AND ((classid::int8 << 32) | objid::int8) = hashtextextended(\(key), 0)
                    """
                ).rows[0].decode(Int64.self, at: 0) > 0
                if !waiting { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(waiting, "the waiter never blocked on the lock")
            try await holder.query("COMMIT")
            await holder.close()
            #expect(try await waiter.value == 1, "the read ran with a snapshot taken after the lock was granted")
        }
    }
}
