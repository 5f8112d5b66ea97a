import Foundation
public import HubCrypto
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Loading the audit keys: the SM2 checkpoint key (PEM file) and the SM4 master keys (hex). For local development
/// a missing key is generated once into a key directory (default `.local/keys/audit`), atomically, with a loud
/// warning: a production deployment configures both.
public enum AuditKeys {
    /// Loads the SM2 signing key from `path`, or from (creating it if needed) `directory/checkpoint-sm2.pem`.
    /// - Parameters:
    ///   - path: The configured PEM file, or nil.
    ///   - directory: The development key directory.
    ///   - generate: Generate the development key when missing (the sink); readers and verifiers pass false.
    ///   - logger: Where the warning goes.
    /// - Returns: The key.
    /// - Throws: ``AuditError`` `keyUnavailable` when a file cannot be read or is not an SM2 key.
    public static func signingKey(path: String?, directory: String, generate: Bool = true, logger: Logger) throws
        -> SM2.PrivateKey
    {
        if let path {
            let text = try read(path, what: "the audit signing key")
            do { return try SM2.PrivateKey(pemRepresentation: text) } catch {
                throw AuditError(.keyUnavailable, "\(path) is not an SM2 private key in PEM", underlying: error)
            }
        }
        let file = (directory as NSString).appendingPathComponent("checkpoint-sm2.pem")
        if !generate && !FileManager.default.fileExists(atPath: file) {
            throw AuditError(.keyUnavailable, "no audit signing key is configured and \(file) does not exist")
        }
        let text = try createOnce(file, logger: logger, what: "SM2 checkpoint signing key") {
            do { return try SM2.PrivateKey().pemRepresentation } catch {
                throw AuditError(.crypto, "generating an SM2 key failed", underlying: error)
            }
        }
        do { return try SM2.PrivateKey(pemRepresentation: text) } catch {
            throw AuditError(.keyUnavailable, "\(file) is not an SM2 private key in PEM", underlying: error)
        }
    }

    /// The SM4 keyring: the current master key (hex) with its version, plus previous keys (`version:hex,…`).
    /// Without a configured key, `directory/master-key.hex` is used (created once) as version `version`.
    /// - Parameters:
    ///   - masterKeyHex: The current master key, 32 or 64 hex digits, or nil.
    ///   - version: Its version.
    ///   - previous: Older keys, `version:hex` separated by commas, or nil.
    ///   - directory: The development key directory.
    ///   - generate: Generate the development key when missing (the sink); readers pass false.
    ///   - logger: Where the warning goes.
    /// - Returns: The keyring.
    /// - Throws: ``AuditError`` `invalidConfiguration` / `keyUnavailable`.
    public static func keyring(
        masterKeyHex: String?, version: UInt32, previous: String?, directory: String, generate: Bool = true,
        logger: Logger
    ) throws -> SM4.Keyring {
        let currentHex: String
        if let masterKeyHex {
            currentHex = masterKeyHex
        } else {
            let file = (directory as NSString).appendingPathComponent("master-key.hex")
            if !generate && !FileManager.default.fileExists(atPath: file) {
                throw AuditError(.keyUnavailable, "no audit master key is configured and \(file) does not exist")
            }
            currentHex = try createOnce(file, logger: logger, what: "SM4 master key") {
                let key = try SymmetricKey(randomByteCount: 32)
                return key.withUnsafeBytes { AuditStore.hex(Array($0)) }
            }.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let current = try sealingKey(hex: currentHex, version: version, what: "the audit master key")
        var older: [SM4.SealingKey] = []
        for entry in (previous ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
        where !entry.isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let v = UInt32(parts[0]) else {
                throw AuditError(.invalidConfiguration, "a previous audit master key is not written VERSION:HEX")
            }
            older.append(try sealingKey(hex: String(parts[1]), version: v, what: "previous audit master key \(v)"))
        }
        do { return try SM4.Keyring(current: current, previous: older) } catch {
            throw AuditError(.invalidConfiguration, "two audit master keys have the same version", underlying: error)
        }
    }

    static func sealingKey(hex: String, version: UInt32, what: String) throws -> SM4.SealingKey {
        guard let bytes = AuditVerifier.bytes(hex: hex), bytes.count == 16 || bytes.count == 32 else {
            throw AuditError(.invalidConfiguration, "\(what) must be 32 or 64 hex digits")
        }
        do { return try SM4.SealingKey(masterKey: SymmetricKey(data: bytes), version: version) } catch {
            throw AuditError(.keyUnavailable, "\(what) could not be derived", underlying: error)
        }
    }

    static func read(_ path: String, what: String) throws -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AuditError(.keyUnavailable, "\(what) at \(path) cannot be read", underlying: error)
        }
    }

    /// Returns the file's content, creating it first if it does not exist: written to a private temporary file,
    /// then hard-linked into place (`link` fails if another process won the race, and then its key is used).
    static func createOnce(_ path: String, logger: Logger, what: String, make: () throws -> String) throws -> String {
        if FileManager.default.fileExists(atPath: path) { return try read(path, what: what) }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AuditError(.keyUnavailable, "cannot create the key directory \(directory)", underlying: error)
        }
        let temporary = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let content = try make()
        guard FileManager.default.createFile(
            atPath: temporary, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600])
        else { throw AuditError(.keyUnavailable, "cannot write \(temporary)") }
        defer { unlink(temporary) }
        if link(temporary, path) == 0 {
            logger.warning(
                "GENERATED A DEVELOPMENT \(what.uppercased()) at \(path): configure a real key for production",
                metadata: ["audit.key.file": "\(path)"])
            return content
        }
        guard errno == EEXIST else { throw AuditError(.keyUnavailable, "cannot create \(path) (errno \(errno))") }
        return try read(path, what: what)
    }
}
