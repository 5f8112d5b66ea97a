public import AuditSink
public import Configuration
public import Foundation
import HubCore
public import HubCrypto
import HubStore
public import Logging

/// The audit role's configuration: every key is optional (`huitong.audit.<key>`, env `HUITONG_AUDIT_<KEY>`).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `chain` | `main` | the chain appended to and read |
/// | `queue` | `tap.audit` | the tap queue |
/// | `binding-pattern` | `#` | the tap's binding on each exchange (leave `#`; tests narrow it) |
/// | `batch-size` | 256 | most deliveries per transaction (1–10000) |
/// | `batch-wait-ms` | 20 | how long a batch waits for more after its first delivery (0–10000) |
/// | `checkpoint-interval` | 300 | seconds between signed checkpoints; 0 disables |
/// | `partitions-ahead` | 3 | monthly partitions created ahead (0–24) |
/// | `retention-years` | 10 | R-AML-10 (1–100) |
/// | `signing-key` | — | PEM file of the SM2 checkpoint key (dev: generated in `key-dir`) |
/// | `signer-id` | `huitong-audit` | SM2 signer ID |
/// | `public-key` | — | PEM public key trusted by `audit verify` (default: the signing key's) |
/// | `master-key` | — (secret) | SM4 master key, 32 or 64 hex digits (dev: generated in `key-dir`) |
/// | `master-key-version` | 1 | the master key's version |
/// | `previous-master-keys` | — (secret) | older keys still opening records: `VERSION:HEX,…` |
/// | `key-dir` | `.local/keys/audit` | where development keys are generated |
/// | `sensitive-fields` | `default` | `default;TYPE=POINTER,POINTER;…` |
/// | `seal-malformed` | true | seal bodies that are not JSON whole |
public struct AuditSettings: Sendable {
    /// The chain.
    public var chain = "main"
    /// The tap queue.
    public var queue = "tap.audit"
    /// The binding pattern on the three exchanges (`#`; only tests narrow it).
    public var bindingPattern = "#"
    /// Deliveries per transaction.
    public var batchSize = 256
    /// Batch wait.
    public var batchWait: Duration = .milliseconds(20)
    /// Checkpoint interval (nil: off).
    public var checkpointInterval: Duration? = .seconds(300)
    /// Partitions ahead.
    public var partitionsAhead = 3
    /// Retention in years.
    public var retentionYears = AuditRetention.defaultYears
    /// SM2 key PEM path.
    public var signingKeyPath: String?
    /// SM2 signer ID.
    public var signerID = "huitong-audit"
    /// A PEM public key that verifies checkpoints (auditors who hold no private key).
    public var publicKeyPath: String?
    /// SM4 master key (hex).
    public var masterKeyHex: String?
    /// Its version.
    public var masterKeyVersion: UInt32 = 1
    /// Older keys.
    public var previousMasterKeys: String?
    /// Development key directory.
    public var keyDirectory = ".local/keys/audit"
    /// Sensitive fields.
    public var sensitiveFields = SensitiveFields.default
    /// Seal malformed bodies.
    public var sealMalformed = true

