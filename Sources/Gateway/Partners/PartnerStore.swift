public import Foundation
public import HubCore
public import HubCrypto
public import HubStore

/// A failure of partner management that an operator can act on.
public struct PartnerStoreError: Error, Sendable, CustomStringConvertible {
    /// A bounded code: `exists`, `notFound`, `invalidKey`, `sealedSecret`.
    public var code: String
    /// A log-safe message.
    public var message: String
    /// Creates an error.
    /// - Parameters:
    ///   - code: The code.
    ///   - message: The message.
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    /// The message.
    public var description: String { message }
}

/// The partners, their grants and credentials, and the nonces seen, in schema `gateway`.
///
/// HMAC-SM3 secrets are stored sealed (SM4 sealed box of HubCrypto, keyring from `huitong.gateway.master-key`);
/// SM2 public keys are stored as PEM.
public struct PartnerStore: Sendable {
    /// A credential to register.
    public enum NewCredential: Sendable {
        /// An SM2 public key in PEM.
        case sm2(publicKeyPEM: String)
        /// An HMAC-SM3 shared secret (16 to 64 bytes).
        case hmacSM3(secret: [UInt8])
    }

    /// What `partners list` shows: never a secret.
    public struct Summary: Sendable, Codable {
        /// The id.
        public var id: String
        /// The name.
        public var name: String
        /// `active` or `revoked`.
        public var status: String
        /// The grants.
        public var grants: Partner.Grants
        /// Credentials: version, kind, valid until.
        public var credentials: [CredentialSummary]
        /// The RabbitMQ user, if any.
        public var amqpUser: String?
    }

    /// A credential's public facts.
    public struct CredentialSummary: Sendable, Codable {
        /// The version.
        public var version: Int
        /// `sm2` or `hmac-sm3`.
        public var kind: String
        /// Expiry, RFC 3339, or nil.
        public var validUntil: String?
    }

    let pool: PostgresPool
    let keyring: SM4.Keyring

    /// Creates a store.
    /// - Parameters:
    ///   - pool: The database pool (schema `gateway` migrated).
    ///   - keyring: The keyring that seals HMAC secrets.
    public init(pool: PostgresPool, keyring: SM4.Keyring) {
        self.pool = pool
        self.keyring = keyring
    }

    static func associatedData(_ partner: String, _ version: Int) -> [UInt8] {
        Array("gateway.credentials|\(partner)|\(version)".utf8)
    }

    /// Registers a partner with its first credential.
    /// - Parameters:
    ///   - id: The partner id.
    ///   - name: A display name.
    ///   - grants: What it may do.
    ///   - credential: Its first credential.
    ///   - amqpUser: Its RabbitMQ user, for direct AMQP partners.
    /// - Throws: ``PartnerStoreError`` `exists` or `invalidKey`; database errors.
    public func add(id: PartnerID, name: String, grants: Partner.Grants, credential: NewCredential, amqpUser: String? = nil)
        async throws
    {
        let columns = try credentialColumns(credential, partner: id.value, version: 1)
        try await pool.withTransaction { transaction in
            let existing = try await transaction.query("SELECT 1 FROM gateway.partners WHERE id = \(id.value)")
            guard existing.rows.isEmpty else {
                throw PartnerStoreError("exists", "partner '\(id.value)' already exists")
            }
            try await transaction.execute(
                "INSERT INTO gateway.partners (id, name, status, amqp_user) VALUES (\(id.value), \(name), 'active', \(amqpUser))")
            for (kind, values) in [("type", grants.messageTypes), ("enterprise", grants.enterprises), ("role", grants.roles)] {
                for value in Set(values) {
                    try await transaction.execute(
                        "INSERT INTO gateway.grants (partner_id, kind, value) VALUES (\(id.value), \(kind), \(value))")
                }
            }
            if grants.auditUnmask {
                try await transaction.execute(
                    "INSERT INTO gateway.grants (partner_id, kind, value) VALUES (\(id.value), 'permission', 'audit:unmask')")
            }
            try await transaction.execute(
                """
                INSERT INTO gateway.credentials (partner_id, version, kind, public_key_pem, secret_sealed)
                VALUES (\(id.value), 1, \(columns.kind), \(columns.pem), \(columns.sealed))
                """)
        }
    }

