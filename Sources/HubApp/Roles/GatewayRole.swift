public import Configuration
import Foundation
public import Gateway
import HubAMQP
import HubCore
public import HubCrypto
import HubRuntime
public import Logging
import ServiceLifecycle

extension HubRole {
    /// The partner gateway: `POST /v1/messages` and the read endpoints on the process's HTTP server, and the direct
    /// AMQP partner ingress (`partner.in` → `gw.partner-in`). This one has no audit query (the read endpoints
    /// answer 503 `audit-unavailable`); ``HubRole/known`` runs ``gateway(querying:)`` with ``AuditFlowQuerying``.
    public static let gateway = gateway(querying: { _ in UnavailableFlowQuerying() })

    /// The gateway role with the audit query that backs `GET /v1/messages/{id}`, `/v1/flows/{id}` and `/v1/audit`.
    /// - Parameter querying: Makes the query from the role's context (the integrator passes the audit library's).
    /// - Returns: The role.
    public static func gateway(querying: @escaping @Sendable (RoleContext) throws -> any FlowQuerying) -> HubRole {
        HubRole(name: "gateway", consumers: [], isBuilt: true) { context in
            try await GatewaySetup.build(context, querying: try querying(context))
        }
    }
}

/// Reads the gateway's configuration keys and assembles its parts.
///
/// Keys (environment `HUITONG_GATEWAY_*`): see ``Gateway/GatewayConfiguration`` and docs/gateway.md.
public enum GatewaySetup {
    /// The configuration keys.
    public enum Key {
        /// Largest body in bytes.
        public static let maxBodyBytes = "huitong.gateway.max-body-bytes"
        /// Timestamp skew in seconds.
        public static let timestampSkew = "huitong.gateway.timestamp-skew"
        /// Requests per second per partner.
        public static let rate = "huitong.gateway.rate"
        /// Token bucket size.
        public static let burst = "huitong.gateway.burst"
        /// Request timeout in seconds.
        public static let requestTimeout = "huitong.gateway.request-timeout"
        /// Publish confirm timeout in seconds.
        public static let publishTimeout = "huitong.gateway.publish-timeout"
        /// Retry-After of a 503, seconds.
        public static let retryAfter = "huitong.gateway.retry-after"
        /// Partner cache TTL in seconds (0: none).
        public static let partnerCacheSeconds = "huitong.gateway.partner-cache-seconds"
        /// Contracts folder.
        public static let contracts = "huitong.gateway.contracts"
        /// Master key (hex), secret.
        public static let masterKey = "huitong.gateway.master-key"
        /// Where the dev master key is kept when no master key is configured.
        public static let devKeyDirectory = "huitong.gateway.dev-key-dir"
        /// Direct AMQP partner ingress on/off.
        public static let amqpIngress = "huitong.gateway.amqp-ingress"
        /// Overlap of `partners rotate`, seconds.
        public static let rotateOverlap = "huitong.gateway.rotate-overlap"
        /// The rabbitmqctl command `partners add --amqp` runs (split on spaces).
        public static let rabbitmqctl = "huitong.gateway.rabbitmqctl"
    }

    static func invalid(_ key: String, _ problem: String) -> HubAppError {
        HubAppError.invalidConfiguration(key: key, problem)
    }

