import Configuration
import Foundation
import Gateway
import HubAMQP
import HubCore
import HubCrypto
import HubStore
public import Logging

/// `huitong partners add | list | revoke | rotate`: partner management for the gateway (docs/gateway.md).
///
/// HMAC-SM3 secrets and AMQP passwords are generated here and printed once; only the sealed secret (SM4, master
/// key `huitong.gateway.master-key`) is stored, and RabbitMQ keeps only its own password hash.
public enum GatewayPartners {
    /// What `partners add` registers.
    public struct NewPartner: Sendable {
        /// The partner id.
        public var id: String
        /// The display name.
        public var name: String
        /// Message type patterns.
        public var types: [String]
        /// Enterprises (USCC or `*`).
        public var enterprises: [String]
        /// Roles (`partner`, `reviewer`).
        public var roles: [String]
        /// The `audit:unmask` grant.
        public var auditUnmask: Bool
        /// An SM2 public key PEM file; nil: generate an HMAC-SM3 secret.
        public var sm2PublicKeyFile: String?
        /// Also create a RabbitMQ user for direct AMQP publishing.
        public var amqp: Bool

        /// Creates the request.
        /// - Parameters:
        ///   - id: Id.
        ///   - name: Name.
        ///   - types: Types.
        ///   - enterprises: Enterprises.
        ///   - roles: Roles.
        ///   - auditUnmask: `audit:unmask`.
        ///   - sm2PublicKeyFile: SM2 public key file.
        ///   - amqp: Create an AMQP user.
        public init(
            id: String, name: String, types: [String], enterprises: [String], roles: [String], auditUnmask: Bool,
            sm2PublicKeyFile: String?, amqp: Bool
        ) {
            self.id = id
            self.name = name
            self.types = types
            self.enterprises = enterprises
            self.roles = roles
            self.auditUnmask = auditUnmask
            self.sm2PublicKeyFile = sm2PublicKeyFile
            self.amqp = amqp
        }
    }

    static func withStore<T: Sendable>(
        _ configuration: HubConfiguration, logger: Logger, _ body: (PartnerStore) async throws -> T
    ) async throws -> T {
        let keyring = try GatewaySetup.keyring(configuration.reader, logger: logger)
        let postgres = try Connections.postgres(configuration)
        let pool = PostgresPool(configuration: postgres, logger: logger)
        do {
            _ = try await Migrator(migrations: HubMigrate.migrations, logger: logger).migrate(on: pool)
        } catch {
            await pool.close()
            throw HubAppError.database(error, configuration: postgres)
        }
        do {
            let result = try await body(PartnerStore(pool: pool, keyring: keyring))
            await pool.close()
            return result
        } catch let error as PartnerStoreError {
            await pool.close()
            throw HubAppError(.invalidConfiguration, error.message, fix: fix(for: error))
        } catch {
            await pool.close()
            throw error as? HubAppError ?? HubAppError.database(error, configuration: postgres)
        }
    }

    static func fix(for error: PartnerStoreError) -> String {
        switch error.code {
        case "exists": "choose another id, or rotate the existing partner's credential"
        case "notFound": "see huitong partners list"
        case "invalidKey": "pass an SM2 public key in PEM (openssl pkey -pubout)"
        case "sealedSecret": "use the master key the secret was sealed with (HUITONG_GATEWAY_MASTER_KEY)"
        default: "see docs/gateway.md"
        }
    }

    static func partnerID(_ text: String) throws -> PartnerID {
        do {
            return try PartnerID(text)
        } catch {
            throw HubAppError(
                .invalidConfiguration, "'\(text)' is not a partner id",
                fix: "use 2 to 63 characters of a-z, 0-9 and '-', not starting with '-'")
        }
    }

    static func credential(sm2File: String?) throws -> (PartnerStore.NewCredential, secret: String?) {
        if let sm2File {
            guard let data = FileManager.default.contents(atPath: sm2File) else {
                throw HubAppError(.invalidConfiguration, "cannot read the SM2 public key file '\(sm2File)'", fix: "pass a readable PEM file")
            }
            return (.sm2(publicKeyPEM: String(decoding: data, as: UTF8.self)), nil)
        }
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
        return (.hmacSM3(secret: secret), secret.map { String(format: "%02x", $0) }.joined())
    }

