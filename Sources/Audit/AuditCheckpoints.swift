public import Foundation
import HubCore
public import HubCrypto
public import HubStore

/// The SM2 key that signs checkpoints, with its signer ID.
public struct AuditSigner: Sendable {
    /// The private key.
    public let key: SM2.PrivateKey
    /// The signer ID (default `huitong-audit`).
    public let signerID: SM2.SignerID

    /// Creates a signer.
    /// - Parameters:
    ///   - key: The private key.
    ///   - signerID: The signer ID (default `huitong-audit`).
    public init(key: SM2.PrivateKey, signerID: SM2.SignerID? = nil) throws {
        self.key = key
        self.signerID = try signerID ?? SM2.SignerID("huitong-audit")
    }
}

/// An SM2-signed statement of a chain's head: its last sequence, hash, record count and time.
///
/// The signed bytes are the canonical JSON of `{"chain", "count", "headHash" (hex), "headSeq", "signerId",
/// "time" (UTC, microseconds), "version": 1}`.
public struct AuditCheckpoint: Sendable, Hashable, Codable {
    /// The chain.
    public var chain: String
    /// The head's sequence.
    public var headSequence: Int64
    /// The head's hash, hex.
    public var headHash: String
    /// Records in the chain at that time (dropped partitions excluded).
    public var recordCount: Int64
    /// When it was made (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    public var time: String
    /// The SM2 signer ID.
    public var signerID: String
    /// The DER signature, base64.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case chain, headSequence = "headSeq", headHash, recordCount = "count", time, signerID = "signerId", signature
    }

    /// The signed bytes.
    public var payload: [UInt8] {
        JSONValue.object([
            "chain": .string(chain), "count": .number(JSONNumber(Int(recordCount))), "headHash": .string(headHash),
            "headSeq": .number(JSONNumber(Int(headSequence))), "signerId": .string(signerID), "time": .string(time),
            "version": 1,
        ]).canonicalBytes()
    }

    /// Whether the signature verifies under `publicKey`.
    /// - Parameter publicKey: The signer's public key.
    /// - Returns: True when valid.
    public func isValid(publicKey: SM2.PublicKey) -> Bool {
        guard let der = Data(base64Encoded: signature), let signature = try? SM2.Signature(derRepresentation: der),
            let id = try? SM2.SignerID(signerID)
        else { return false }
        return publicKey.isValidSignature(signature, for: payload, signerID: id)
    }
}

/// The exported form: the signer's public key and the checkpoints, oldest first.
public struct AuditCheckpointFile: Sendable, Hashable, Codable {
    /// `huitong.audit.checkpoints.v1`.
    public var format: String
    /// The signer's public key, PEM.
    public var publicKey: String
    /// The checkpoints.
    public var checkpoints: [AuditCheckpoint]

    /// Creates a file.
    public init(publicKey: String, checkpoints: [AuditCheckpoint]) {
        self.format = "huitong.audit.checkpoints.v1"
        self.publicKey = publicKey
        self.checkpoints = checkpoints
    }
}