    static func number(_ reader: ConfigReader, _ key: String, range: ClosedRange<Double>) throws -> Double? {
        guard let text = reader.string(forKey: ConfigKey(key)), !text.isEmpty else { return nil }
        guard let value = Double(text), range.contains(value) else {
            throw invalid(key, "must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func seconds(_ value: Double) -> Duration { .milliseconds(Int64(value * 1000)) }

    /// Reads and validates the gateway's keys.
    /// - Parameter reader: The configuration reader.
    /// - Returns: The configuration.
    /// - Throws: ``HubAppError`` naming the key.
    public static func configuration(_ reader: ConfigReader) throws -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        if let value = try number(reader, Key.maxBodyBytes, range: 1_024...67_108_864) { configuration.maximumBodyBytes = Int(value) }
        if let value = try number(reader, Key.timestampSkew, range: 1...3_600) { configuration.timestampSkew = seconds(value) }
        if let value = try number(reader, Key.rate, range: 0.01...100_000) { configuration.rate = value }
        if let value = try number(reader, Key.burst, range: 1...1_000_000) { configuration.burst = Int(value) }
        if let value = try number(reader, Key.requestTimeout, range: 0.1...600) { configuration.requestTimeout = seconds(value) }
        if let value = try number(reader, Key.publishTimeout, range: 0.1...600) { configuration.publishTimeout = seconds(value) }
        if let value = try number(reader, Key.retryAfter, range: 1...3_600) { configuration.retryAfterSeconds = Int(value) }
        if let value = try number(reader, Key.partnerCacheSeconds, range: 0...3_600) { configuration.partnerCacheTTL = seconds(value) }
        if let value = reader.string(forKey: ConfigKey(Key.contracts)), !value.isEmpty { configuration.contractsDirectory = value }
        if let value = reader.string(forKey: ConfigKey(Key.amqpIngress)), !value.isEmpty {
            switch value.lowercased() {
            case "on", "true", "1": configuration.amqpIngress = true
            case "off", "false", "0": configuration.amqpIngress = false
            default: throw invalid(Key.amqpIngress, "must be on or off")
            }
        }
        return configuration
    }

    /// The keyring that seals HMAC secrets: from `huitong.gateway.master-key` (hex, 16 or 32 bytes), or a dev key
    /// generated into `.local/keys/gateway/master.key` on first use (logged loudly: never for production).
    /// - Parameters:
    ///   - reader: The configuration reader.
    ///   - logger: Where the dev-key warning goes.
    /// - Returns: The keyring (key version 1).
    /// - Throws: ``HubAppError`` for a malformed key or an unwritable dev key folder.
    public static func keyring(_ reader: ConfigReader, logger: Logger) throws -> SM4.Keyring {
        let bytes: [UInt8]
        if let hex = reader.string(forKey: ConfigKey(Key.masterKey), isSecret: true), !hex.isEmpty {
            guard let decoded = hexBytes(hex), decoded.count == 16 || decoded.count == 32 else {
                throw invalid(Key.masterKey, "must be 32 or 64 hex digits (16 or 32 bytes)")
            }
            bytes = decoded
        } else {
            let directory = reader.string(forKey: ConfigKey(Key.devKeyDirectory)) ?? ".local/keys/gateway"
            let file = URL(fileURLWithPath: directory).appendingPathComponent("master.key")
            if let data = FileManager.default.contents(atPath: file.path),
               let decoded = hexBytes(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
               decoded.count == 32
            {
                bytes = decoded
                logger.warning(
                    "gateway uses the DEV master key; set HUITONG_GATEWAY_MASTER_KEY in production",
                    metadata: ["gateway.dev_key": "\(file.path)"])
            } else {
                let generated = (0..<32).map { _ in UInt8.random(in: 0...255) }
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    let text = generated.map { String(format: "%02x", $0) }.joined() + "\n"
                    guard FileManager.default.createFile(
                        atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
                    else { throw CocoaError(.fileWriteUnknown) }
                } catch {
                    throw invalid(Key.devKeyDirectory, "cannot hold the generated dev master key (\(file.path))")
                }
                bytes = generated
                logger.warning(
                    "gateway GENERATED a DEV master key; secrets sealed with it are lost if the file is; set HUITONG_GATEWAY_MASTER_KEY in production",
                    metadata: ["gateway.dev_key": "\(file.path)"])
            }
        }
        do {
            return try SM4.Keyring(current: SM4.SealingKey(masterKey: SymmetricKey(data: bytes), version: 1))
        } catch {
            throw invalid(Key.masterKey, "cannot derive the sealing key")
        }
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0, !chars.isEmpty else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < chars.count {
            guard let byte = UInt8(String(decoding: chars[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
            index += 2
        }
        return out
    }

    static func build(_ context: RoleContext, querying: any FlowQuerying) async throws -> RoleParts {
        let configuration = try configuration(context.reader)
        let keyring = try keyring(context.reader, logger: context.logger)
        let validator: ContractValidator
        do {
            validator = try ContractValidator(
                contractsDirectory: URL(fileURLWithPath: configuration.contractsDirectory, isDirectory: true),
                maximumBytes: configuration.maximumBodyBytes)
        } catch {
            throw HubAppError(
                .contractsInvalid,
                "the gateway cannot load its contracts from '\(configuration.contractsDirectory)': \(error)",
                fix: "run from the checkout's root or set HUITONG_GATEWAY_CONTRACTS")
        }
        let store = PartnerStore(pool: context.pool, keyring: keyring)
        let directory = PartnerDirectory(base: store, ttl: configuration.partnerCacheTTL)
        let recorder = RefusalRecorder(publisher: context.publisher, logger: context.logger)
        let routes = GatewayRoutes(
            configuration: configuration,
            authenticator: Authenticator(directory: directory, skew: configuration.timestampSkew, logger: context.logger),
            limiter: RateLimiter(rate: configuration.rate, burst: configuration.burst),
            validator: validator, publisher: context.publisher, recorder: recorder, querying: querying,
            logger: context.logger)
        var services: [any Service] = [
            recorder,
            PartnerMaintenance(store: store, directory: directory, pool: context.pool, logger: context.logger),
        ]
        if configuration.amqpIngress {
            do {
                try await context.publisher.declare(PartnerIngress.topology(configuration))
            } catch {
                throw HubAppError(
                    .topologyFailed, "the gateway cannot declare its AMQP ingress (\(configuration.ingressExchange))",
                    fix: "check the broker, or set HUITONG_GATEWAY_AMQP_INGRESS=off", underlying: error)
            }
            services.append(
                ParkingDrainer(
                    consumer: PartnerIngress.consumer(configuration), amqp: context.amqp, pool: context.pool,
                    logger: context.logger))
            services.append(
                PartnerIngress(
                    configuration: configuration, amqp: context.amqp, directory: directory, validator: validator,
                    publisher: context.publisher, recorder: recorder, logger: context.logger))
        }
        context.logger.info(
            "gateway ready",
            metadata: [
                "gateway.max_body_bytes": "\(configuration.maximumBodyBytes)", "gateway.rate": "\(configuration.rate)",
                "gateway.burst": "\(configuration.burst)", "gateway.amqp_ingress": "\(configuration.amqpIngress)",
            ])
        return RoleParts(services: services, routes: { router in routes.register(on: router) })
    }
}
