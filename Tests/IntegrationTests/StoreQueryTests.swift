import Foundation
import HubStore
import Testing

@Suite("Store: queries and types against PostgreSQL")
struct StoreQueryTests {
    @Test("an injection-shaped string and a NULL are stored and read back unchanged")
    func injectionAndNull() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).people (id int8 PRIMARY KEY, name text, note text)")
            let name = "o'neil; DROP TABLE x; --"
            let note: String? = nil
            let inserted = try await pool.withConnection { connection in
                try await connection.execute(
                    "INSERT INTO \(schema).people (id, name, note) VALUES (\(1), \(name), \(note))"
                )
            }
            #expect(inserted == 1)
            let rows = try await pool.query("SELECT id, name, note FROM \(schema).people WHERE name = \(name)").rows
            #expect(rows.count == 1)
            #expect(try rows[0].decode(Int.self, column: "id") == 1)
            #expect(try rows[0].decode(String.self, column: "name") == name)
            #expect(try rows[0].decode(String?.self, column: "note") == nil)
            #expect(rows[0].isNull(at: 2))
            #expect(throws: PostgresError.self) { try rows[0].decode(String.self, column: "note") }
        }
    }

    @Test("every supported type round-trips exactly")
    func roundTrips() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query(
                """
                CREATE TABLE \(schema).everything (
                    s text, i int8, i32 int4, i64 int8, b bool, d numeric, t timestamptz, u uuid, bytes bytea,
                    j jsonb, missing int8
                )
                """
            )
            let decimal = try #require(Decimal(string: "12345678901234567890.123456789"))
            // 2024-03-01T08:30:00.123456+08:00, that is 2024-03-01T00:30:00.123456Z.
            let date = Date(timeIntervalSince1970: 1_709_253_000.123456)
            let uuid = UUID()
            let allBytes = (0...255).map { UInt8($0) }
            let json = PostgresJSON(#"{"amount": "100.00", "currency": "CNY", "tags": ["a", "b"]}"#)
            let missing: Int? = nil
            try await pool.query(
                """
                INSERT INTO \(schema).everything VALUES (\("汇通 ✓ \t\n\\"), \(Int.max), \(Int32.min), \(Int64.min), \
                \(true), \(decimal), \(date), \(uuid), \(allBytes), \(json), \(missing))
                """
            )
            let row = try #require(try await pool.query("SELECT * FROM \(schema).everything").rows.first)
            #expect(try row.decode(String.self, column: "s") == "汇通 ✓ \t\n\\")
            #expect(try row.decode(Int.self, column: "i") == Int.max)
            #expect(try row.decode(Int32.self, column: "i32") == Int32.min)
            #expect(try row.decode(Int64.self, column: "i64") == Int64.min)
            #expect(try row.decode(Bool.self, column: "b") == true)
            let readDecimal = try row.decode(Decimal.self, column: "d")
            #expect(readDecimal == decimal)
            #expect(readDecimal.description == "12345678901234567890.123456789")
            #expect(try row.decode(Date.self, column: "t") == date)
            // Read back in a session whose time zone is +08: the text form carries the offset.
            let shanghai = try await pool.withTransaction { transaction in
                try await transaction.query("SET LOCAL TIME ZONE 'Asia/Shanghai'")
                return try await transaction.query("SELECT t, t::text AS text FROM \(schema).everything").rows[0]
            }
            #expect(try shanghai.decode(String.self, column: "text") == "2024-03-01 08:30:00.123456+08")
            #expect(try shanghai.decode(Date.self, column: "t") == date)
            #expect(try row.decode(UUID.self, column: "u") == uuid)
            #expect(try row.decode([UInt8].self, column: "bytes") == allBytes)
            let readJSON = try row.decode(PostgresJSON.self, column: "j")
            struct Payload: Decodable, Equatable {
                var amount: String
                var currency: String
                var tags: [String]
            }
            #expect(try readJSON.decode(Payload.self) == Payload(amount: "100.00", currency: "CNY", tags: ["a", "b"]))
            #expect(try row.decode(Int?.self, column: "missing") == nil)

            // The server agrees on the values, not just our decoder.
            let check = try await pool.query(
                """
                SELECT d = 12345678901234567890.123456789 AS decimal_ok,
                       t = '2024-03-01 08:30:00.123456+08'::timestamptz AS time_ok,
                       length(bytes) AS byte_count, get_byte(bytes, 255) AS last_byte,
                       j->>'currency' AS currency
                FROM \(schema).everything
                """
            ).rows[0]
            #expect(try check.decode(Bool.self, column: "decimal_ok"))
            #expect(try check.decode(Bool.self, column: "time_ok"))
            #expect(try check.decode(Int.self, column: "byte_count") == 256)
            #expect(try check.decode(Int.self, column: "last_byte") == 255)
            #expect(try check.decode(String.self, column: "currency") == "CNY")
        }
    }

    @Test("a unique violation carries SQLSTATE 23505 and the constraint, not the values")
    func uniqueViolation() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query("CREATE TABLE \(schema).accounts (number text PRIMARY KEY)")
            try await pool.query("INSERT INTO \(schema).accounts VALUES (\("6222020200001234567"))")
            let error = await #expect(throws: PostgresError.self) {
                try await pool.query("INSERT INTO \(schema).accounts VALUES (\("6222020200001234567"))")
            }
            #expect(error?.code == .serverError)
            #expect(error?.isUniqueViolation == true)
            #expect(error?.sqlState == "23505")
            #expect(error?.server?.constraintName == "accounts_pkey")
            #expect(error?.description.contains("6222020200001234567") == false)
            #expect(error?.debugDescription.contains("6222020200001234567") == true)
        }
    }

    @Test("a value the Swift type cannot hold fails decoding with the column named")
    func decodingFailure() async throws {
        try await StoreSupport.withTestSchema { pool, _ in
            let row = try await pool.query("SELECT 3000000000::int8 AS big, 'x'::text AS word").rows[0]
            #expect(try row.decode(Int.self, column: "big") == 3_000_000_000)
            let error = #expect(throws: PostgresError.self) { try row.decode(Int32.self, column: "big") }
            #expect(error?.code == .decodingFailed)
            #expect(error?.description.contains("'big'") == true)
        }
    }

    @Test("a terminated backend is reported as connectionClosed and the pool replaces the connection")
    func brokenConnectionIsReplaced() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, _ in
            let firstPID = try await pool.query("SELECT pg_backend_pid() AS pid").rows[0].decode(
                Int32.self,
                column: "pid"
            )
            let error = await #expect(throws: PostgresError.self) {
                try await pool.query("SELECT pg_terminate_backend(pg_backend_pid())")
            }
            #expect(error?.code == .connectionClosed)
            let secondPID = try await pool.query("SELECT pg_backend_pid() AS pid").rows[0].decode(
                Int32.self,
                column: "pid"
            )
            #expect(secondPID != firstPID)
        }
    }

    @Test("an idle pooled connection that the server closed is replaced before it is handed out")
    func idleConnectionClosedByServer() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, _ in
            let firstPID = try await pool.query("SELECT pg_backend_pid() AS pid").rows[0].decode(
                Int32.self,
                column: "pid"
            )
            // Terminate the idle pooled connection from another session, and wait until it is gone.
            let admin = try await PostgresConnection.connect(
                configuration: try StoreSupport.configuration(),
                logger: StoreSupport.logger
            )
            try await admin.query("SELECT pg_terminate_backend(\(firstPID))")
            for _ in 0..<200 {
                let alive = try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(firstPID)")
                    .rows[0].decode(Int.self, column: "n")
                if alive == 0 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            await admin.close()
            // No error reaches the caller: the dead connection is discarded and a new one opened.
            let secondPID = try await pool.query("SELECT pg_backend_pid() AS pid").rows[0].decode(
                Int32.self,
                column: "pid"
            )
            #expect(secondPID != firstPID)
        }
    }
}