    /// Reads and validates the keys.
    /// - Parameter reader: The configuration reader.
    /// - Throws: ``HubAppError`` naming the key that is wrong.
    public init(reader: ConfigReader) throws {
        func value(_ key: String, secret: Bool = false) -> String? {
            guard let text = reader.string(forKey: ConfigKey("huitong.audit.\(key)"), isSecret: secret)?
                .trimmingCharacters(in: .whitespaces), !text.isEmpty
            else { return nil }
            return text
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = value(key) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw HubAppError.invalidConfiguration(
                    key: "huitong.audit.\(key)", "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        if let text = value("chain") { chain = text }
        if let text = value("queue") { queue = text }
        if let text = value("binding-pattern") { bindingPattern = text }
        batchSize = try integer("batch-size", 1...10_000) ?? batchSize
        if let ms = try integer("batch-wait-ms", 0...10_000) { batchWait = .milliseconds(ms) }
        if let seconds = try integer("checkpoint-interval", 0...86_400) {
            checkpointInterval = seconds == 0 ? nil : .seconds(seconds)
        }
        partitionsAhead = try integer("partitions-ahead", 0...24) ?? partitionsAhead
        retentionYears = try integer("retention-years", 1...100) ?? retentionYears
        signingKeyPath = value("signing-key")
        publicKeyPath = value("public-key")
        if let text = value("signer-id") { signerID = text }
        masterKeyHex = value("master-key", secret: true)
        if let version = try integer("master-key-version", 0...Int(Int32.max)) { masterKeyVersion = UInt32(version) }
        previousMasterKeys = value("previous-master-keys", secret: true)
        if let text = value("key-dir") { keyDirectory = text }
        if let text = value("sensitive-fields") {
            do { sensitiveFields = try SensitiveFields(configuration: text) } catch {
                throw HubAppError.invalidConfiguration(key: "huitong.audit.sensitive-fields", "is malformed: \(error)")
            }
        }
        if let text = value("seal-malformed") {
            guard let flag = Bool(text.lowercased()) else {
                throw HubAppError.invalidConfiguration(key: "huitong.audit.seal-malformed", "must be true or false")
            }
            sealMalformed = flag
        }
    }

    /// The SM4 keyring.
    /// - Parameters:
    ///   - generate: Generate a development key when none exists (the sink only; readers must not invent a key).
    ///   - logger: Where the development-key warning goes.
    /// - Returns: The keyring.
    /// - Throws: ``HubAppError`` naming the master-key keys.
    public func keyring(generate: Bool = true, logger: Logger) throws -> SM4.Keyring {
        do {
            return try AuditKeys.keyring(
                masterKeyHex: masterKeyHex, version: masterKeyVersion, previous: previousMasterKeys,
                directory: keyDirectory, generate: generate, logger: logger)
        } catch {
            throw HubAppError.invalidConfiguration(key: "huitong.audit.master-key", "is not usable: \(error)")
        }
    }

    /// The key `audit verify` trusts: `public-key`, else the signing key's public half, else none (checkpoint
    /// signatures are then not checked, and the report says so).
    /// - Parameter logger: The logger.
    /// - Returns: The key, or nil.
    /// - Throws: ``HubAppError`` when `public-key` is set but unreadable.
    public func trustedPublicKey(logger: Logger) throws -> SM2.PublicKey? {
        if let publicKeyPath {
            guard let text = try? String(contentsOfFile: publicKeyPath, encoding: .utf8),
                let key = try? SM2.PublicKey(pemRepresentation: text)
            else {
                throw HubAppError.invalidConfiguration(key: "huitong.audit.public-key", "is not a readable SM2 public key (PEM)")
            }
            return key
        }
        return try? signer(generate: false, logger: logger).key.publicKey
    }

    /// The checkpoint signer.
    /// - Parameters:
    ///   - generate: Generate a development key when none exists (the sink only).
    ///   - logger: Where the development-key warning goes.
    /// - Returns: The signer.
    /// - Throws: ``HubAppError`` naming the signing-key key.
    public func signer(generate: Bool = true, logger: Logger) throws -> AuditSigner {
        do {
            let key = try AuditKeys.signingKey(
                path: signingKeyPath, directory: keyDirectory, generate: generate, logger: logger)
            return try AuditSigner(key: key, signerID: try SM2.SignerID(signerID))
        } catch {
            throw HubAppError.invalidConfiguration(key: "huitong.audit.signing-key", "is not usable: \(error)")
        }
    }
}

/// `huitong audit …`: verify, checkpoints, query, export, partitions.
public enum HubAudit {
    /// The query API the gateway serves at `GET /v1/audit`: a reader on the process's pool with the configured
    /// keyring. The gateway decides `Reader.canUnmask` from the caller's `audit:unmask` permission.
    /// - Parameter context: The role context.
    /// - Returns: The reader and the chain to query.
    /// - Throws: ``HubAppError`` for bad audit configuration.
    public static func reader(context: RoleContext) throws -> (reader: AuditReader, chain: String) {
        let settings = try AuditSettings(reader: context.reader)
        return (AuditReader(pool: context.pool, keyring: try settings.keyring(logger: context.logger)), settings.chain)
    }

    static func withStore<T: Sendable>(
        _ configuration: HubConfiguration, logger: Logger, _ body: (AuditStore, AuditSettings) async throws -> T
    ) async throws -> T {
        let settings = try AuditSettings(reader: configuration.reader)
        let postgres = try Connections.postgres(configuration)
        let pool = PostgresPool(configuration: postgres, logger: logger)
        do {
            let result = try await body(AuditStore(pool: pool), settings)
            await pool.close()
            return result
        } catch let error as HubAppError {
            await pool.close()
            throw error
        } catch let error as AuditError {
            await pool.close()
            throw HubAppError(.invalidConfiguration, error.description, underlying: error)
        } catch {
            await pool.close()
            throw HubAppError.database(error, configuration: postgres)
        }
    }

    /// `huitong audit verify`: the report and whether the chain is intact.
    public static func verify(
        configuration: HubConfiguration, from: Int64?, to: Int64?, checkpointFile: String?, json: Bool, logger: Logger
    ) async throws -> (lines: [String], intact: Bool) {
        try await withStore(configuration, logger: logger) { store, settings in
            let file = try checkpointFile.map { path -> AuditCheckpointFile in
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw HubAppError(.invalidConfiguration, "cannot read the checkpoint file \(path)")
                }
                return try AuditCheckpoints.read(data)
            }
            let trusted = try settings.trustedPublicKey(logger: logger)
            let report = try await AuditVerifier(store: store, trustedKey: trusted).verify(
                chain: settings.chain, from: from, to: to, checkpointFile: file)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return ([String(decoding: try encoder.encode(report), as: UTF8.self)], report.isIntact)
            }
            return (report.lines, report.isIntact)
        }
    }