    private func credentialColumns(_ credential: NewCredential, partner: String, version: Int) throws
        -> (kind: String, pem: String?, sealed: [UInt8]?)
    {
        switch credential {
        case .sm2(let pem):
            do {
                _ = try SM2.PublicKey(pemRepresentation: pem)
            } catch {
                throw PartnerStoreError("invalidKey", "the SM2 public key is not a PEM SM2 public key")
            }
            return ("sm2", pem, nil)
        case .hmacSM3(let secret):
            guard (16...64).contains(secret.count) else {
                throw PartnerStoreError("invalidKey", "an HMAC-SM3 secret is 16 to 64 bytes")
            }
            let box = try SM4.seal(secret, using: keyring, authenticating: Self.associatedData(partner, version))
            return ("hmac-sm3", nil, Array(box.combined))
        }
    }

    /// Every partner, sorted by id.
    /// - Returns: The summaries.
    /// - Throws: Database errors.
    public func list() async throws -> [Summary] {
        let partners = try await pool.query("SELECT id, name, status, amqp_user FROM gateway.partners ORDER BY id")
        var summaries: [Summary] = []
        for row in partners.rows {
            let id: String = try row.decode(column: "id")
            let grants = try await loadGrants(id)
            let credentials = try await pool.query(
                "SELECT version, kind, valid_until FROM gateway.credentials WHERE partner_id = \(id) ORDER BY version")
            summaries.append(
                Summary(
                    id: id, name: try row.decode(column: "name"), status: try row.decode(column: "status"),
                    grants: grants,
                    credentials: try credentials.rows.map { row in
                        CredentialSummary(
                            version: try row.decode(column: "version"), kind: try row.decode(column: "kind"),
                            validUntil: try row.decode(Date?.self, column: "valid_until").map { Timestamp($0).text })
                    },
                    amqpUser: try row.decode(String?.self, column: "amqp_user")))
        }
        return summaries
    }

    private func loadGrants(_ id: String) async throws -> Partner.Grants {
        let rows = try await pool.query("SELECT kind, value FROM gateway.grants WHERE partner_id = \(id) ORDER BY kind, value")
        var grants = Partner.Grants(roles: [])
        for row in rows.rows {
            let kind: String = try row.decode(column: "kind")
            let value: String = try row.decode(column: "value")
            switch kind {
            case "type": grants.messageTypes.append(value)
            case "enterprise": grants.enterprises.append(value)
            case "role": grants.roles.append(value)
            case "permission" where value == "audit:unmask": grants.auditUnmask = true
            default: break
            }
        }
        return grants
    }

    /// Revokes a partner: every request of it is refused from now on (the gateway's cache expires within its TTL).
    /// - Parameter id: The partner id.
    /// - Throws: ``PartnerStoreError`` `notFound`; database errors.
    public func revoke(id: PartnerID) async throws {
        let updated = try await pool.withTransaction { transaction in
            let count = try await transaction.execute(
                "UPDATE gateway.partners SET status = 'revoked', revoked_at = now() WHERE id = \(id.value)")
            try await transaction.execute(
                """
                UPDATE gateway.credentials SET valid_until = now()
                WHERE partner_id = \(id.value) AND (valid_until IS NULL OR valid_until > now())
                """)
            return count
        }
        guard updated == 1 else { throw PartnerStoreError("notFound", "no partner '\(id.value)'") }
        try? await pool.notify(channel: try SQLIdentifier("gateway_partners"), payload: id.value)
    }

