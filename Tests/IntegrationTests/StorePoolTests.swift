import HubStore
import Testing

@Suite("Store: pool")
struct StorePoolTests {
    @Test("50 concurrent tasks on a pool of 4 all succeed, on at most 4 connections")
    func concurrentLeases() async throws {
        try await StoreSupport.withTestSchema(poolSize: 4) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).hits (task int8 PRIMARY KEY, pid int4)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<50 {
                    group.addTask { () async throws -> Void in
                        try await pool.withTransaction { transaction in
                            try await transaction.execute(
                                "INSERT INTO \(schema).hits VALUES (\(task), pg_backend_pid())"
                            )
                            try await transaction.query("SELECT pg_sleep(0.01)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let summary = try await pool.query(
                "SELECT count(*) AS n, count(DISTINCT pid) AS connections FROM \(schema).hits"
            ).rows[0]
            #expect(try summary.decode(Int.self, column: "n") == 50)
            #expect(try summary.decode(Int.self, column: "connections") <= 4)
            #expect(pool.statistics.open <= 4)
        }
    }

    @Test("a lease that cannot get a connection in time fails with poolExhausted")
    func exhausted() async throws {
        var configuration = try StoreSupport.configuration(poolSize: 1)
        configuration.poolAcquireTimeout = .seconds(1)
        let pool = PostgresPool(configuration: configuration, logger: StoreSupport.logger)
        let error = try await pool.withConnection { _ in
            await #expect(throws: PostgresError.self) {
                try await pool.withConnection { connection in try await connection.query("SELECT 1") }
            }
        }
        #expect(error?.code == .poolExhausted)
        // The held connection went back: the pool serves again.
        let one = try await pool.query("SELECT 1 AS one").rows[0].decode(Int.self, column: "one")
        #expect(one == 1)
        await pool.close()
        let closed = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(closed?.code == .poolClosed)
    }
}

@Suite("Store: pool shutdown")
struct StorePoolShutdownTests {
    actor Events {
        var list: [String] = []
        func append(_ event: String) { list.append(event) }
    }

    @Test("close() refuses new leases at once but waits for a leased connection to come back")
    func closeWaitsForLeases() async throws {
        let pool = PostgresPool(configuration: try StoreSupport.configuration(poolSize: 2), logger: StoreSupport.logger)
        let events = Events()
        let closer = try await pool.withConnection { connection -> Task<Void, Never> in
            try await connection.query("SELECT 1")
            let closer = Task {
                await pool.close()
                await events.append("closed")
            }
            // Until close() starts, the second connection serves; then leases fail with poolClosed.
            while true {
                do {
                    try await pool.query("SELECT 1")
                    try await Task.sleep(for: .milliseconds(5))
                } catch let error as PostgresError where error.code == .poolClosed {
                    break
                }
            }
            try await connection.query("SELECT 2")  // the leased connection still works
            await events.append("released")
            return closer
        }
        await closer.value
        #expect(await events.list == ["released", "closed"])
        #expect(pool.statistics.open == 0)
    }
}