    /// `huitong audit checkpoint create`: signs the head now.
    public static func createCheckpoint(configuration: HubConfiguration, logger: Logger) async throws -> [String] {
        try await withStore(configuration, logger: logger) { store, settings in
            guard let checkpoint = try await AuditCheckpoints.create(
                store: store, chain: settings.chain, signer: try settings.signer(generate: false, logger: logger))
            else { return ["the chain \(settings.chain) is empty: no checkpoint"] }
            return ["checkpoint: chain \(checkpoint.chain), head \(checkpoint.headSequence) \(checkpoint.headHash), "
                + "\(checkpoint.recordCount) record(s), \(checkpoint.time)"]
        }
    }

    /// `huitong audit checkpoint export`: the signed JSON.
    public static func exportCheckpoints(configuration: HubConfiguration, logger: Logger) async throws -> Data {
        try await withStore(configuration, logger: logger) { store, settings in
            try await AuditCheckpoints.export(
                pool: store.pool, chain: settings.chain, publicKey: try settings.signer(generate: false, logger: logger).key.publicKey)
        }
    }

    /// The filters of `query` and `export`.
    public struct Filters: Sendable {
        /// Correlation id.
        public var correlationID: String?
        /// Enterprise (USCC).
        public var enterpriseID: String?
        /// Message type.
        public var messageType: String?
        /// RFC 3339 lower bound.
        public var from: String?
        /// RFC 3339 upper bound.
        public var to: String?
        /// Cursor.
        public var cursor: String?
        /// Page size.
        public var limit: Int
        /// Include redelivered copies.
        public var includeRepeats: Bool

        /// Creates filters.
        public init(
            correlationID: String?, enterpriseID: String?, messageType: String?, from: String?, to: String?,
            cursor: String?, limit: Int, includeRepeats: Bool
        ) {
            self.correlationID = correlationID
            self.enterpriseID = enterpriseID
            self.messageType = messageType
            self.from = from
            self.to = to
            self.cursor = cursor
            self.limit = limit
            self.includeRepeats = includeRepeats
        }

