import HubStore
import Testing

@Suite("Store: transactions and savepoints")
struct StoreTransactionTests {
    struct Planned: Error {}

    @Test("a transaction whose body throws leaves no row and rethrows the body's error")
    func rollbackOnThrow() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).ledger (id int8 PRIMARY KEY)")
            await #expect(throws: Planned.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.execute("INSERT INTO \(schema).ledger VALUES (\(1))")
                    try await transaction.execute("INSERT INTO \(schema).ledger VALUES (\(2))")
                    throw Planned()
                }
            }
            let count = try await pool.query("SELECT count(*) AS n FROM \(schema).ledger").rows[0].decode(
                Int.self,
                column: "n"
            )
            #expect(count == 0)
        }
    }

    @Test("a committed transaction keeps its rows and returns the body's value")
    func commit() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).ledger (id int8 PRIMARY KEY)")
            let inserted = try await pool.withTransaction { transaction in
                try await transaction.execute("INSERT INTO \(schema).ledger SELECT generate_series(1, \(3))")
            }
            #expect(inserted == 3)
            let count = try await pool.query("SELECT count(*) AS n FROM \(schema).ledger").rows[0].decode(
                Int.self,
                column: "n"
            )
            #expect(count == 3)
        }
    }

    @Test("a savepoint rollback keeps the outer transaction's rows")
    func savepointRollback() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).ledger (id int8 PRIMARY KEY)")
            try await pool.withTransaction { transaction in
                try await transaction.execute("INSERT INTO \(schema).ledger VALUES (\(1))")
                // A message whose handling fails: its rows go, the batch goes on.
                await #expect(throws: PostgresError.self) {
                    try await transaction.withSavepoint { inner in
                        try await inner.execute("INSERT INTO \(schema).ledger VALUES (\(2))")
                        try await inner.execute("INSERT INTO \(schema).ledger VALUES (\(1))")  // duplicate key
                    }
                }
                try await transaction.withSavepoint { inner in
                    try await inner.execute("INSERT INTO \(schema).ledger VALUES (\(3))")
                }
                try await transaction.execute("INSERT INTO \(schema).ledger VALUES (\(4))")
            }
            let ids = try await pool.query("SELECT id FROM \(schema).ledger ORDER BY id").rows.map {
                try $0.decode(Int.self, column: "id")
            }
            #expect(ids == [1, 3, 4])
        }
    }

    @Test("a swallowed statement error makes COMMIT fail instead of silently rolling back")
    func swallowedErrorFailsCommit() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).ledger (id int8 PRIMARY KEY)")
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.execute("INSERT INTO \(schema).ledger VALUES (\(1))")
                    _ = try? await transaction.execute("INSERT INTO \(schema).ledger VALUES (\(1))")
                }
            }
            #expect(error?.sqlState == "25P02")
            let count = try await pool.query("SELECT count(*) AS n FROM \(schema).ledger").rows[0].decode(
                Int.self,
                column: "n"
            )
            #expect(count == 0)
        }
    }
}
