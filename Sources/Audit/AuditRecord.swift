public import Foundation
import HubCore
import HubCrypto

/// One record of the audit chain: a message that crossed the hub (or an access to the audit log, or a retention
/// action), with the SM3 hash that links it to the record before it.
///
/// The hash is `SM3(previousHash ‖ canonicalBytes)`; the canonical form is defined by ``canonicalBytes(sequence:)``
/// and in `docs/audit.md`. The first record of a chain links to 32 zero bytes (``AuditRecord/genesisHash``).
public struct AuditRecord: Sendable, Hashable {
    /// What a record is about.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// The name stored in the `kind` column and hashed.
        public let name: String
        private init(_ name: String) { self.name = name }
        /// A message delivered on `tap.audit` (any exchange the tap is bound to).
        public static let message = Kind("message")
        /// A query or an export of the audit log (who, what, when).
        public static let access = Kind("access")
        /// A retention action (a partition of old records dropped).
        public static let retention = Kind("retention")
        /// The kind stored under `name`, or nil when unknown.
        /// - Parameter name: The stored name.
        public init?(name: String) {
            switch name {
            case "message", "access", "retention": self.name = name
            default: return nil
            }
        }
        /// The name.
        public var description: String { name }
    }

    /// The searchable attributes of a record, taken from its envelope (or its AMQP properties when the body is not
    /// an envelope). They are hashed too, so editing them is detected.
    public struct Index: Sendable, Hashable, Codable {
        /// The envelope's `id` (or the AMQP `message_id`).
        public var messageID: String?
        /// The envelope's `type` (or the AMQP `type`).
        public var messageType: String?
        /// The envelope's `correlationid`, or its `id` when it starts a flow.
        public var correlationID: String?
        /// The envelope's `enterpriseid` (a USCC, not personal data).
        public var enterpriseID: String?

        /// Creates an index; every field is optional.
        public init(
            messageID: String? = nil, messageType: String? = nil, correlationID: String? = nil,
            enterpriseID: String? = nil
        ) {
            self.messageID = messageID
            self.messageType = messageType
            self.correlationID = correlationID
            self.enterpriseID = enterpriseID
        }

        /// The canonical JSON of the index (absent values omitted).
        var canonicalBytes: [UInt8] {
            var object = JSONObject()
            if let correlationID { object["correlationId"] = .string(correlationID) }
            if let enterpriseID { object["enterpriseId"] = .string(enterpriseID) }
            if let messageID { object["messageId"] = .string(messageID) }
            if let messageType { object["type"] = .string(messageType) }
            return JSONValue.object(object).canonicalBytes()
        }
    }

    /// The previous hash of a chain's first record: 32 zero bytes.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)
    /// The first field of every record's canonical form; a new form gets a new label.
    public static let canonicalLabel = "huitong.audit.record.v1"

    /// The chain the record belongs to (`main` in production).
    public var chain: String
    /// The position in the chain, from 1, without gaps.
    public var sequence: Int64
    /// When the sink chained the record, in microseconds since 1970-01-01T00:00:00Z (non-decreasing along the chain).
    public var receivedMicros: Int64
    /// What the record is about.
    public var kind: Kind
    /// The exchange the message was published to (`audit.access` / `audit.retention` for the sink's own records).
    public var exchange: String
    /// The routing key.
    public var routingKey: String
    /// The AMQP properties and headers as canonical JSON (see ``AuditProperties``).
    public var properties: [UInt8]
    /// The body as stored: the bytes as received, except that sensitive fields are replaced by their SM4 sealed
    /// boxes (then the body is the envelope's canonical JSON), or the whole body is one sealed box
    /// (``bodySealed``).
    public var body: [UInt8]
    /// SM3 of the body exactly as received, before any sealing.
    public var bodySM3: [UInt8]
    /// Whether ``body`` is one SM4 sealed box of a malformed body (not JSON, so its sensitive parts cannot be found).
    public var bodySealed: Bool
    /// Why the body is not a valid envelope, or nil when it is one.
    public var malformed: String?
    /// The SM4 key version that sealed fields of this record, or nil when nothing was sealed.
    public var keyVersion: UInt32?
    /// Whether the broker flagged the delivery as redelivered.
    public var redelivered: Bool
    /// The searchable attributes.
    public var index: Index
    /// The hash of the record before it (``genesisHash`` for the first).
    public var previousHash: [UInt8]
    /// `SM3(previousHash ‖ canonicalBytes())`.
    public var hash: [UInt8]

    /// Creates a record; ``hash`` is left empty until ``sealed(previousHash:)``.
    public init(
        chain: String, sequence: Int64, receivedMicros: Int64, kind: Kind, exchange: String, routingKey: String,
        properties: [UInt8], body: [UInt8], bodySM3: [UInt8], bodySealed: Bool = false, malformed: String? = nil,
        keyVersion: UInt32? = nil, redelivered: Bool = false, index: Index = Index(),
        previousHash: [UInt8] = AuditRecord.genesisHash, hash: [UInt8] = []
    ) {
        self.chain = chain
        self.sequence = sequence
        self.receivedMicros = receivedMicros
        self.kind = kind
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
        self.bodySM3 = bodySM3
        self.bodySealed = bodySealed
        self.malformed = malformed
        self.keyVersion = keyVersion
        self.redelivered = redelivered
        self.index = index
        self.previousHash = previousHash
        self.hash = hash
    }

    /// The received time as a `Date`.
    public var receivedAt: Date { Date(timeIntervalSince1970: Double(receivedMicros) / 1_000_000) }

    /// The canonical bytes of the record at a sequence number (default: its own). Every field is a 4-byte
    /// big-endian length followed by its bytes, in this order:
    ///
    /// 1. the label `huitong.audit.record.v1`; 2. chain; 3. sequence (decimal ASCII); 4. received time
    /// (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, UTC, microseconds); 5. kind; 6. exchange; 7. routing key; 8. properties
    /// (canonical JSON); 9. index (canonical JSON); 10. flags (canonical JSON: `bodySealed`, `keyVersion`,
    /// `malformed`, `redelivered`); 11. SM3 of the body as received (32 bytes); 12. the stored body.
    /// - Parameter sequence: The sequence number to use (verification tries others to diagnose reordering).
    /// - Returns: The bytes.
    public func canonicalBytes(sequence: Int64? = nil) -> [UInt8] {
        var flags = JSONObject()
        flags["bodySealed"] = .bool(bodySealed)
        flags["keyVersion"] = keyVersion.map { .number(JSONNumber(Int($0))) } ?? .null
        flags["malformed"] = malformed.map { .string($0) } ?? .null
        flags["redelivered"] = .bool(redelivered)
        var output: [UInt8] = []
        output.reserveCapacity(body.count + properties.count + 256)
        func field(_ bytes: [UInt8]) {
            let count = UInt32(truncatingIfNeeded: bytes.count)
            output.append(contentsOf: [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)])
            output.append(contentsOf: bytes)
        }
        field(Array(Self.canonicalLabel.utf8))
        field(Array(chain.utf8))
        field(Array(String(sequence ?? self.sequence).utf8))
        field(Array(AuditTime.canonical(micros: receivedMicros).utf8))
        field(Array(kind.name.utf8))
        field(Array(exchange.utf8))
        field(Array(routingKey.utf8))
        field(properties)
        field(index.canonicalBytes)
        field(JSONValue.object(flags).canonicalBytes())
        field(bodySM3)
        field(body)
        return output
    }

    /// `SM3(previousHash ‖ canonicalBytes(sequence:))`.
    /// - Parameter sequence: The sequence number to hash with (default: the record's own).
    /// - Returns: The 32-byte hash.
    /// - Throws: ``AuditError`` when SM3 fails (OpenSSL unavailable).
    public func computeHash(sequence: Int64? = nil) throws -> [UInt8] {
        var hasher = SM3()
        hasher.update(data: previousHash)
        hasher.update(data: canonicalBytes(sequence: sequence))
        do { return try hasher.finalize().bytes } catch { throw AuditError(.crypto, "SM3 failed", underlying: error) }
    }

    /// The record linked after `previousHash`, with its hash computed.
    /// - Parameter previousHash: The hash of the record before it.
    /// - Returns: The record with ``previousHash`` and ``hash`` set.
    /// - Throws: ``AuditError`` when SM3 fails.
    public func chained(after previousHash: [UInt8]) throws -> AuditRecord {
        var record = self
        record.previousHash = previousHash
        record.hash = try record.computeHash()
        return record
    }
}