        func query(chain: String) throws -> AuditQuery {
            func date(_ text: String?, _ option: String) throws -> Date? {
                guard let text else { return nil }
                do { return try Timestamp(rfc3339: text).date } catch {
                    throw HubAppError(
                        .invalidConfiguration, "\(option) '\(text)' is not an RFC 3339 time with an offset",
                        fix: "write e.g. 2026-11-22T09:30:00+08:00")
                }
            }
            guard (1...1000).contains(limit) else {
                throw HubAppError(.invalidConfiguration, "--limit must be from 1 to 1000")
            }
            return AuditQuery(
                chain: chain, correlationID: correlationID, enterpriseID: enterpriseID, messageType: messageType,
                from: try date(from, "--from"), to: try date(to, "--to"), cursor: cursor, limit: limit,
                includeRepeats: includeRepeats)
        }
    }

    /// `huitong audit query`: one page, as a table or JSON.
    public static func query(
        configuration: HubConfiguration, filters: Filters, readerName: String, unmask: Bool, json: Bool,
        logger: Logger
    ) async throws -> [String] {
        let reader = AuditReader.Reader(name: readerName, canUnmask: unmask)
        return try await withStore(configuration, logger: logger) { store, settings in
            let keyring = try? settings.keyring(generate: false, logger: logger)
            if reader.canUnmask && keyring == nil {
                throw HubAppError(.invalidConfiguration, "--unmask needs the audit master key", fix: "set HUITONG_AUDIT_MASTER_KEY")
            }
            let page = try await AuditReader(store: store, keyring: keyring).query(
                try filters.query(chain: settings.chain), as: reader)
            if json { return [page.jsonValue.canonicalString] }
            var lines = page.records.map(\.summary)
            if let next = page.nextCursor { lines.append("more: --cursor \(next)") }
            if page.records.isEmpty { lines.append("no records") }
            return lines
        }
    }

    /// `huitong audit export`: JSON Lines to `output`, progress to `progress`.
    public static func export(
        configuration: HubConfiguration, filters: Filters, readerName: String, unmask: Bool, output: FileHandle,
        progress: @escaping (Int) -> Void, logger: Logger
    ) async throws -> Int {
        let reader = AuditReader.Reader(name: readerName, canUnmask: unmask)
        return try await withStore(configuration, logger: logger) { store, settings in
            let keyring = try? settings.keyring(generate: false, logger: logger)
            var query = try filters.query(chain: settings.chain)
            query.limit = 1000
            return try await AuditReader(store: store, keyring: keyring).export(query, as: reader, progress: progress) {
                view in
                output.write(Data(view.jsonValue.canonicalBytes() + [0x0A]))
            }
        }
    }

    /// `huitong audit partitions list`.
    public static func listPartitions(configuration: HubConfiguration, logger: Logger) async throws -> [String] {
        try await withStore(configuration, logger: logger) { store, settings in
            let partitions = try await AuditRetention.list(pool: store.pool, retentionYears: settings.retentionYears)
            return ["month\tpartition\trows(est.)\tretained until\tstatus"] + partitions.map {
                "\($0.month)\t\($0.name)\t\($0.estimatedRows)\t\(AuditTime.canonical(micros: AuditTime.micros($0.expiresAt)))\t"
                    + ($0.isExpired ? "expired (may be dropped)" : "retained")
            }
        }
    }

    /// `huitong audit partitions drop <month> --confirm`.
    public static func dropPartition(
        configuration: HubConfiguration, month: String, actor: String, logger: Logger
    ) async throws -> [String] {
        try await withStore(configuration, logger: logger) { store, settings in
            let results = try await AuditRetention.drop(
                store: store, month: month, retentionYears: settings.retentionYears, actor: actor)
            if results.isEmpty { return ["dropped the empty partition of \(month)"] }
            return results.map {
                "dropped \(month): chain \($0.chain) sequence \($0.firstSequence)–\($0.lastSequence) (\($0.count) "
                    + "record(s)); recorded as record \($0.retentionRecord)"
            }
        }
    }
}
