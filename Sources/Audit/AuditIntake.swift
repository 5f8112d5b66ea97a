import Foundation
public import HubAMQP
public import HubCore
public import HubCrypto

/// A message as the tap received it: routing, properties and the raw body.
public struct IncomingMessage: Sendable, Hashable {
    /// The exchange it was published to.
    public var exchange: String
    /// Its routing key.
    public var routingKey: String
    /// The AMQP properties and headers.
    public var properties: AMQPMessage.Properties
    /// The delivery mode, if set.
    public var deliveryMode: UInt8?
    /// The body bytes as received.
    public var body: [UInt8]
    /// Whether the broker flagged it redelivered.
    public var redelivered: Bool

    /// Creates a message.
    public init(
        exchange: String, routingKey: String, properties: AMQPMessage.Properties = .init(), deliveryMode: UInt8? = 2,
        body: [UInt8], redelivered: Bool = false
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.deliveryMode = deliveryMode
        self.body = body
        self.redelivered = redelivered
    }

    /// The message of a delivery.
    /// - Parameter delivery: The delivery.
    public init(_ delivery: Delivery) {
        self.init(
            exchange: delivery.exchange, routingKey: delivery.routingKey, properties: delivery.properties,
            deliveryMode: delivery.deliveryMode, body: delivery.body, redelivered: delivery.redelivered)
    }
}

/// A record ready to be chained: everything but its chain, sequence, time and hashes; plus the fingerprint that
/// detects a redelivered copy.
public struct PreparedRecord: Sendable, Hashable {
    /// The record with placeholder chain position (filled in by ``AuditStore/append(_:chain:)``).
    public var record: AuditRecord
    /// SM3 over exchange, routing key, `message_id` and the body as received (length-prefixed), or nil for the
    /// sink's own records. Equal fingerprints mean the same message crossed the same exchange again.
    public var fingerprint: [UInt8]?
}

/// Turns received messages into records: parses the envelope (without rejecting anything), takes the index,
/// seals the sensitive fields, flags malformed bodies.
public struct AuditIntake: Sendable {
    /// The sensitive fields.
    public var sensitiveFields: SensitiveFields
    /// The keyring; its current key seals.
    public var keyring: SM4.Keyring
    /// Whether a body that is not JSON is stored as one sealed box (its sensitive parts cannot be located).
    public var sealMalformedBodies: Bool
    /// The largest body parsed as JSON; larger ones are stored as received and flagged `tooLarge`.
    public var maximumParsedBytes: Int

    /// Creates an intake.
    /// - Parameters:
    ///   - sensitiveFields: The sensitive fields (default ``SensitiveFields/default``).
    ///   - keyring: The keyring.
    ///   - sealMalformedBodies: Seal bodies that are not JSON whole (default true).
    ///   - maximumParsedBytes: Largest body parsed (default 4 MiB).
    public init(
        sensitiveFields: SensitiveFields = .default, keyring: SM4.Keyring, sealMalformedBodies: Bool = true,
        maximumParsedBytes: Int = 4 << 20
    ) {
        self.sensitiveFields = sensitiveFields
        self.keyring = keyring
        self.sealMalformedBodies = sealMalformedBodies
        self.maximumParsedBytes = maximumParsedBytes
    }

