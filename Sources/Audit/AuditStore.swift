public import Foundation
public import HubStore
import Synchronization

/// The audit schema in PostgreSQL: appends records to a chain under its lock, reads them back in chain order.
///
/// **One writer per chain at a time.** Every append runs in a transaction that takes the chain's advisory lock
/// (`pg_advisory_xact_lock(hashtext('huitong.audit.chain'), hashtext(chain))`) and then locks the chain's row in
/// `audit.chain_heads`: concurrent sinks (several `huitong serve --roles audit` processes) and the reader's access
/// records are serialised, so the chain never forks; sequence numbers have no gaps because a failed transaction
/// rolls its numbers back with it.
public final class AuditStore: Sendable {
    /// The database.
    public let pool: PostgresPool
    private let clock: @Sendable () -> Date
    private let knownHeads = Mutex<Set<String>>([])
    private let knownMonths = Mutex<Set<String>>([])

    /// Creates a store.
    /// - Parameters:
    ///   - pool: The database pool.
    ///   - clock: The time source for `received_at` (tests inject old dates to exercise retention).
    public init(pool: PostgresPool, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.pool = pool
        self.clock = clock
    }

    /// Appends records to a chain in their own transaction; creates the month's partition if it is missing.
    /// - Parameters:
    ///   - prepared: The records, in arrival order.
    ///   - chain: The chain (`main` in production).
    /// - Returns: The chained records.
    /// - Throws: `PostgresError` or ``AuditError``; nothing is stored then.
    @discardableResult
    public func append(_ prepared: [PreparedRecord], chain: String) async throws -> [AuditRecord] {
        guard !prepared.isEmpty else { return [] }
        let month = AuditTime.month(micros: AuditTime.micros(clock()))
        if !knownMonths.withLock({ $0.contains(month) }) { try await ensurePartition(containing: clock()) }
        do {
            return try await pool.withTransaction { transaction in
                try await self.append(prepared, chain: chain, in: transaction)
            }
        } catch {
            // A missing partition (the month turned, or the head's time is ahead of ours): create it and retry once.
            let head = try await headTime(chain: chain)
            try await ensurePartition(containing: max(clock(), head))
            return try await pool.withTransaction { transaction in
                try await self.append(prepared, chain: chain, in: transaction)
            }
        }
    }

    /// Appends records to a chain inside the caller's transaction (the caller commits).
    /// - Parameters:
    ///   - prepared: The records, in order.
    ///   - chain: The chain.
    ///   - transaction: The open transaction.
    /// - Returns: The chained records.
    /// - Throws: `PostgresError` or ``AuditError``.
    @discardableResult
    public func append(_ prepared: [PreparedRecord], chain: String, in transaction: PostgresTransaction) async throws
        -> [AuditRecord]
    {
        if !knownHeads.withLock({ $0.contains(chain) }) {
            try await transaction.execute("INSERT INTO audit.chain_heads (chain) VALUES (\(chain)) ON CONFLICT DO NOTHING")
            knownHeads.withLock { _ = $0.insert(chain) }
        }
        try await transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtext('huitong.audit.chain'), hashtext(\(chain)))")
        guard let headRow = try await transaction.query(
            """
            SELECT seq, hash, (extract(epoch FROM received_at) * 1000000)::bigint AS micros
            FROM audit.chain_heads WHERE chain = \(chain) FOR UPDATE
            """
        ).rows.first else {
            // Its creation was rolled back with an earlier transaction: create it on the retry.
            knownHeads.withLock { _ = $0.remove(chain) }
            throw AuditError(.store, "the head of chain \(chain) is missing")
        }
        var sequence = try headRow.decode(Int64.self, column: "seq")
        var previousHash = try headRow.decode([UInt8].self, column: "hash")
        let micros = max(AuditTime.micros(clock()), try headRow.decode(Int64.self, column: "micros"))

