public import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import HubCore
public import HubCrypto

/// The operator's wire protocol (R-ECNY-2; the real specification is not public, so this is the hub's own,
/// documented in docs/adapters.md): JSON bodies in the hub's canonical form, each signed with SM2-with-SM3 over the
/// exact body bytes, the signature (64-byte r‖s, base64) in the `X-ECNY-Signature` header, signer IDs agreed by
/// configuration (never taken from the request).
public enum ECNYProtocol {
    /// The signature header.
    public static let signatureHeader = "X-ECNY-Signature"
    /// Submit a transfer.
    public static let transfersPath = "/ecny/v1/transfers"
    /// Query a transfer by message id.
    public static let queriesPath = "/ecny/v1/transfer-queries"
    /// The adapter's callback route on the hub's HTTP server.
    public static let callbackPath = "/callbacks/ecny/v1/settlements"

    /// Signs a body.
    /// - Parameters:
    ///   - body: The exact bytes sent.
    ///   - key: The signer's private key.
    ///   - signerID: The signer's ID.
    /// - Returns: The header value (base64 of r‖s).
    /// - Throws: ``CryptoError`` when signing fails.
    public static func sign(_ body: [UInt8], key: SM2.PrivateKey, signerID: SM2.SignerID) throws -> String {
        try key.signature(for: body, signerID: signerID).rawRepresentation.base64EncodedString()
    }

    /// Verifies a body's signature header.
    /// - Parameters:
    ///   - body: The exact bytes received.
    ///   - header: The header value, if any.
    ///   - key: The peer's public key.
    ///   - signerID: The peer's agreed signer ID.
    /// - Returns: Whether the signature is present and valid.
    public static func verify(_ body: [UInt8], header: String?, key: SM2.PublicKey, signerID: SM2.SignerID) -> Bool {
        guard let header, let raw = Data(base64Encoded: header), raw.count == 64,
              let signature = try? SM2.Signature(rawRepresentation: raw)
        else { return false }
        return key.isValidSignature(signature, for: body, signerID: signerID)
    }

    /// Whether a body's `timestamp` is within `skew` of now (replayed or stale messages are refused).
    /// - Parameters:
    ///   - timestamp: The RFC 3339 text.
    ///   - skew: The allowed difference.
    ///   - now: The current time.
    /// - Returns: Whether it is fresh.
    public static func isFresh(_ timestamp: String?, skew: Duration, now: Date = Date()) -> Bool {
        guard let timestamp, let time = try? Timestamp(rfc3339: timestamp) else { return false }
        return abs(time.date.timeIntervalSince(now)) <= Double(skew.components.seconds)
    }

    /// The operator's message id for a transfer: `EC` + the transfer id's 32 hex digits (derived, so a resend
    /// can never get a new one).
    /// - Parameter transferId: The transfer id.
    /// - Returns: The message id.
    public static func messageId(for transferId: UUID) -> String {
        "EC" + transferId.uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }

    /// `yyyy-MM-dd'T'HH:mm:ss.SSS+08:00` (Asia/Shanghai, explicit zone).
    /// - Parameter date: The time.
    /// - Returns: The text.
    public static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSxxx"
        return formatter.string(from: date)
    }

    /// Maps an operator's rejection code to the ISO 20022 reason code payments reports.
    ///
    /// | operator code | ISO 20022 |
    /// |---|---|
    /// | `WALLET_NOT_FOUND` | AC01 |
    /// | `WALLET_CLOSED` | AC04 |
    /// | `WALLET_FROZEN` | AC06 |
    /// | `INSUFFICIENT_BALANCE` | AM04 |
    /// | `BALANCE_CAP_EXCEEDED` (R-ECNY-1) | AM14 |
    /// | `DUPLICATE_MESSAGE` | AM05 |
    /// | anything else | NARR |
    /// - Parameter operatorCode: The operator's code.
    /// - Returns: The ISO code.
    public static func isoReasonCode(for operatorCode: String) -> String {
        switch operatorCode {
        case "WALLET_NOT_FOUND": "AC01"
        case "WALLET_CLOSED": "AC04"
        case "WALLET_FROZEN": "AC06"
        case "INSUFFICIENT_BALANCE": "AM04"
        case "BALANCE_CAP_EXCEEDED": "AM14"
        case "DUPLICATE_MESSAGE": "AM05"
        default: "NARR"
        }
    }
}