    /// Prepares the record of one message. Never fails on bad input: a bad body is stored and flagged.
    /// - Parameter message: The message.
    /// - Returns: The prepared record.
    /// - Throws: ``AuditError`` `crypto` only when SM3/SM4 themselves fail.
    public func prepare(_ message: IncomingMessage) throws -> PreparedRecord {
        let bodySM3 = try Self.sm3(message.body)
        var index = AuditRecord.Index(messageID: message.properties.messageID, messageType: message.properties.type)
        var stored = message.body
        var malformed: String?
        var sealedWhole = false
        var keyVersion: UInt32?

        if message.body.count > maximumParsedBytes {
            malformed = "tooLarge: \(message.body.count) bytes, more than the \(maximumParsedBytes)-byte parse limit"
        } else {
            do {
                let value = try JSONValue.parse(message.body, limits: .init(maximumBytes: maximumParsedBytes, maximumDepth: 128))
                if let object = value.objectValue {
                    if let id = object["id"]?.stringValue { index.messageID = id }
                    if let type = object["type"]?.stringValue { index.messageType = type }
                    index.correlationID = object["correlationid"]?.stringValue ?? object["id"]?.stringValue
                    index.enterpriseID = object["enterpriseid"]?.stringValue
                }
                do { _ = try Envelope.decode(value) } catch { malformed = "invalidEnvelope: \(error.first)" }
                if let type = index.messageType, !sensitiveFields.pointers(for: type).isEmpty {
                    let (sealed, count) = try sensitiveFields.seal(value, type: type, keyring: keyring)
                    if count > 0 {
                        stored = sealed.canonicalBytes()
                        keyVersion = keyring.current.version
                    }
                }
            } catch let error as JSONParseError {
                malformed = "notJSON: \(error)"
                if sealMalformedBodies {
                    do {
                        stored = Array(try SM4.seal(message.body, using: keyring, authenticating: Self.bodyAssociatedData).combined)
                    } catch { throw AuditError(.crypto, "sealing a malformed body failed", underlying: error) }
                    sealedWhole = true
                    keyVersion = keyring.current.version
                }
            }
        }
        if index.correlationID == nil { index.correlationID = message.properties.correlationID }
        // PostgreSQL text cannot hold NUL; a NUL in a routing key, an AMQP property or a JSON string must not make a
        // batch unstorable (the raw bytes stay intact in the body and in the properties' canonical JSON).
        index.messageID = index.messageID.map(Self.text)
        index.messageType = index.messageType.map(Self.text)
        index.correlationID = index.correlationID.map(Self.text)
        index.enterpriseID = index.enterpriseID.map(Self.text)
        malformed = malformed.map(Self.text)

        let record = AuditRecord(
            chain: "", sequence: 0, receivedMicros: 0, kind: .message, exchange: Self.text(message.exchange),
            routingKey: Self.text(message.routingKey),
            properties: AuditProperties.canonicalBytes(message.properties, deliveryMode: message.deliveryMode),
            body: stored, bodySM3: bodySM3, bodySealed: sealedWhole, malformed: malformed, keyVersion: keyVersion,
            redelivered: message.redelivered, index: index)
        return PreparedRecord(record: record, fingerprint: try Self.fingerprint(message))
    }

    /// Text safe for a PostgreSQL text column: NUL becomes U+FFFD.
    static func text(_ value: String) -> String {
        value.utf8.contains(0) ? value.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : value
    }

    /// The associated data of a whole sealed body.
    static let bodyAssociatedData = Array("huitong.audit.body".utf8)

    /// SM3 over exchange, routing key, `message_id` and body, each length-prefixed.
    static func fingerprint(_ message: IncomingMessage) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for part in [Array(message.exchange.utf8), Array(message.routingKey.utf8),
            Array((message.properties.messageID ?? "").utf8), message.body]
        {
            let count = UInt32(truncatingIfNeeded: part.count)
            bytes += [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
            bytes += part
        }
        return try sm3(bytes)
    }

    static func sm3(_ bytes: [UInt8]) throws -> [UInt8] {
        do { return try SM3.hash(data: bytes).bytes } catch { throw AuditError(.crypto, "SM3 failed", underlying: error) }
    }

    /// A record of the sink's own (an access or a retention action): `body` is canonical JSON.
    /// - Parameters:
    ///   - kind: The kind.
    ///   - exchange: `audit.access` or `audit.retention`.
    ///   - routingKey: The action, e.g. `audit.query`.
    ///   - body: The JSON body.
    /// - Returns: The prepared record.
    /// - Throws: ``AuditError`` `crypto` when SM3 fails.
    public static func internalRecord(kind: AuditRecord.Kind, exchange: String, routingKey: String, body: JSONValue)
        throws -> PreparedRecord
    {
        let bytes = body.canonicalBytes()
        let record = AuditRecord(
            chain: "", sequence: 0, receivedMicros: 0, kind: kind, exchange: exchange, routingKey: routingKey,
            properties: JSONValue.object(JSONObject()).canonicalBytes(), body: bytes, bodySM3: try sm3(bytes))
        return PreparedRecord(record: record, fingerprint: nil)
    }
}
