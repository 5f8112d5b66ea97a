public import Foundation
import HubCore
public import HubStore

/// One monthly partition of `audit.records`.
public struct AuditPartition: Sendable, Hashable {
    /// The table name, `records_yYYYYmMM`.
    public var name: String
    /// The UTC month, `YYYY-MM`.
    public var month: String
    /// Estimated rows (PostgreSQL statistics).
    public var estimatedRows: Int64
    /// When its newest possible record passes the retention period.
    public var expiresAt: Date
    /// Whether it may be dropped now.
    public var isExpired: Bool
}

/// What a partition drop did to one chain.
public struct AuditDropResult: Sendable, Hashable {
    /// The chain.
    public var chain: String
    /// The first and last dropped sequence.
    public var firstSequence: Int64
    /// The last dropped sequence.
    public var lastSequence: Int64
    /// Records dropped.
    public var count: Int64
    /// The retention record appended to the chain.
    public var retentionRecord: Int64
}

/// Retention of the audit log: monthly partitions (UTC), kept `retentionYears` (default 10, R-AML-10) after the
/// end of their month, dropped only by an explicit command that is itself recorded in the chain.
public enum AuditRetention {
    /// The default retention in years (R-AML-10).
    public static let defaultYears = 10

    /// The partitions, oldest first.
    /// - Parameters:
    ///   - pool: The database.
    ///   - retentionYears: The retention period.
    ///   - now: The current time.
    /// - Returns: The partitions.
    /// - Throws: `PostgresError`.
    public static func list(pool: PostgresPool, retentionYears: Int, now: Date = Date()) async throws -> [AuditPartition] {
        try await pool.query(
            """
            SELECT c.relname::text AS name, greatest(c.reltuples, 0)::bigint AS rows
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'audit.records'::regclass ORDER BY c.relname
            """
        ).rows.compactMap { row in
            let name = try row.decode(String.self, column: "name")
            guard let month = month(ofPartition: name), let expires = expiry(month: month, years: retentionYears) else {
                return nil
            }
            return AuditPartition(
                name: name, month: month, estimatedRows: try row.decode(Int64.self, column: "rows"), expiresAt: expires,
                isExpired: expires <= now)
        }
    }

    /// Drops the partition of `month` if its retention has passed, recording the drop in every chain it held
    /// records of (a `retention` record carrying the dropped range and its last hash, so the chain still verifies).
    /// - Parameters:
    ///   - store: The store.
    ///   - month: `YYYY-MM`.
    ///   - retentionYears: The retention period.
    ///   - actor: Who drops it (recorded).
    ///   - now: The current time.
    /// - Returns: What was dropped per chain.
    /// - Throws: ``AuditError`` `partitionNotFound` / `partitionNotExpired`; `PostgresError`.
    public static func drop(
        store: AuditStore, month: String, retentionYears: Int, actor: String, now: Date = Date()
    ) async throws -> [AuditDropResult] {
        guard let name = partitionName(month: month), let expires = expiry(month: month, years: retentionYears) else {
            throw AuditError(.partitionNotFound, "'\(month)' is not a month (write YYYY-MM)")
        }
        let partitions = try await list(pool: store.pool, retentionYears: retentionYears, now: now)
        guard partitions.contains(where: { $0.name == name }) else {
            throw AuditError(.partitionNotFound, "there is no audit partition for \(month)")
        }
        guard expires <= now else {
            throw AuditError(
                .partitionNotExpired,
                "the partition of \(month) is within the \(retentionYears)-year retention period until "
                    + "\(AuditTime.canonical(micros: AuditTime.micros(expires))) (R-AML-10); it was not dropped")
        }
        try await store.ensurePartition(containing: now)
        let table = try SQLIdentifier(name)
        return try await store.pool.withTransaction { transaction -> [AuditDropResult] in
            try await transaction.execute("LOCK TABLE audit.\(table) IN ACCESS EXCLUSIVE MODE")
            var results: [AuditDropResult] = []
            let ranges = try await transaction.query(
                "SELECT chain, min(seq) AS first, max(seq) AS last, count(*)::bigint AS n FROM audit.\(table) GROUP BY chain ORDER BY chain"
            ).rows
            for range in ranges {
                let chain = try range.decode(String.self, column: "chain")
                let first = try range.decode(Int64.self, column: "first")
                let last = try range.decode(Int64.self, column: "last")
                let count = try range.decode(Int64.self, column: "n")
                let lastHash = try await transaction.query(
                    "SELECT hash FROM audit.\(table) WHERE chain = \(chain) AND seq = \(last) LIMIT 1"
                ).rows[0].decode([UInt8].self, column: "hash")
                var body = JSONObject()
                body["action"] = "dropPartition"
                body["actor"] = .string(actor)
                body["partition"] = .string(name)
                body["month"] = .string(month)
                body["retentionYears"] = .number(JSONNumber(retentionYears))
                body["firstSeq"] = .number(JSONNumber(Int(first)))
                body["lastSeq"] = .number(JSONNumber(Int(last)))
                body["count"] = .number(JSONNumber(Int(count)))
                body["lastHash"] = .string(AuditStore.hex(lastHash))
                let record = try AuditIntake.internalRecord(
                    kind: .retention, exchange: "audit.retention", routingKey: "audit.partition.drop", body: .object(body))
                let appended = try await store.append([record], chain: chain, in: transaction)
                try await transaction.execute(
                    "DELETE FROM audit.fingerprints WHERE chain = \(chain) AND seq BETWEEN \(first) AND \(last)")
                try await transaction.execute(
                    "UPDATE audit.chain_heads SET dropped = dropped + \(count) WHERE chain = \(chain)")
                results.append(
                    AuditDropResult(
                        chain: chain, firstSequence: first, lastSequence: last, count: count,
                        retentionRecord: appended[0].sequence))
            }
            try await transaction.execute("SELECT audit.drop_partition(\(name))")
            return results
        }
    }

    /// `records_yYYYYmMM` → `YYYY-MM`.
    static func month(ofPartition name: String) -> String? {
        let bytes = Array(name.utf8)
        guard name.hasPrefix("records_y"), bytes.count == 16, bytes[13] == UInt8(ascii: "m") else { return nil }
        let year = String(decoding: bytes[9..<13], as: UTF8.self)
        let month = String(decoding: bytes[14..<16], as: UTF8.self)
        guard Int(year) != nil, let m = Int(month), (1...12).contains(m) else { return nil }
        return "\(year)-\(month)"
    }

    /// `YYYY-MM` → `records_yYYYYmMM`.
    static func partitionName(month: String) -> String? {
        let parts = month.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, Int(parts[0]) != nil,
            let m = Int(parts[1]), (1...12).contains(m)
        else { return nil }
        return "records_y\(parts[0])m\(parts[1])"
    }

    /// The end of the month (UTC) plus the retention years.
    static func expiry(month: String, years: Int) -> Date? {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1)),
            let end = calendar.date(byAdding: .month, value: 1, to: start)
        else { return nil }
        return calendar.date(byAdding: .year, value: years, to: end)
    }
}
