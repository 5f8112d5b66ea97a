import Foundation
import HubCore
import HubStore

extension BenchWorkload {
    /// `sample.counter.increment.v1` against `huitong serve --roles sample` (the reference service). Keys are
    /// `bench-<run>-<0…255>` so that the counters of one run can be summed: `sum(applied)` must equal the number
    /// of unique commands (one effect each, duplicates none).
    public static let sample = BenchWorkload(
        name: "sample",
        roles: ["sample"],
        commandType: "sample.counter.increment.v1",
        completionEventType: "sample.counter.incremented.v1",
        makeCommand: { runID, index, _ in
            let id = MessageID.generate()
            return try Envelope(
                id: id,
                source: "urn:huitong:bench",
                type: MessageType("sample.counter.increment.v1"),
                dataSchema: "https://huitong.example.com/contracts/schemas/sample/counter-increment.v1.schema.json",
                data: ["key": .string("bench-\(runID)-\(index % 256)"), "amount": .number(JSONNumber(1 + index % 7))],
                correlationID: id.uuid
            )
        },
        checkEffects: { pool, runID, unique in
            let rows = try await pool.query(
                "SELECT coalesce(sum(applied), 0)::int8 FROM sample.counters WHERE key LIKE \("bench-\(runID)-%")"
            ).rows
            let applied = try rows.first?.decode(Int64.self, at: 0) ?? 0
            return applied == Int64(unique)
                ? [] : ["sample.counters applied \(applied) increments for \(unique) unique commands"]
        }
    )
}