        // Fingerprints: the first record of each distinct delivery claims it; later ones are repeats.
        var repeatOf: [Int: Int64] = [:]
        var firstInBatch: [[UInt8]: Int64] = [:]
        var claims: [(fingerprint: [UInt8], sequence: Int64)] = []
        for (offset, item) in prepared.enumerated() {
            guard let fingerprint = item.fingerprint else { continue }
            let itemSequence = sequence + Int64(offset) + 1
            if let first = firstInBatch[fingerprint] {
                repeatOf[offset] = first
            } else {
                firstInBatch[fingerprint] = itemSequence
                claims.append((fingerprint, itemSequence))
            }
        }
        if !claims.isEmpty {
            let fingerprints = claims.map { Self.hex($0.fingerprint) }.joined(separator: ",")
            let sequences = claims.map { String($0.sequence) }.joined(separator: ",")
            let inserted = try await transaction.query(
                """
                INSERT INTO audit.fingerprints (chain, fingerprint, seq)
                SELECT \(chain), decode(f, 'hex'), s::bigint
                FROM unnest(string_to_array(\(fingerprints), ','), string_to_array(\(sequences), ',')) AS t(f, s)
                ON CONFLICT DO NOTHING RETURNING encode(fingerprint, 'hex') AS f
                """
            ).rows.map { try $0.decode(String.self, column: "f") }
            let claimed = Set(inserted)
            let repeated = claims.filter { !claimed.contains(Self.hex($0.fingerprint)) }
            if !repeated.isEmpty {
                let list = repeated.map { Self.hex($0.fingerprint) }.joined(separator: ",")
                var earlier: [String: Int64] = [:]
                for row in try await transaction.query(
                    """
                    SELECT encode(fingerprint, 'hex') AS f, seq FROM audit.fingerprints
                    WHERE chain = \(chain) AND fingerprint IN (SELECT decode(x, 'hex') FROM unnest(string_to_array(\(list), ',')) AS x)
                    """
                ).rows {
                    earlier[try row.decode(String.self, column: "f")] = try row.decode(Int64.self, column: "seq")
                }
                for (offset, item) in prepared.enumerated() where repeatOf[offset] == nil {
                    guard let fingerprint = item.fingerprint, let first = earlier[Self.hex(fingerprint)] else { continue }
                    repeatOf[offset] = first
                }
            }
        }