/// Wallet balance caps per real-name tier (R-ECNY-1), from configuration (`huitong.ecny.tier-caps`, e.g.
/// `1=none,2=500000,3=20000,4=10000`). The operator holds the balances, so the operator (and the simulator,
/// from the same configuration) applies the cap; the adapter maps the rejection (`BALANCE_CAP_EXCEEDED` → AM14).
public struct TierCaps: Sendable, Hashable {
    /// The cap of each tier (nil: no cap).
    public var caps: [Int: Money?]

    /// The figures of REFERENCE.md §4 (2026): tier 1 none, 2 500,000, 3 20,000, 4 10,000.
    public static let standard = try! TierCaps(parsing: "1=none,2=500000,3=20000,4=10000")

    /// Parses `tier=amount|none,…`.
    /// - Parameter text: The setting.
    /// - Throws: `ValidationError` naming the bad entry.
    public init(parsing text: String) throws(ValidationError) {
        var caps: [Int: Money?] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let tier = Int(parts[0]), (1...4).contains(tier) else {
                throw ValidationError(.invalidFormat, rule: "R-ECNY-1", message: "tier caps are tier=amount|none with tiers 1 to 4")
            }
            if parts[1] == "none" {
                caps[tier] = .some(nil)
            } else {
                let cap = try Money(string: parts[1], currency: .cny)
                caps[tier] = .some(cap)
            }
        }
        self.caps = caps
    }

    /// R-ECNY-1: a credit is allowed iff `balance + amount ≤ cap` (no cap: always).
    /// - Parameters:
    ///   - amount: The credit.
    ///   - balance: The wallet's balance.
    ///   - tier: The wallet's tier.
    /// - Returns: Whether the credit is allowed.
    public func allowsCredit(_ amount: Money, toBalance balance: Money, tier: Int) -> Bool {
        guard let entry = caps[tier], let cap = entry else { return true }
        guard let after = try? balance.adding(amount), let order = try? after.compare(cap) else { return false }
        return order != .orderedDescending
    }
}

/// The dev keys of the e-CNY link: PEM files in one directory (`huitong.ecny.keys-dir`, default
/// `.local/keys/ecny`): `hub-private.pem`, `hub-public.pem` (the adapter signs, the operator verifies) and
/// `operator-private.pem`, `operator-public.pem` (the operator signs, the adapter verifies).
public enum ECNYKeys {
    /// The hub's private key file.
    public static let hubPrivate = "hub-private.pem"
    /// The hub's public key file.
    public static let hubPublic = "hub-public.pem"
    /// The operator's private key file.
    public static let operatorPrivate = "operator-private.pem"
    /// The operator's public key file.
    public static let operatorPublic = "operator-public.pem"