    /// Registers a partner; prints its generated secret (and AMQP password) once.
    /// - Parameters:
    ///   - request: What to register.
    ///   - configuration: The process configuration.
    ///   - logger: The logger.
    /// - Returns: Lines to print.
    /// - Throws: ``HubAppError``.
    public static func add(_ request: NewPartner, configuration: HubConfiguration, logger: Logger) async throws -> [String] {
        let id = try partnerID(request.id)
        for enterprise in request.enterprises where enterprise != "*" {
            guard (try? USCC(enterprise)) != nil else {
                throw HubAppError(.invalidConfiguration, "'\(enterprise)' is not a valid USCC (R-ID-2)", fix: "check the 18-character code")
            }
        }
        for type in request.types where !(type == "*" || type.hasSuffix(".*") || (try? MessageType(type)) != nil) {
            throw HubAppError(
                .invalidConfiguration, "'\(type)' is not a message type or pattern",
                fix: "use payments.transfer.request.v1, payments.* or *")
        }
        let roles = request.roles.isEmpty ? ["partner"] : request.roles
        for role in roles where role != "partner" && role != "reviewer" {
            throw HubAppError(.invalidConfiguration, "unknown role '\(role)'", fix: "use partner or reviewer")
        }
        let (credential, secret) = try credential(sm2File: request.sm2PublicKeyFile)
        let amqpUser = request.amqp ? "partner-\(id.value)" : nil
        let grants = Partner.Grants(
            messageTypes: request.types, enterprises: request.enterprises, roles: roles, auditUnmask: request.auditUnmask)
        try await withStore(configuration, logger: logger) { store in
            try await store.add(id: id, name: request.name, grants: grants, credential: credential, amqpUser: amqpUser)
        }
        var lines = ["partner \(id.value) added (\(secret == nil ? "sm2" : "hmac-sm3"), credential version 1)"]
        if let secret {
            lines.append("hmac-sm3 secret (shown once, give it to the partner over a secure channel): \(secret)")
        }
        if let amqpUser {
            let password = (0..<24).map { _ in UInt8.random(in: 0...255) }.map { String(format: "%02x", $0) }.joined()
            let vhost = try Connections.amqp(configuration, name: "huitong partners").vhost
            try await RabbitMQUsers(configuration: configuration).create(
                user: amqpUser, password: password, vhost: vhost, partner: id.value, types: request.types)
            lines.append("amqp user \(amqpUser) on vhost \(vhost) may publish to partner.in with routing keys \(id.value).<type>")
            lines.append("amqp password (shown once): \(password)")
        }
        return lines
    }

    /// Lists partners (never secrets).
    /// - Parameters:
    ///   - json: JSON lines instead of a table.
    ///   - configuration: The configuration.
    ///   - logger: The logger.
    /// - Returns: Lines.
    /// - Throws: ``HubAppError``.
    public static func list(json: Bool, configuration: HubConfiguration, logger: Logger) async throws -> [String] {
        let partners = try await withStore(configuration, logger: logger) { try await $0.list() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try partners.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        }
        return partners.map { partner in
            let credentials = partner.credentials.map { "v\($0.version) \($0.kind)" + ($0.validUntil.map { " until \($0)" } ?? "") }
            return "\(partner.id)  \(partner.status)  roles=\(partner.grants.roles.joined(separator: ","))"
                + (partner.grants.auditUnmask ? "+audit:unmask" : "")
                + "  types=\(partner.grants.messageTypes.joined(separator: ","))"
                + "  enterprises=\(partner.grants.enterprises.joined(separator: ","))"
                + "  credentials=[\(credentials.joined(separator: "; "))]"
                + (partner.amqpUser.map { "  amqp=\($0)" } ?? "")
        }
    }

    /// Revokes a partner (and deletes its RabbitMQ user).
    /// - Parameters:
    ///   - id: The partner id.
    ///   - configuration: The configuration.
    ///   - logger: The logger.
    /// - Returns: Lines.
    /// - Throws: ``HubAppError``.
    public static func revoke(id text: String, configuration: HubConfiguration, logger: Logger) async throws -> [String] {
        let id = try partnerID(text)
        let amqpUser = try await withStore(configuration, logger: logger) { store in
            try await store.revoke(id: id)
            return try await store.list().first { $0.id == id.value }?.amqpUser
        }
        var lines = ["partner \(id.value) revoked"]
        if let amqpUser {
            try await RabbitMQUsers(configuration: configuration).delete(user: amqpUser)
            lines.append("amqp user \(amqpUser) deleted")
        }
        return lines
    }