    /// Adds a new credential and limits every older one to `overlap` from now.
    /// - Parameters:
    ///   - id: The partner id.
    ///   - credential: The new credential.
    ///   - overlap: How long the older credentials stay valid.
    /// - Returns: The new credential's version.
    /// - Throws: ``PartnerStoreError`` `notFound` (or revoked) or `invalidKey`; database errors.
    @discardableResult
    public func rotate(id: PartnerID, credential: NewCredential, overlap: Duration) async throws -> Int {
        let version = try await pool.withTransaction { transaction in
            let partner = try await transaction.query(
                "SELECT status FROM gateway.partners WHERE id = \(id.value) FOR UPDATE")
            guard let row = partner.rows.first, try row.decode(String.self, column: "status") == "active" else {
                throw PartnerStoreError("notFound", "no active partner '\(id.value)'")
            }
            let current = try await transaction.query(
                "SELECT coalesce(max(version), 0) AS v FROM gateway.credentials WHERE partner_id = \(id.value)")
            let version = try current.rows[0].decode(Int.self, column: "v") + 1
            let columns = try credentialColumns(credential, partner: id.value, version: version)
            let seconds = Double(overlap.components.seconds) + Double(overlap.components.attoseconds) / 1e18
            let until = Date().addingTimeInterval(seconds)
            try await transaction.execute(
                """
                UPDATE gateway.credentials SET valid_until = \(until)
                WHERE partner_id = \(id.value) AND (valid_until IS NULL OR valid_until > \(until))
                """)
            try await transaction.execute(
                """
                INSERT INTO gateway.credentials (partner_id, version, kind, public_key_pem, secret_sealed)
                VALUES (\(id.value), \(version), \(columns.kind), \(columns.pem), \(columns.sealed))
                """)
            return version
        }
        try? await pool.notify(channel: try SQLIdentifier("gateway_partners"), payload: id.value)
        return version
    }

    /// Loads a partner with its currently valid credentials (HMAC secrets opened with the keyring).
    /// - Parameter id: The partner id.
    /// - Returns: The partner, or nil if unknown.
    /// - Throws: ``PartnerStoreError`` `sealedSecret` when a secret does not open (wrong master key); database errors.
    public func load(id: PartnerID) async throws -> Partner? {
        let result = try await pool.query("SELECT name, status, amqp_user FROM gateway.partners WHERE id = \(id.value)")
        guard let row = result.rows.first else { return nil }
        let grants = try await loadGrants(id.value)
        let rows = try await pool.query(
            """
            SELECT version, kind, public_key_pem, secret_sealed, valid_until FROM gateway.credentials
            WHERE partner_id = \(id.value) AND (valid_until IS NULL OR valid_until > now()) ORDER BY version DESC
            """)
        var credentials: [Partner.Credential] = []
        for row in rows.rows {
            let version: Int = try row.decode(column: "version")
            let kind: String = try row.decode(column: "kind")
            let validUntil = try row.decode(Date?.self, column: "valid_until")
            switch kind {
            case "sm2":
                let pem: String = try row.decode(column: "public_key_pem")
                guard let key = try? SM2.PublicKey(pemRepresentation: pem) else { continue }
                credentials.append(Partner.Credential(version: version, key: .sm2(key), validUntil: validUntil))
            case "hmac-sm3":
                let sealed: [UInt8] = try row.decode(column: "secret_sealed")
                let secret: Data
                do {
                    secret = try SM4.open(
                        try SM4.SealedBox(combined: sealed), using: keyring,
                        authenticating: Self.associatedData(id.value, version))
                } catch {
                    throw PartnerStoreError(
                        "sealedSecret",
                        "the HMAC secret of partner '\(id.value)' version \(version) does not open with this master key")
                }
                credentials.append(
                    Partner.Credential(version: version, key: .hmacSM3(SymmetricKey(data: secret)), validUntil: validUntil))
            default:
                continue
            }
        }
        let status = Partner.Status(rawValue: try row.decode(String.self, column: "status")) ?? .revoked
        return Partner(
            id: id, name: try row.decode(column: "name"), status: status, grants: grants, credentials: credentials,
            amqpUser: try row.decode(String?.self, column: "amqp_user"))
    }

    /// Records a nonce; false if the partner used it before (a replay).
    /// - Parameters:
    ///   - partner: The partner id.
    ///   - nonce: The nonce.
    ///   - expiresAt: When the row may be pruned (the end of the timestamp window).
    /// - Returns: Whether the nonce was new.
    /// - Throws: Database errors.
    public func useNonce(partner: String, nonce: String, expiresAt: Date) async throws -> Bool {
        let result = try await pool.query(
            """
            INSERT INTO gateway.nonces (partner_id, nonce, expires_at) VALUES (\(partner), \(nonce), \(expiresAt))
            ON CONFLICT DO NOTHING
            """)
        return result.affectedRows == 1
    }

    /// Deletes expired nonces.
    /// - Returns: How many were deleted.
    /// - Throws: Database errors.
    @discardableResult
    public func pruneNonces() async throws -> Int {
        try await pool.query("DELETE FROM gateway.nonces WHERE expires_at < now()").affectedRows ?? 0
    }
}
