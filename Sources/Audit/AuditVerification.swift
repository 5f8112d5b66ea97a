import HubCore
public import HubCrypto
import HubStore

/// The result of `huitong audit verify`.
public struct AuditVerificationReport: Sendable, Hashable, Codable {
    /// The chain.
    public var chain: String
    /// Records checked.
    public var checked: Int
    /// The first and last sequence checked.
    public var firstSequence: Int64?
    /// The last sequence checked.
    public var lastSequence: Int64?
    /// Checkpoints checked (stored and from the file).
    public var checkpointsChecked: Int
    /// The first break found, if any (chain breaks first, then checkpoint findings).
    public var breaks: [ChainBreak]
    /// Whether stored checkpoints' signatures were checked (a trusted key was configured).
    public var signaturesChecked = false

    /// Whether nothing is broken.
    public var isIntact: Bool { breaks.isEmpty }

    /// Lines for an operator.
    public var lines: [String] {
        var lines = [
            "chain \(chain): \(checked) record(s) checked"
                + (firstSequence.map { " (sequence \($0) to \(lastSequence ?? $0))" } ?? "")
                + ", \(checkpointsChecked) checkpoint(s) checked"
        ]
        if !signaturesChecked && checkpointsChecked > 0 {
            lines.append("note: no trusted audit key configured: stored checkpoint signatures were not checked")
        }
        if breaks.isEmpty { lines.append("OK: the chain is intact") }
        for item in breaks { lines.append("BROKEN: \(item)") }
        return lines
    }
}

/// Verifies a chain in the database: recomputes every hash, checks links, sequence, retention markers, the
/// stored checkpoints, and optionally an exported checkpoint file (which detects truncation of the newest records).
public struct AuditVerifier: Sendable {
    /// The store.
    public let store: AuditStore
    /// The trusted checkpoint public key (from configuration); nil: the stored and file keys are taken as they are.
    public let trustedKey: SM2.PublicKey?
    /// Records read per query.
    public var pageSize = 5_000

    /// Creates a verifier.
    /// - Parameters:
    ///   - store: The store.
    ///   - trustedKey: The checkpoint signer's public key.
    public init(store: AuditStore, trustedKey: SM2.PublicKey?) {
        self.store = store
        self.trustedKey = trustedKey
    }

    /// Verifies `from ≤ seq ≤ to` of a chain.
    /// - Parameters:
    ///   - chain: The chain.
    ///   - from: The first sequence (default: the chain's start).
    ///   - to: The last sequence (default: the newest record).
    ///   - checkpointFile: An exported checkpoint file to check the chain against.
    /// - Returns: The report.
    /// - Throws: `PostgresError` or ``AuditError``.
    public func verify(
        chain: String, from: Int64? = nil, to: Int64? = nil, checkpointFile: AuditCheckpointFile? = nil
    ) async throws -> AuditVerificationReport {
        let pool = store.pool
        let maximum = try await pool.query(
            "SELECT coalesce(max(seq), 0)::bigint AS m FROM audit.records WHERE chain = \(chain)"
        ).rows[0].decode(Int64.self, column: "m")
        let upper = min(to ?? maximum, maximum)
        let markers = try await retentionMarkers(chain: chain)

        var startSequence: Int64 = 1
        var startHash = AuditRecord.genesisHash
        if let from, from > 1 {
            startSequence = from
            let before = try await store.records(chain: chain, from: from - 1, to: from - 1, limit: 1)
            if let before = before.first {
                startHash = before.record.hash
            } else if let first = try await store.records(chain: chain, from: from, to: upper, limit: 1).first {
                startHash = first.record.previousHash  // the record before is gone: the gap is judged from `from` on
                startSequence = first.record.sequence
            }
        }
        let lookupStore = store
        var verifier = ChainVerifier(
            firstSequence: startSequence, previousHash: startHash, markers: markers,
            lookup: { hash in try await lookupStore.sequence(ofHash: hash, chain: chain) })
        var report = AuditVerificationReport(
            chain: chain, checked: 0, firstSequence: nil, lastSequence: nil, checkpointsChecked: 0, breaks: [])
        report.signaturesChecked = trustedKey != nil
        var next = startSequence
        // Pages restart AT the last sequence seen (not after it), so that two rows claiming one sequence (an
        // insertion) are both read even when a page boundary falls between them; rows already seen are skipped.
        var lastSequence: Int64?
        var seenAtLast: Set<[UInt8]> = []
        pages: while next <= upper {
            let page = try await store.records(chain: chain, from: next, to: upper, limit: pageSize)
            var fresh = 0
            for stored in page {
                let record = stored.record
                if record.sequence == lastSequence && seenAtLast.contains(record.hash + record.body) { continue }
                fresh += 1
                if record.sequence != lastSequence {
                    lastSequence = record.sequence
                    seenAtLast = []
                }
                seenAtLast.insert(record.hash + record.body)
                if report.firstSequence == nil { report.firstSequence = record.sequence }
                report.lastSequence = record.sequence
                if let found = try await verifier.check(record) {
                    report.breaks.append(found)
                    break pages
                }
            }
            guard fresh > 0, let lastSequence else { break }
            next = lastSequence
        }
        report.checked = verifier.checked

        // Stored checkpoints: signature, and the record at the head still has the signed hash.
        func dropped(_ checkpoint: AuditCheckpoint) -> Bool {
            markers.contains { $0.firstSequence <= checkpoint.headSequence && checkpoint.headSequence <= $0.lastSequence }
        }
        for checkpoint in try await AuditCheckpoints.list(pool: pool, chain: chain)
        where checkpoint.headSequence >= startSequence && checkpoint.headSequence <= upper && !dropped(checkpoint) {
            report.checkpointsChecked += 1
            if let problem = try await check(checkpoint, key: trustedKey, maximum: maximum, chain: chain) {
                report.breaks.append(problem)
                break
            }
        }
        if let checkpointFile {
            let key: SM2.PublicKey
            do { key = try SM2.PublicKey(pemRepresentation: checkpointFile.publicKey) } catch {
                throw AuditError(.checkpointInvalid, "the checkpoint file's public key is not an SM2 key", underlying: error)
            }
            if let trustedKey, try trustedKey.derRepresentation != key.derRepresentation {
                throw AuditError(
                    .checkpointInvalid, "the checkpoint file was signed by another key than the configured audit key")
            }
            for checkpoint in checkpointFile.checkpoints where checkpoint.chain == chain && !dropped(checkpoint) {
                report.checkpointsChecked += 1
                if let problem = try await check(checkpoint, key: key, maximum: maximum, chain: chain) {
                    report.breaks.append(problem)
                    break
                }
            }
        }
        return report
    }