    /// Adds a new credential; the older ones stay valid for the overlap.
    /// - Parameters:
    ///   - id: The partner id.
    ///   - sm2PublicKeyFile: The new SM2 public key, or nil for a new HMAC secret.
    ///   - overlapSeconds: The overlap (default `huitong.gateway.rotate-overlap`, else 86400).
    ///   - configuration: The configuration.
    ///   - logger: The logger.
    /// - Returns: Lines.
    /// - Throws: ``HubAppError``.
    public static func rotate(
        id text: String, sm2PublicKeyFile: String?, overlapSeconds: Double?, configuration: HubConfiguration, logger: Logger
    ) async throws -> [String] {
        let id = try partnerID(text)
        let configured = try GatewaySetup.number(configuration.reader, GatewaySetup.Key.rotateOverlap, range: 0...31_536_000)
        let overlap = overlapSeconds ?? configured ?? 86_400
        guard overlap >= 0 else {
            throw HubAppError(.invalidConfiguration, "the overlap must not be negative", fix: "pass --overlap SECONDS")
        }
        let (credential, secret) = try credential(sm2File: sm2PublicKeyFile)
        let version = try await withStore(configuration, logger: logger) { store in
            try await store.rotate(id: id, credential: credential, overlap: GatewaySetup.seconds(overlap))
        }
        var lines = ["partner \(id.value) credential version \(version) added; older credentials valid for \(Int(overlap)) s more"]
        if let secret { lines.append("hmac-sm3 secret (shown once): \(secret)") }
        return lines
    }
}

/// Creates and deletes direct-AMQP partner users with rabbitmqctl (`huitong.gateway.rabbitmqctl`, default
/// `rabbitmqctl`; locally `deploy/local/servers.sh rabbitmqctl`).
struct RabbitMQUsers {
    let command: [String]

    init(configuration: HubConfiguration) {
        let text = configuration.reader.string(forKey: .init(GatewaySetup.Key.rabbitmqctl)) ?? "rabbitmqctl"
        command = text.split(separator: " ").map(String.init)
    }

    /// The regex of routing keys a partner may publish: `^<partner>\.(<type>|…)$`, types without version.
    static func routingKeyPattern(partner: String, types: [String]) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: ".", with: "\\.").replacingOccurrences(of: "-", with: "\\-")
        }
        let alternatives = types.map { type -> String in
            if type == "*" { return ".+" }
            if type.hasSuffix(".*") { return escape(String(type.dropLast(2))) + "\\..+" }
            let key = (try? MessageType(type))?.routingKey ?? type
            return escape(key)
        }
        guard !alternatives.isEmpty else { return "^$" }
        return "^\(escape(partner))\\.(\(alternatives.joined(separator: "|")))$"
    }

    func create(user: String, password: String, vhost: String, partner: String, types: [String]) async throws {
        try await run(["add_user", user, password])
        try await run(["set_permissions", "-p", vhost, user, "^$", "^partner\\.in$", "^$"])
        try await run([
            "set_topic_permissions", "-p", vhost, user, "partner.in",
            Self.routingKeyPattern(partner: partner, types: types), "^$",
        ])
    }

    func delete(user: String) async throws {
        try await run(["delete_user", user])
    }

    /// Runs the command on a Dispatch thread (it blocks until rabbitmqctl exits; the cooperative pool must not).
    private func run(_ arguments: [String]) async throws {
        let command = self.command
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                do {
                    try Self.runBlocking(command: command, arguments)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    private static func runBlocking(command: [String], _ arguments: [String]) throws {
        guard let executable = command.first else {
            throw HubAppError(.invalidConfiguration, "no rabbitmqctl command", fix: "set HUITONG_GATEWAY_RABBITMQCTL")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.contains("/") ? executable : "/usr/bin/env")
        process.arguments = (executable.contains("/") ? [] : [executable]) + command.dropFirst() + arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw HubAppError(
                .invalidConfiguration, "cannot run \(executable)",
                fix: "set HUITONG_GATEWAY_RABBITMQCTL to the rabbitmqctl command (locally: deploy/local/servers.sh rabbitmqctl)")
        }
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let firstLine = errorText.split(separator: "\n").first.map(String.init) ?? "exit \(process.terminationStatus)"
            throw HubAppError(
                .brokerUnavailable, "rabbitmqctl \(arguments[0]) failed: \(firstLine)",
                fix: "check HUITONG_GATEWAY_RABBITMQCTL and that the broker is running")
        }
    }
}
