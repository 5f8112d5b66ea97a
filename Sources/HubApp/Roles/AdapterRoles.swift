import Configuration
import ECNYAdapter
import Foundation
import HubCore
import HubCrypto
import InterbankAdapter
import Logging

/// Role configuration helpers: each key read with the role's reader and validated with a one-line error naming it.
enum RoleKeys {
    static func string(_ reader: ConfigReader, _ key: String) -> String? {
        guard let value = reader.string(forKey: ConfigKey(key)), !value.isEmpty else { return nil }
        return value
    }

    static func url(_ reader: ConfigReader, _ key: String) throws -> String? {
        guard let value = string(reader, key) else { return nil }
        guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw HubAppError.invalidConfiguration(key: key, "must be an http or https URL")
        }
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    static func seconds(_ reader: ConfigReader, _ key: String) throws -> Duration? {
        guard let value = string(reader, key) else { return nil }
        guard let seconds = Double(value), seconds > 0, seconds <= 86_400 else {
            throw HubAppError.invalidConfiguration(key: key, "must be a number of seconds between 0 and 86400")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    static func count(_ reader: ConfigReader, _ key: String) throws -> Int? {
        guard let value = string(reader, key) else { return nil }
        guard let count = Int(value), (1...256).contains(count) else {
            throw HubAppError.invalidConfiguration(key: key, "must be a whole number from 1 to 256")
        }
        return count
    }

    static func signerID(_ reader: ConfigReader, _ key: String) throws -> SM2.SignerID? {
        guard let value = string(reader, key) else { return nil }
        guard let id = try? SM2.SignerID(value) else {
            throw HubAppError.invalidConfiguration(key: key, "must be an SM2 signer ID of at most 8191 bytes")
        }
        return id
    }
}

extension InterbankConfiguration {
    /// Reads `huitong.interbank.*` (see ``InterbankConfiguration`` for the keys and defaults).
    /// - Parameter reader: The configuration reader.
    /// - Returns: The settings.
    /// - Throws: ``HubAppError`` naming the bad key.
    static func read(_ reader: ConfigReader) throws -> InterbankConfiguration {
        var configuration = InterbankConfiguration()
        if let value = try RoleKeys.url(reader, "huitong.interbank.url") { configuration.url = value }
        if let value = try RoleKeys.seconds(reader, "huitong.interbank.timeout") { configuration.timeout = value }
        if let value = try RoleKeys.seconds(reader, "huitong.interbank.status-query-delay") { configuration.statusQueryDelay = value }
        if let value = try RoleKeys.seconds(reader, "huitong.interbank.retry-max-delay") { configuration.retryMaxDelay = value }
        if let value = try RoleKeys.count(reader, "huitong.interbank.concurrency") { configuration.concurrency = value }
        return configuration
    }
}

extension ECNYConfiguration {
    /// The default keys directory.
    static let defaultKeysDirectory = ".local/keys/ecny"

    /// Reads `huitong.ecny.*` (see ``ECNYConfiguration`` for the keys and defaults) and loads the keys.
    /// - Parameter reader: The configuration reader.
    /// - Returns: The settings.
    /// - Throws: ``HubAppError`` naming the bad key, or the missing key file with the command that creates dev keys.
    ///
    /// Without `huitong.ecny.keys-dir` the development directory `.local/keys/ecny` is used and missing dev key
    /// pairs are created there (atomically, under a lock shared with `huitong simulate ecny`), so `make run` works
    /// on a fresh machine. With the key set (production), missing keys stop the role with a one-line error: keys
    /// are never generated where an operator pointed.
    static func read(_ reader: ConfigReader, logger: Logger) throws -> ECNYConfiguration {
        let configured = RoleKeys.string(reader, "huitong.ecny.keys-dir")
        let directory = configured ?? defaultKeysDirectory
        if configured == nil, let created = try? ECNYKeys.ensure(directory: directory), !created.isEmpty {
            logger.notice("created development e-CNY keys (set huitong.ecny.keys-dir for real keys)", metadata: ["ecny.keys_dir": "\(directory)"])
        }
        let hubKey: SM2.PrivateKey
        let operatorKey: SM2.PublicKey
        do {
            hubKey = try ECNYKeys.privateKey(directory, ECNYKeys.hubPrivate)
            operatorKey = try ECNYKeys.publicKey(directory, ECNYKeys.operatorPublic)
        } catch {
            throw HubAppError(
                .invalidConfiguration,
                "configuration huitong.ecny.keys-dir (HUITONG_ECNY_KEYS_DIR): cannot read \(ECNYKeys.hubPrivate) and "
                    + "\(ECNYKeys.operatorPublic) in \(directory)",
                fix: "for development run 'huitong simulate keys --dir \(directory.hasSuffix("/ecny") ? String(directory.dropLast(5)) : directory)'; "
                    + "in production install the hub's key and the operator's public key there")
        }
        var configuration = ECNYConfiguration(hubKey: hubKey, operatorKey: operatorKey)
        if let value = try RoleKeys.url(reader, "huitong.ecny.url") { configuration.url = value }
        if let value = try RoleKeys.seconds(reader, "huitong.ecny.timeout") { configuration.timeout = value }
        if let value = try RoleKeys.signerID(reader, "huitong.ecny.signer-id") { configuration.signerID = value }
        if let value = try RoleKeys.signerID(reader, "huitong.ecny.operator-signer-id") { configuration.operatorSignerID = value }
        if let value = try RoleKeys.seconds(reader, "huitong.ecny.settlement-query-delay") { configuration.settlementQueryDelay = value }
        if let value = try RoleKeys.seconds(reader, "huitong.ecny.clock-skew") { configuration.clockSkew = value }
        if let value = try RoleKeys.count(reader, "huitong.ecny.concurrency") { configuration.concurrency = value }
        return configuration
    }
}

extension HubRole {
    /// The interbank adapter: `adp.interbank` (submit, status-query, account-report commands) and the worker that
    /// speaks ISO 20022 XML to the bank (`huitong.interbank.url`).
    public static let interbankAdapter = HubRole(
        name: "adapter.interbank",
        consumers: [Interbank.consumer()],
        isBuilt: true,
        build: { context in
            let configuration = try InterbankConfiguration.read(context.reader)
            context.logger.info("interbank adapter", metadata: ["interbank.url": "\(configuration.url)"])
            return RoleParts(
                handlers: [Interbank.queue: InterbankHandler(endpoint: configuration.url)],
                services: [InterbankWorker(pool: context.pool, configuration: configuration, logger: context.logger)])
        }
    )

    /// The e-CNY adapter: `adp.ecny` (submit, status-query commands), the worker that sends SM2-signed requests to
    /// the operator (`huitong.ecny.url`), and the settlement callback route `POST /callbacks/ecny/v1/settlements`.
    public static let ecnyAdapter = HubRole(
        name: "adapter.ecny",
        consumers: [ECNY.consumer()],
        isBuilt: true,
        build: { context in
            let configuration = try ECNYConfiguration.read(context.reader, logger: context.logger)
            context.logger.info("e-CNY adapter", metadata: ["ecny.url": "\(configuration.url)"])
            let callbacks = ECNYCallbacks(pool: context.pool, configuration: configuration, logger: context.logger)
            return RoleParts(
                handlers: [ECNY.queue: ECNYHandler(endpoint: configuration.url)],
                services: [ECNYWorker(pool: context.pool, configuration: configuration, logger: context.logger)],
                routes: { router in callbacks.addRoutes(to: router) })
        }
    )
}