    /// Creates the missing key pairs, each file written atomically (temporary file, then rename; private keys
    /// mode 0600). Existing pairs are kept.
    /// - Parameter directory: The directory (created if needed).
    /// - Returns: The files written.
    /// - Throws: File or crypto errors.
    @discardableResult
    public static func ensure(directory: String) throws -> [String] {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Two processes starting at once (the simulator and `simulate keys`) must not interleave a pair.
        let lock = open(directory + "/.keys.lock", O_CREAT | O_RDWR, 0o600)
        if lock >= 0 { _ = flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        var written: [String] = []
        for (privateName, publicName) in [(hubPrivate, hubPublic), (operatorPrivate, operatorPublic)] {
            let privatePath = directory + "/" + privateName
            let publicPath = directory + "/" + publicName
            if manager.fileExists(atPath: privatePath) && manager.fileExists(atPath: publicPath) { continue }
            let key = try SM2.PrivateKey()
            try write(key.publicKey.pemRepresentation, to: publicPath, mode: 0o644)
            try write(key.pemRepresentation, to: privatePath, mode: 0o600)
            written += [privatePath, publicPath]
        }
        return written
    }

    private static func write(_ text: String, to path: String, mode: Int) throws {
        let temporary = path + ".tmp-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        if rename(temporary, path) != 0 {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// Reads a private key.
    /// - Parameters:
    ///   - directory: The directory.
    ///   - name: The file name.
    /// - Returns: The key.
    /// - Throws: File or crypto errors.
    public static func privateKey(_ directory: String, _ name: String) throws -> SM2.PrivateKey {
        try SM2.PrivateKey(pemRepresentation: try String(contentsOfFile: directory + "/" + name, encoding: .utf8))
    }

    /// Reads a public key.
    /// - Parameters:
    ///   - directory: The directory.
    ///   - name: The file name.
    /// - Returns: The key.
    /// - Throws: File or crypto errors.
    public static func publicKey(_ directory: String, _ name: String) throws -> SM2.PublicKey {
        try SM2.PublicKey(pemRepresentation: try String(contentsOfFile: directory + "/" + name, encoding: .utf8))
    }
}

/// The operator's answer to a transfer or a query, and the body of a settlement callback.
public struct OperatorMessage: Sendable, Hashable {
    /// The hub's message id.
    public var messageId: String
    /// The transfer id.
    public var transferId: String
    /// ACCEPTED, PROCESSING, SETTLED, REJECTED or FAILED.
    public var status: String
    /// The operator's transaction id.
    public var operatorTransactionId: String?
    /// When it settled.
    public var settledAt: String?
    /// The operator's rejection code.
    public var reasonCode: String?
    /// Its text.
    public var reason: String?
    /// The callback's id (callbacks only).
    public var notificationId: String?
    /// When the operator sent it.
    public var timestamp: String

    /// Creates a message.
    public init(
        messageId: String, transferId: String, status: String, operatorTransactionId: String? = nil,
        settledAt: String? = nil, reasonCode: String? = nil, reason: String? = nil, notificationId: String? = nil,
        timestamp: String = ECNYProtocol.timestamp()
    ) {
        self.messageId = messageId
        self.transferId = transferId
        self.status = status
        self.operatorTransactionId = operatorTransactionId
        self.settledAt = settledAt
        self.reasonCode = reasonCode
        self.reason = reason
        self.notificationId = notificationId
        self.timestamp = timestamp
    }

    /// The statuses the hub understands.
    public static let statuses: Set<String> = ["ACCEPTED", "PROCESSING", "SETTLED", "REJECTED", "FAILED"]

    /// The canonical JSON bytes.
    public var bytes: [UInt8] {
        var object: JSONObject = [
            "messageId": .string(messageId), "transferId": .string(transferId), "status": .string(status),
            "timestamp": .string(timestamp),
        ]
        if let value = operatorTransactionId { object["operatorTransactionId"] = .string(value) }
        if let value = settledAt { object["settledAt"] = .string(value) }
        if let value = reasonCode { object["reasonCode"] = .string(value) }
        if let value = reason { object["reason"] = .string(value) }
        if let value = notificationId { object["notificationId"] = .string(value) }
        return JSONValue.object(object).canonicalBytes()
    }

    /// Parses and checks a message (known status; a settlement carries its transaction id and time).
    /// - Parameter bytes: The body.
    /// - Returns: The message, or nil when malformed.
    public static func parse(_ bytes: [UInt8]) -> OperatorMessage? {
        guard let value = try? JSONValue.parse(bytes), let object = value.objectValue,
              let messageId = object["messageId"]?.stringValue, let transferId = object["transferId"]?.stringValue,
              let status = object["status"]?.stringValue, statuses.contains(status),
              let timestamp = object["timestamp"]?.stringValue
        else { return nil }
        let message = OperatorMessage(
            messageId: messageId, transferId: transferId, status: status,
            operatorTransactionId: object["operatorTransactionId"]?.stringValue,
            settledAt: object["settledAt"]?.stringValue, reasonCode: object["reasonCode"]?.stringValue,
            reason: object["reason"]?.stringValue, notificationId: object["notificationId"]?.stringValue,
            timestamp: timestamp)
        if status == "SETTLED" {
            guard message.operatorTransactionId != nil, let settledAt = message.settledAt,
                  (try? Timestamp(rfc3339: settledAt)) != nil
            else { return nil }
        }
        if status == "REJECTED" || status == "FAILED" { guard message.reasonCode != nil else { return nil } }
        return message
    }
}
