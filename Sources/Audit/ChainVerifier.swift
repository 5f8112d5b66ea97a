import Foundation

/// How the chain is broken at a record.
public struct ChainBreak: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kind of break.
    public struct Kind: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The name (`edited`, `deleted`, `inserted`, `reordered`, `truncated`, `rewritten`, `badCheckpoint`).
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The record's content no longer matches its hash; its links are intact.
        public static let edited = Kind("edited")
        /// Records are missing: a gap in the sequence, or a record links to a predecessor that no longer exists.
        public static let deleted = Kind("deleted")
        /// A record that was never chained sits in the chain: its successor links past it, or it repeats a sequence.
        public static let inserted = Kind("inserted")
        /// A genuine record sits at another position than the one it was chained at.
        public static let reordered = Kind("reordered")
        /// The newest records are gone: the chain ends before a signed checkpoint's head.
        public static let truncated = Kind("truncated")
        /// The record at a signed checkpoint's head has another hash than the checkpoint says.
        public static let rewritten = Kind("rewritten")
        /// A checkpoint's signature does not verify.
        public static let badCheckpoint = Kind("badCheckpoint")
        /// The name.
        public var description: String { name }

        /// Decodes from the name.
        public init(from decoder: any Decoder) throws { name = try decoder.singleValueContainer().decode(String.self) }
        /// Encodes as the name.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(name)
        }
    }

    /// The kind.
    public var kind: Kind
    /// The sequence number of the first broken record (for `truncated`: the first missing one).
    public var sequence: Int64
    /// What was found, for an operator.
    public var detail: String

    /// Creates a break.
    public init(kind: Kind, sequence: Int64, detail: String) {
        self.kind = kind
        self.sequence = sequence
        self.detail = detail
    }

    /// `<kind> at sequence <n>: <detail>`.
    public var description: String { "\(kind) at sequence \(sequence): \(detail)" }
}

/// A dropped range of the chain, as the retention record that dropped it describes it.
public struct RetentionMarker: Sendable, Hashable, Codable {
    /// The first dropped sequence number.
    public var firstSequence: Int64
    /// The last dropped sequence number.
    public var lastSequence: Int64
    /// The hash of the last dropped record (the next record links to it).
    public var lastHash: [UInt8]

    /// Creates a marker.
    public init(firstSequence: Int64, lastSequence: Int64, lastHash: [UInt8]) {
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.lastHash = lastHash
    }
}

/// Checks records one by one, in sequence order, and diagnoses the first break.
///
/// Diagnosis, for a record `r` after `p` (the record before it) and `pp` (the one before that):
/// - `r` has the same sequence as `p` → **inserted** (`r` repeats a sequence);
/// - `r.sequence` skips numbers and no retention marker covers them with `r.previousHash` → **deleted**;
/// - `r.previousHash` is `pp.hash` → **inserted** (`p` was slipped in between);
/// - `r`'s content does not hash to `r.hash` at its sequence: if it does at another nearby sequence `s`, it was
///   moved: **reordered** when the record it links to exists, **deleted** when it does not (a deletion closed up by
///   renumbering); otherwise **edited**;
/// - the content hashes but `r.previousHash` is not `p.hash` → **reordered** when it names an existing record,
///   **deleted** when it names none.
public struct ChainVerifier: Sendable {
    /// Looks a hash up among the chain's records; returns its current sequence, or nil.
    public typealias Lookup = @Sendable ([UInt8]) async throws -> Int64?

    private var previous: (sequence: Int64, hash: [UInt8])?
    private var beforePrevious: (sequence: Int64, hash: [UInt8])?
    private var expectedSequence: Int64
    private var expectedPreviousHash: [UInt8]
    private let markers: [RetentionMarker]
    private let lookup: Lookup
    /// How far from its position a moved record is searched for.
    public var reorderWindow: Int64 = 64
    /// Records checked so far.
    public private(set) var checked = 0
    /// The last record checked: its sequence and hash.
    public var head: (sequence: Int64, hash: [UInt8])? { previous }