/// Time formats of the audit log. Times are UTC with microseconds, because PostgreSQL's `timestamptz` keeps
/// microseconds and the hashed text must round-trip exactly.
public enum AuditTime {
    /// Microseconds since 1970 of a date (rounded to the nearest microsecond).
    /// - Parameter date: The date.
    /// - Returns: The microseconds.
    public static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    /// - Parameter micros: Microseconds since 1970.
    /// - Returns: The text.
    public static func canonical(micros: Int64) -> String {
        let (seconds, fraction) = split(micros)
        let parts = civil(seconds)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.year, parts.month, parts.day, parts.hour,
            parts.minute, parts.second, Int(fraction))
    }

    /// The same instant as PostgreSQL `timestamptz` input (`YYYY-MM-DD HH:MM:SS.ffffff+00`).
    /// - Parameter micros: Microseconds since 1970.
    /// - Returns: The text.
    public static func postgres(micros: Int64) -> String {
        let (seconds, fraction) = split(micros)
        let parts = civil(seconds)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", parts.year, parts.month, parts.day, parts.hour,
            parts.minute, parts.second, Int(fraction))
    }

    /// The UTC month (`YYYY-MM`) of an instant: the partition it belongs to.
    /// - Parameter micros: Microseconds since 1970.
    /// - Returns: The month.
    public static func month(micros: Int64) -> String {
        let parts = civil(split(micros).0)
        return String(format: "%04d-%02d", parts.year, parts.month)
    }

    private static func split(_ micros: Int64) -> (Int64, Int64) {
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        return (seconds, fraction)
    }

    /// Days-from-civil inverse (H. Hinnant's algorithm), UTC.
    static func civil(_ seconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day), Int(rest / 3600), Int(rest % 3600 / 60), Int(rest % 60))
    }
}
