import Foundation
import HubStore
import Testing

@Suite("Store: COPY FROM STDIN")
struct StoreCopyTests {
    @Test("COPY of 100,000 rows stores them all, escaped values intact")
    func bulkCopy() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await pool.query(
                "CREATE TABLE \(schema).bulk (id int8 PRIMARY KEY, label text, amount numeric, note text)"
            )
            let tricky = "tab\there\\back\nnew\rline \\N"
            let total = 100_000
            let rows = (1...total).lazy.map { id -> [any PostgresEncodable] in
                let label: String = id == 777 ? tricky : "row \(id)"
                let amount: Decimal = Decimal(id) / 100
                let note: String? = id % 10 == 0 ? nil : "n"
                return [id, label, amount, note]
            }
            let start = ContinuousClock.now
            let stored = try await pool.withConnection { connection in
                try await connection.copyFrom(
                    table: try SQLIdentifier("bulk"),
                    schema: schema,
                    columns: [
                        try SQLIdentifier("id"), try SQLIdentifier("label"), try SQLIdentifier("amount"),
                        try SQLIdentifier("note"),
                    ],
                    rows: rows
                )
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = Int(Double(total) / seconds)
            print("HubStore COPY: \(total) rows in \(String(format: "%.2f", seconds)) s = \(rate) rows/s")
            #expect(stored == total)
            let summary = try await pool.query(
                "SELECT count(*) AS n, count(note) AS notes, sum(amount) AS total FROM \(schema).bulk"
            ).rows[0]
            #expect(try summary.decode(Int.self, column: "n") == total)
            #expect(try summary.decode(Int.self, column: "notes") == total - total / 10)
            #expect(try summary.decode(Decimal.self, column: "total") == Decimal(string: "50000500")!)
            let spot = try await pool.query("SELECT label FROM \(schema).bulk WHERE id = \(777)").rows[0]
            #expect(try spot.decode(String.self, column: "label") == tricky)
        }
    }

    @Test("one bad row fails the whole COPY with the server's report, and the connection stays usable")
    func badRowFailsAll() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).bulk (id int8 PRIMARY KEY, label text)")
            let rows: [[any PostgresEncodable]] = [[1, "a"], [2, "b"], [1, "duplicate"], [4, "d"]]
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    try await connection.copyFrom(
                        table: try SQLIdentifier("bulk"),
                        schema: schema,
                        columns: [try SQLIdentifier("id"), try SQLIdentifier("label")],
                        rows: rows
                    )
                }
            }
            #expect(error?.code == .copyFailed)
            #expect(error?.isUniqueViolation == true)
            let count = try await pool.query("SELECT count(*) AS n FROM \(schema).bulk").rows[0].decode(
                Int.self,
                column: "n"
            )
            #expect(count == 0)
        }
    }

    @Test("a row with the wrong number of values aborts the COPY before the server sees it")
    func wrongArity() async throws {
        try await StoreSupport.withTestSchema(poolSize: 1) { pool, schema in
            try await pool.query("CREATE TABLE \(schema).bulk (id int8, label text)")
            let rows: [[any PostgresEncodable]] = [[1, "a"], [2]]
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    try await connection.copyFrom(
                        table: try SQLIdentifier("bulk"),
                        schema: schema,
                        columns: [try SQLIdentifier("id"), try SQLIdentifier("label")],
                        rows: rows
                    )
                }
            }
            #expect(error?.code == .encodingFailed)
            let count = try await pool.query("SELECT count(*) AS n FROM \(schema).bulk").rows[0].decode(
                Int.self,
                column: "n"
            )
            #expect(count == 0)
        }
    }
}