    /// Starts a check.
    /// - Parameters:
    ///   - firstSequence: The sequence the first record should have (1 for a whole chain).
    ///   - previousHash: The hash the first record should link to (``AuditRecord/genesisHash`` for sequence 1).
    ///   - markers: Ranges dropped by retention.
    ///   - lookup: Finds a record by hash (used only to diagnose a break).
    public init(
        firstSequence: Int64 = 1, previousHash: [UInt8] = AuditRecord.genesisHash, markers: [RetentionMarker] = [],
        lookup: @escaping Lookup
    ) {
        self.expectedSequence = firstSequence
        self.expectedPreviousHash = previousHash
        self.markers = markers
        self.lookup = lookup
    }

    /// Checks the next record.
    /// - Parameter record: The record, in sequence order.
    /// - Returns: The break at this record, or nil when it is sound.
    /// - Throws: ``AuditError`` when hashing or the lookup fails.
    public mutating func check(_ record: AuditRecord) async throws -> ChainBreak? {
        checked += 1
        defer {
            beforePrevious = previous
            previous = (record.sequence, record.hash)
            expectedSequence = record.sequence + 1
            expectedPreviousHash = record.hash
        }
        if let previous, record.sequence == previous.sequence {
            return ChainBreak(
                kind: .inserted, sequence: record.sequence,
                detail: "two records claim sequence \(record.sequence); one of them was never chained")
        }
        let selfConsistent = try record.computeHash() == record.hash
        if record.sequence > expectedSequence {
            let covered = markers.contains {
                $0.firstSequence <= expectedSequence && $0.lastSequence == record.sequence - 1
                    && $0.lastHash == record.previousHash
            }
            if covered && selfConsistent { return nil }
            let missing = record.sequence - expectedSequence
            return ChainBreak(
                kind: .deleted, sequence: expectedSequence,
                detail: "\(missing) record(s) missing: sequence \(expectedSequence)"
                    + (missing > 1 ? " to \(record.sequence - 1)" : "") + " (no retention record covers the gap)")
        }
        let linked = record.previousHash == expectedPreviousHash
        if !linked, let beforePrevious, record.previousHash == beforePrevious.hash, let previous {
            return ChainBreak(
                kind: .inserted, sequence: previous.sequence,
                detail: "record \(record.sequence) links to record \(beforePrevious.sequence): record "
                    + "\(previous.sequence) between them was never part of the chain")
        }
        if !selfConsistent {
            if let original = try originalSequence(of: record) {
                let target = try await lookup(record.previousHash)
                if target == nil && original > record.sequence {
                    return ChainBreak(
                        kind: .deleted, sequence: record.sequence,
                        detail: "the record now at sequence \(record.sequence) was chained as \(original); the "
                            + "record(s) before it were removed and the rest renumbered")
                }
                return ChainBreak(
                    kind: .reordered, sequence: record.sequence,
                    detail: "the record now at sequence \(record.sequence) was chained at sequence \(original)")
            }
            return ChainBreak(
                kind: .edited, sequence: record.sequence,
                detail: "its content no longer matches its hash" + (linked ? " (its links are intact)" : ""))
        }
        if !linked {
            if let target = try await lookup(record.previousHash) {
                return ChainBreak(
                    kind: .reordered, sequence: record.sequence,
                    detail: "it links to record \(target), not to record \(expectedSequence - 1) before it")
            }
            return ChainBreak(
                kind: .deleted, sequence: record.sequence,
                detail: "it links to a record that is no longer in the chain")
        }
        return nil
    }

    /// The other sequence, near the record's position, at which its content does hash to its stored hash.
    private func originalSequence(of record: AuditRecord) throws -> Int64? {
        for distance in 1...reorderWindow {
            for candidate in [record.sequence - distance, record.sequence + distance] where candidate >= 1 {
                if try record.computeHash(sequence: candidate) == record.hash { return candidate }
            }
        }
        return nil
    }
}