        var records: [AuditRecord] = []
        records.reserveCapacity(prepared.count)
        for item in prepared {
            sequence += 1
            var record = item.record
            record.chain = chain
            record.sequence = sequence
            record.receivedMicros = micros
            record = try record.chained(after: previousHash)
            previousHash = record.hash
            records.append(record)
        }
        let receivedText = AuditTime.postgres(micros: micros)
        try await transaction.copyFrom(
            table: SQLIdentifier("records"), schema: SQLIdentifier("audit"),
            columns: try [
                "chain", "seq", "received_at", "kind", "exchange", "routing_key", "properties", "body", "body_sm3",
                "body_sealed", "malformed", "key_version", "redelivered", "message_id", "message_type",
                "correlation_id", "enterprise_id", "repeat_of", "prev_hash", "hash",
            ].map { try SQLIdentifier($0) },
            rows: records.enumerated().map { offset, record -> [any PostgresEncodable] in
                [
                    record.chain, record.sequence, receivedText, record.kind.name, record.exchange, record.routingKey,
                    record.properties, record.body, record.bodySM3, record.bodySealed, record.malformed,
                    record.keyVersion.map { Int64($0) }, record.redelivered, record.index.messageID,
                    record.index.messageType, record.index.correlationID, record.index.enterpriseID, repeatOf[offset],
                    record.previousHash, record.hash,
                ]
            }
        )
        try await transaction.execute(
            """
            UPDATE audit.chain_heads SET seq = \(sequence), hash = \(previousHash), received_at = \(receivedText)::timestamptz
            WHERE chain = \(chain)
            """
        )
        return records
    }

    /// Deletes fingerprints older than `age` (in chunks), so the redelivery index does not grow for ten years.
    /// - Parameters:
    ///   - chain: The chain.
    ///   - age: The age.
    /// - Returns: How many were deleted.
    /// - Throws: `PostgresError`.
    @discardableResult
    public func pruneFingerprints(chain: String, olderThan age: Duration) async throws -> Int {
        let cutoff = AuditTime.postgres(micros: AuditTime.micros(clock()) - age.components.seconds * 1_000_000)
        var total = 0
        while true {
            let deleted = try await pool.withConnection { connection in
                try await connection.execute(
                    """
                    DELETE FROM audit.fingerprints WHERE ctid IN (
                        SELECT ctid FROM audit.fingerprints
                        WHERE chain = \(chain) AND created_at < \(cutoff)::timestamptz LIMIT 10000)
                    """)
            }
            total += deleted
            if deleted < 10_000 { return total }
        }
    }

    /// Creates the partition of the UTC month containing `date` if it is missing.
    /// - Parameter date: A time in the month.
    /// - Throws: `PostgresError`.
    public func ensurePartition(containing date: Date) async throws {
        let text = AuditTime.postgres(micros: AuditTime.micros(date))
        // Creating a partition locks the parent table: against a concurrent partition drop, or another sink starting
        // at the same moment, PostgreSQL may pick this statement as a deadlock victim. It is idempotent: try again.
        var attempt = 0
        while true {
            do {
                try await pool.query("SELECT audit.ensure_partition(\(text)::timestamptz)")
                break
            } catch let error as PostgresError where attempt < 5 && (error.isDeadlock || error.isSerializationFailure) {
                attempt += 1
                try await Task.sleep(for: .milliseconds(50 << attempt))
            }
        }
        knownMonths.withLock { _ = $0.insert(AuditTime.month(micros: AuditTime.micros(date))) }
    }

    /// Creates this month's partition and the next `monthsAhead` ones.
    /// - Parameter monthsAhead: How many months ahead (default 3).
    /// - Throws: `PostgresError`.
    public func ensurePartitions(monthsAhead: Int = 3) async throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let now = clock()
        for offset in 0...max(monthsAhead, 0) {
            guard let date = calendar.date(byAdding: .month, value: offset, to: now) else { continue }
            try await ensurePartition(containing: date)
        }
    }

    /// The chain's head: its last sequence number and hash (0 and the genesis hash for an empty chain).
    /// - Parameter chain: The chain.
    /// - Returns: The head.
    /// - Throws: `PostgresError`.
    public func head(chain: String) async throws -> (sequence: Int64, hash: [UInt8]) {
        let rows = try await pool.query("SELECT seq, hash FROM audit.chain_heads WHERE chain = \(chain)").rows
        guard let row = rows.first else { return (0, AuditRecord.genesisHash) }
        return (try row.decode(Int64.self, column: "seq"), try row.decode([UInt8].self, column: "hash"))
    }

    private func headTime(chain: String) async throws -> Date {
        let rows = try await pool.query(
            "SELECT (extract(epoch FROM received_at) * 1000000)::bigint AS micros FROM audit.chain_heads WHERE chain = \(chain)"
        ).rows
        guard let row = rows.first else { return Date(timeIntervalSince1970: 0) }
        return Date(timeIntervalSince1970: Double(try row.decode(Int64.self, column: "micros")) / 1_000_000)
    }

    /// Records of a chain with `from ≤ seq ≤ to`, in chain order, at most `limit`.
    /// - Parameters:
    ///   - chain: The chain.
    ///   - from: The first sequence.
    ///   - to: The last sequence.
    ///   - limit: At most this many.
    /// - Returns: The records with their `repeat_of`.
    /// - Throws: `PostgresError` or ``AuditError`` for a row that cannot be read.
    public func records(chain: String, from: Int64, to: Int64, limit: Int) async throws -> [StoredRecord] {
        let rows = try await pool.query(
            """
            SELECT chain, seq, (extract(epoch FROM received_at) * 1000000)::bigint AS micros, kind, exchange, routing_key,
            properties, body, body_sm3, body_sealed, malformed, key_version, redelivered, message_id, message_type,
            correlation_id, enterprise_id, repeat_of, prev_hash, hash
            FROM audit.records WHERE chain = \(chain) AND seq >= \(from) AND seq <= \(to)
            ORDER BY seq, received_at LIMIT \(limit)
            """
        ).rows
        return try rows.map(Self.decode)
    }

    /// The sequence of the record with this hash, if any (used to diagnose breaks; a scan of the chain).
    /// - Parameters:
    ///   - hash: The hash.
    ///   - chain: The chain.
    /// - Returns: The sequence.
    /// - Throws: `PostgresError`.
    public func sequence(ofHash hash: [UInt8], chain: String) async throws -> Int64? {
        try await pool.query("SELECT seq FROM audit.records WHERE chain = \(chain) AND hash = \(hash) LIMIT 1")
            .rows.first?.decode(Int64.self, column: "seq")
    }

    /// A record with its non-hashed annotation.
    public struct StoredRecord: Sendable, Hashable {
        /// The record.
        public var record: AuditRecord
        /// The sequence of the first record with the same fingerprint, when this one repeats it.
        public var repeatOf: Int64?
    }

    static func decode(_ row: PostgresRow) throws -> StoredRecord {
        let kindName = try row.decode(String.self, column: "kind")
        guard let kind = AuditRecord.Kind(name: kindName) else {
            throw AuditError(.store, "a record has an unknown kind")
        }
        let record = AuditRecord(
            chain: try row.decode(String.self, column: "chain"),
            sequence: try row.decode(Int64.self, column: "seq"),
            receivedMicros: try row.decode(Int64.self, column: "micros"),
            kind: kind,
            exchange: try row.decode(String.self, column: "exchange"),
            routingKey: try row.decode(String.self, column: "routing_key"),
            properties: try row.decode([UInt8].self, column: "properties"),
            body: try row.decode([UInt8].self, column: "body"),
            bodySM3: try row.decode([UInt8].self, column: "body_sm3"),
            bodySealed: try row.decode(Bool.self, column: "body_sealed"),
            malformed: try row.decode(String?.self, column: "malformed"),
            keyVersion: try row.decode(Int64?.self, column: "key_version").map { UInt32(truncatingIfNeeded: $0) },
            redelivered: try row.decode(Bool.self, column: "redelivered"),
            index: AuditRecord.Index(
                messageID: try row.decode(String?.self, column: "message_id"),
                messageType: try row.decode(String?.self, column: "message_type"),
                correlationID: try row.decode(String?.self, column: "correlation_id"),
                enterpriseID: try row.decode(String?.self, column: "enterprise_id")),
            previousHash: try row.decode([UInt8].self, column: "prev_hash"),
            hash: try row.decode([UInt8].self, column: "hash"))
        return StoredRecord(record: record, repeatOf: try row.decode(Int64?.self, column: "repeat_of"))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
