public import Foundation
public import HubCore

/// A partner of the gateway: an enterprise's ERP, a bank, a fintech, or a compliance reviewer's tool.
public struct Partner: Sendable {
    /// Whether the partner may call the gateway.
    public enum Status: String, Sendable, Hashable, Codable {
        /// May call.
        case active
        /// Refused with 401 (rule GW-AUTH-REVOKED).
        case revoked
    }

    /// What a partner may do.
    public struct Grants: Sendable, Hashable, Codable {
        /// Message types it may send: exact types (`payments.transfer.request.v1`), a domain prefix
        /// (`payments.*`), or `*`.
        public var messageTypes: [String]
        /// Enterprises (USCCs) it may act for, or `*`.
        public var enterprises: [String]
        /// Roles: `partner` (send messages, read its own flows) and/or `reviewer` (read the audit endpoints).
        public var roles: [String]
        /// Whether it may read unmasked audit data (`audit:unmask`, separate from `reviewer`).
        public var auditUnmask: Bool

        /// Creates grants.
        /// - Parameters:
        ///   - messageTypes: Type patterns.
        ///   - enterprises: USCCs or `*`.
        ///   - roles: `partner`, `reviewer`.
        ///   - auditUnmask: The `audit:unmask` grant.
        public init(messageTypes: [String] = [], enterprises: [String] = [], roles: [String] = ["partner"], auditUnmask: Bool = false) {
            self.messageTypes = messageTypes
            self.enterprises = enterprises
            self.roles = roles
            self.auditUnmask = auditUnmask
        }

        /// Whether a message type is granted.
        /// - Parameter type: The full type, e.g. `payments.transfer.request.v1`.
        /// - Returns: Whether an exact type, a `domain.*` prefix or `*` matches.
        public func allows(type: String) -> Bool {
            messageTypes.contains { pattern in
                if pattern == "*" || pattern == type { return true }
                if pattern.hasSuffix(".*") { return type.hasPrefix(String(pattern.dropLast(1))) }
                return false
            }
        }

        /// Whether the partner may act for an enterprise.
        /// - Parameter enterprise: The USCC.
        /// - Returns: Whether it is granted (or `*`).
        public func allows(enterprise: String) -> Bool {
            enterprises.contains("*") || enterprises.contains(enterprise)
        }

        /// Whether the partner sends messages.
        public var isPartner: Bool { roles.contains("partner") }
        /// Whether the partner reads the audit endpoints.
        public var isReviewer: Bool { roles.contains("reviewer") }
    }

    /// One signing credential; several are valid during a rotation's overlap.
    public struct Credential: Sendable {
        /// Its version (1, 2, … per partner).
        public var version: Int
        /// The verifying key.
        public var key: VerifyingKey
        /// When it stops being accepted (nil: until rotated or revoked).
        public var validUntil: Date?

        /// Creates a credential.
        /// - Parameters:
        ///   - version: The version.
        ///   - key: The verifying key.
        ///   - validUntil: Expiry (nil: none).
        public init(version: Int, key: VerifyingKey, validUntil: Date? = nil) {
            self.version = version
            self.key = key
            self.validUntil = validUntil
        }
    }

    /// The partner id.
    public var id: PartnerID
    /// A display name.
    public var name: String
    /// Active or revoked.
    public var status: Status
    /// What it may do.
    public var grants: Grants
    /// Its credentials (expired ones are not loaded).
    public var credentials: [Credential]
    /// The RabbitMQ user of a direct AMQP partner.
    public var amqpUser: String?

    /// Creates a partner.
    /// - Parameters:
    ///   - id: The id.
    ///   - name: The name.
    ///   - status: The status.
    ///   - grants: The grants.
    ///   - credentials: The credentials.
    ///   - amqpUser: The RabbitMQ user, if any.
    public init(id: PartnerID, name: String, status: Status, grants: Grants, credentials: [Credential], amqpUser: String? = nil) {
        self.id = id
        self.name = name
        self.status = status
        self.grants = grants
        self.credentials = credentials
        self.amqpUser = amqpUser
    }

    /// Whether any credential that is valid at `now` verifies the signature.
    /// - Parameters:
    ///   - signature: The signature.
    ///   - bytes: The canonical bytes.
    ///   - now: The time.
    /// - Returns: The verifying credential's version, or nil.
    public func verify(_ signature: SignatureValue, for bytes: [UInt8], now: Date) -> Int? {
        for credential in credentials where credential.validUntil.map({ $0 > now }) ?? true {
            if credential.key.isValid(signature, for: bytes) { return credential.version }
        }
        return nil
    }
}