    private func check(_ checkpoint: AuditCheckpoint, key: SM2.PublicKey?, maximum: Int64, chain: String) async throws
        -> ChainBreak?
    {
        if let key, !checkpoint.isValid(publicKey: key) {
            return ChainBreak(
                kind: .badCheckpoint, sequence: checkpoint.headSequence,
                detail: "the checkpoint of \(checkpoint.time) does not verify under the audit key")
        }
        if maximum < checkpoint.headSequence {
            return ChainBreak(
                kind: .truncated, sequence: maximum + 1,
                detail: "the chain ends at sequence \(maximum) but a checkpoint signed at \(checkpoint.time) covers up "
                    + "to \(checkpoint.headSequence): the newest \(checkpoint.headSequence - maximum) record(s) were removed")
        }
        let records = try await store.records(chain: chain, from: checkpoint.headSequence, to: checkpoint.headSequence, limit: 2)
        guard let record = records.first else {
            return ChainBreak(
                kind: .deleted, sequence: checkpoint.headSequence,
                detail: "the record a checkpoint signed at \(checkpoint.time) covers is missing")
        }
        if AuditStore.hex(record.record.hash) != checkpoint.headHash.lowercased() {
            return ChainBreak(
                kind: .rewritten, sequence: checkpoint.headSequence,
                detail: "the record has another hash than the checkpoint signed at \(checkpoint.time): the chain up to "
                    + "it was rewritten")
        }
        return nil
    }

    /// The ranges dropped by retention, from the chain's retention records, merged where contiguous.
    func retentionMarkers(chain: String) async throws -> [RetentionMarker] {
        let rows = try await store.pool.query(
            "SELECT body FROM audit.records WHERE chain = \(chain) AND kind = 'retention' ORDER BY seq"
        ).rows
        var markers: [RetentionMarker] = []
        for row in rows {
            guard let value = try? JSONValue.parse(try row.decode([UInt8].self, column: "body")),
                let first = Self.integer(value["firstSeq"]), let last = Self.integer(value["lastSeq"]),
                let hash = value["lastHash"]?.stringValue.flatMap(Self.bytes(hex:))
            else { continue }
            markers.append(RetentionMarker(firstSequence: first, lastSequence: last, lastHash: hash))
        }
        markers.sort { $0.firstSequence < $1.firstSequence }
        var merged: [RetentionMarker] = []
        for marker in markers {
            if var last = merged.last, marker.firstSequence <= last.lastSequence + 1 {
                last.lastSequence = max(last.lastSequence, marker.lastSequence)
                if marker.lastSequence >= last.lastSequence { last.lastHash = marker.lastHash }
                merged[merged.count - 1] = last
            } else {
                merged.append(marker)
            }
        }
        return merged
    }

    static func integer(_ value: JSONValue?) -> Int64? {
        guard case .number(let number) = value else { return nil }
        return Int64(number.text)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard let byte = UInt8(String(decoding: utf8[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
            index += 2
        }
        return out
    }
}