/// Making, listing and exporting checkpoints.
public enum AuditCheckpoints {
    /// Signs the chain's current head and stores the checkpoint (under the chain lock, so the head and the count
    /// agree).
    /// - Parameters:
    ///   - store: The store.
    ///   - chain: The chain.
    ///   - signer: The signer.
    /// - Returns: The checkpoint, or nil when the chain is empty.
    /// - Throws: `PostgresError` or ``AuditError``.
    @discardableResult
    public static func create(store: AuditStore, chain: String, signer: AuditSigner) async throws -> AuditCheckpoint? {
        try await store.pool.withTransaction { transaction -> AuditCheckpoint? in
            try await transaction.execute(
                "SELECT pg_advisory_xact_lock(hashtext('huitong.audit.chain'), hashtext(\(chain)))")
            guard let head = try await transaction.query(
                "SELECT seq, hash, dropped FROM audit.chain_heads WHERE chain = \(chain)").rows.first
            else { return nil }
            let sequence = try head.decode(Int64.self, column: "seq")
            guard sequence > 0 else { return nil }
            // Sequences have no gaps, so the count needs no scan: every record ever chained minus those dropped.
            let count = sequence - (try head.decode(Int64.self, column: "dropped"))
            let micros = AuditTime.micros(Date())
            var checkpoint = AuditCheckpoint(
                chain: chain, headSequence: sequence,
                headHash: AuditStore.hex(try head.decode([UInt8].self, column: "hash")), recordCount: count,
                time: AuditTime.canonical(micros: micros), signerID: String(decoding: signer.signerID.bytes, as: UTF8.self),
                signature: "")
            let signature: SM2.Signature
            do { signature = try signer.key.signature(for: checkpoint.payload, signerID: signer.signerID) } catch {
                throw AuditError(.crypto, "signing the checkpoint failed", underlying: error)
            }
            checkpoint.signature = signature.derRepresentation.base64EncodedString()
            try await transaction.execute(
                """
                INSERT INTO audit.checkpoints (chain, head_seq, head_hash, record_count, created_at, payload, signature,
                    signer_id, public_key)
                VALUES (\(chain), \(sequence), \(try head.decode([UInt8].self, column: "hash")), \(count),
                    \(AuditTime.postgres(micros: micros))::timestamptz, \(checkpoint.payload),
                    \(Array(signature.derRepresentation)), \(checkpoint.signerID), \(try signer.key.publicKey.pemRepresentation))
                """)
            return checkpoint
        }
    }

    /// The stored checkpoints of a chain, oldest first.
    /// - Parameters:
    ///   - pool: The database.
    ///   - chain: The chain.
    /// - Returns: The checkpoints.
    /// - Throws: `PostgresError`.
    public static func list(pool: PostgresPool, chain: String) async throws -> [AuditCheckpoint] {
        try await pool.query(
            """
            SELECT head_seq, encode(head_hash, 'hex') AS head_hash, record_count,
                (extract(epoch FROM created_at) * 1000000)::bigint AS micros, signer_id, signature
            FROM audit.checkpoints WHERE chain = \(chain) ORDER BY head_seq, id
            """
        ).rows.map { row in
            AuditCheckpoint(
                chain: chain, headSequence: try row.decode(Int64.self, column: "head_seq"),
                headHash: try row.decode(String.self, column: "head_hash"),
                recordCount: try row.decode(Int64.self, column: "record_count"),
                time: AuditTime.canonical(micros: try row.decode(Int64.self, column: "micros")),
                signerID: try row.decode(String.self, column: "signer_id"),
                signature: Data(try row.decode([UInt8].self, column: "signature")).base64EncodedString())
        }
    }

    /// The export of a chain's checkpoints as signed JSON (pretty-printed, keys sorted).
    /// - Parameters:
    ///   - pool: The database.
    ///   - chain: The chain.
    ///   - publicKey: The signer's public key.
    /// - Returns: The JSON bytes.
    /// - Throws: `PostgresError` or an encoding error.
    public static func export(pool: PostgresPool, chain: String, publicKey: SM2.PublicKey) async throws -> Data {
        let file = AuditCheckpointFile(
            publicKey: try publicKey.pemRepresentation, checkpoints: try await list(pool: pool, chain: chain))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(file)
    }

    /// Reads an exported file.
    /// - Parameter data: The file's bytes.
    /// - Returns: The file.
    /// - Throws: ``AuditError`` `checkpointInvalid` when it is not a checkpoint export.
    public static func read(_ data: Data) throws -> AuditCheckpointFile {
        do {
            let file = try JSONDecoder().decode(AuditCheckpointFile.self, from: data)
            guard file.format == "huitong.audit.checkpoints.v1" else {
                throw AuditError(.checkpointInvalid, "the file's format is '\(file.format)', not huitong.audit.checkpoints.v1")
            }
            return file
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.checkpointInvalid, "the file is not a checkpoint export", underlying: error)
        }
    }
}
