public import Foundation
public import HubCore
public import HubCrypto
public import HubStore

/// What a compliance officer asks for: a flow (correlation id), an enterprise, a type, a time range; in chain
/// order, a page at a time.
public struct AuditQuery: Sendable, Hashable {
    /// The chain (default `main`).
    public var chain: String
    /// Only this business flow (the envelope's `correlationid`, or the id of the message that started it).
    public var correlationID: String?
    /// Only this enterprise (USCC).
    public var enterpriseID: String?
    /// Only this message type.
    public var messageType: String?
    /// Only the records of this message id (the envelope's `id`, or the AMQP `message_id`); the gateway's
    /// `GET /v1/messages/{id}` (index `records_message`, audit migration 2).
    public var messageID: String?
    /// Received at or after.
    public var from: Date?
    /// Received before.
    public var to: Date?
    /// Continue after this cursor (from ``AuditPage/nextCursor``).
    public var cursor: String?
    /// At most this many records (1…1000, default 100).
    public var limit: Int
    /// Also the copies a broker redelivered (marked `repeatOf`); default false.
    public var includeRepeats: Bool

    /// Creates a query; every filter is optional.
    public init(
        chain: String = "main", correlationID: String? = nil, enterpriseID: String? = nil, messageType: String? = nil,
        messageID: String? = nil, from: Date? = nil, to: Date? = nil, cursor: String? = nil, limit: Int = 100, includeRepeats: Bool = false
    ) {
        self.chain = chain
        self.correlationID = correlationID
        self.enterpriseID = enterpriseID
        self.messageType = messageType
        self.messageID = messageID
        self.from = from
        self.to = to
        self.cursor = cursor
        self.limit = limit
        self.includeRepeats = includeRepeats
    }

    /// A query from HTTP query parameters (the gateway's `GET /v1/audit`): `correlationId`, `enterpriseId`, `type`,
    /// `messageId`, `from` and `to` (RFC 3339 with an offset), `cursor`, `limit` (1–1000, default 100), `includeRepeats`
    /// (`true`/`false`). Unknown parameters are refused, so a misspelt filter never widens a query silently.
    /// - Parameters:
    ///   - parameters: The parameters (one value each).
    ///   - chain: The chain (from configuration, never from the caller).
    /// - Throws: ``AuditError`` `invalidQuery` naming the parameter and what is wrong with it.
    public init(parameters: [String: String], chain: String = "main") throws {
        let known: Set<String> = ["correlationId", "enterpriseId", "type", "messageId", "from", "to", "cursor", "limit", "includeRepeats"]
        if let unknown = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw AuditError(.invalidQuery, "unknown query parameter '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        func date(_ name: String) throws -> Date? {
            guard let text = parameters[name] else { return nil }
            do { return try Timestamp(rfc3339: text).date } catch {
                throw AuditError(.invalidQuery, "\(name) must be an RFC 3339 time with an offset, e.g. 2026-11-22T09:30:00+08:00")
            }
        }
        var limit = 100
        if let text = parameters["limit"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw AuditError(.invalidQuery, "limit must be a whole number from 1 to 1000")
            }
            limit = value
        }
        var includeRepeats = false
        if let text = parameters["includeRepeats"] {
            guard let value = Bool(text) else { throw AuditError(.invalidQuery, "includeRepeats must be true or false") }
            includeRepeats = value
        }
        if let cursor = parameters["cursor"] { _ = try AuditReader.decodeCursor(cursor) }
        let from = try date("from")
        let to = try date("to")
        if let from, let to, from >= to { throw AuditError(.invalidQuery, "from must be before to") }
        self.init(
            chain: chain, correlationID: parameters["correlationId"], enterpriseID: parameters["enterpriseId"],
            messageType: parameters["type"], messageID: parameters["messageId"], from: from, to: to, cursor: parameters["cursor"], limit: limit,
            includeRepeats: includeRepeats)
    }

    /// The criteria as JSON (recorded in the access record).
    var criteria: JSONValue {
        var object = JSONObject()
        object["chain"] = .string(chain)
        if let correlationID { object["correlationId"] = .string(correlationID) }
        if let enterpriseID { object["enterpriseId"] = .string(enterpriseID) }
        if let messageType { object["type"] = .string(messageType) }
        if let messageID { object["messageId"] = .string(messageID) }
        if let from { object["from"] = .string(AuditTime.canonical(micros: AuditTime.micros(from))) }
        if let to { object["to"] = .string(AuditTime.canonical(micros: AuditTime.micros(to))) }
        if let cursor { object["cursor"] = .string(cursor) }
        object["limit"] = .number(JSONNumber(limit))
        if includeRepeats { object["includeRepeats"] = true }
        return .object(object)
    }
}

/// One record as shown to a reader: sensitive fields masked unless the reader may unmask.
public struct AuditRecordView: Sendable, Hashable {
    /// The stored record (its body still sealed).
    public var record: AuditRecord
    /// The first record with the same fingerprint, when this one repeats it.
    public var repeatOf: Int64?
    /// The body for display: JSON with sealed fields masked or revealed, or nil when it is not JSON.
    public var body: JSONValue?
    /// The body as text or base64 when it is not JSON (or a note when it is sealed whole and not revealed).
    public var bodyText: String?

    /// The view as JSON (the gateway's and `--json`'s form).
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["seq"] = .number(JSONNumber(Int(record.sequence)))
        object["receivedAt"] = .string(AuditTime.canonical(micros: record.receivedMicros))
        object["kind"] = .string(record.kind.name)
        object["exchange"] = .string(record.exchange)
        object["routingKey"] = .string(record.routingKey)
        if let value = record.index.messageID { object["messageId"] = .string(value) }
        if let value = record.index.messageType { object["type"] = .string(value) }
        if let value = record.index.correlationID { object["correlationId"] = .string(value) }
        if let value = record.index.enterpriseID { object["enterpriseId"] = .string(value) }
        if let value = record.malformed { object["malformed"] = .string(value) }
        object["redelivered"] = .bool(record.redelivered)
        if let repeatOf { object["repeatOf"] = .number(JSONNumber(Int(repeatOf))) }
        if let version = record.keyVersion { object["keyVersion"] = .number(JSONNumber(Int(version))) }
        object["properties"] = (try? JSONValue.parse(record.properties)) ?? .null
        if let body { object["body"] = body }
        if let bodyText { object["bodyText"] = .string(bodyText) }
        object["hash"] = .string(AuditStore.hex(record.hash))
        return .object(object)
    }

    /// One line for a terminal: sequence, time, exchange, routing key, type, id.
    public var summary: String {
        "\(record.sequence)\t\(AuditTime.canonical(micros: record.receivedMicros))\t\(record.exchange)\t"
            + "\(record.routingKey)\t\(record.index.messageType ?? "-")\t\(record.index.messageID ?? "-")"
            + (record.malformed != nil ? "\tMALFORMED" : "") + (repeatOf.map { "\trepeat of \($0)" } ?? "")
    }
}

/// One page of a query.
public struct AuditPage: Sendable, Hashable {
    /// The records, in chain order.
    public var records: [AuditRecordView]
    /// The cursor of the next page, or nil when this is the last.
    public var nextCursor: String?

    /// The page as canonical JSON: `{"records": [...], "nextCursor": "…"}`.
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["records"] = .array(records.map(\.jsonValue))
        object["nextCursor"] = nextCursor.map { .string($0) } ?? .null
        return .object(object)
    }
}

/// Reads the audit log for compliance officers and the gateway; every query and export is itself appended to the
/// chain (exchange `audit.access`) before its results are returned.
public struct AuditReader: Sendable {
    /// Who is reading.
    public struct Reader: Sendable, Hashable {
        /// The reader's name (recorded).
        public var name: String
        /// Whether the reader holds `audit:unmask`.
        public var canUnmask: Bool

        /// Creates a reader.
        public init(name: String, canUnmask: Bool = false) {
            self.name = name
            self.canUnmask = canUnmask
        }
    }

    /// The store.
    public let store: AuditStore
    /// The keyring that opens sealed fields (for masks and unmasking); nil: sealed values show as unavailable.
    public let keyring: SM4.Keyring?

    /// Creates a reader.
    /// - Parameters:
    ///   - store: The store.
    ///   - keyring: The SM4 keyring.
    public init(store: AuditStore, keyring: SM4.Keyring?) {
        self.store = store
        self.keyring = keyring
    }

    /// Creates a reader on a pool.
    /// - Parameters:
    ///   - pool: The database.
    ///   - keyring: The SM4 keyring.
    public init(pool: PostgresPool, keyring: SM4.Keyring?) {
        self.init(store: AuditStore(pool: pool), keyring: keyring)
    }

    /// One page of records, and the access record of the query, in one transaction.
    /// - Parameters:
    ///   - query: The criteria.
    ///   - reader: Who asks; masked unless `canUnmask`.
    /// - Returns: The page.
    /// - Throws: ``AuditError`` `invalidQuery` for a bad limit or cursor; `PostgresError`.
    public func query(_ query: AuditQuery, as reader: Reader) async throws -> AuditPage {
        guard (1...1000).contains(query.limit) else {
            throw AuditError(.invalidQuery, "limit must be from 1 to 1000")
        }
        let after = try Self.decodeCursor(query.cursor)
        let store = self.store
        let stored = try await store.pool.withTransaction { transaction -> [AuditStore.StoredRecord] in
            let rows = try await Self.select(query, after: after, limit: query.limit + 1, in: transaction)
            var body = JSONObject()
            body["action"] = "query"
            body["reader"] = .string(reader.name)
            body["unmask"] = .bool(reader.canUnmask)
            body["criteria"] = query.criteria
            body["returned"] = .number(JSONNumber(min(rows.count, query.limit)))
            let access = try AuditIntake.internalRecord(
                kind: .access, exchange: "audit.access", routingKey: "audit.query", body: .object(body))
            try await store.append([access], chain: query.chain, in: transaction)
            return rows
        }
        let page = Array(stored.prefix(query.limit))
        return AuditPage(
            records: page.map { view($0, unmask: reader.canUnmask) },
            nextCursor: stored.count > query.limit ? page.last.map { Self.encodeCursor($0.record.sequence) } : nil)
    }

    /// Every matching record, page by page, in chain order; the export is recorded before the first record.
    /// - Parameters:
    ///   - query: The criteria (`limit` is the page size).
    ///   - reader: Who exports.
    ///   - progress: Called after each page with the count so far.
    ///   - write: Receives each record.
    /// - Returns: How many records were exported.
    /// - Throws: As ``query(_:as:)`` and `write`'s errors.
    @discardableResult
    public func export(
        _ query: AuditQuery, as reader: Reader, progress: (Int) -> Void = { _ in },
        write: (AuditRecordView) async throws -> Void
    ) async throws -> Int {
        var body = JSONObject()
        body["action"] = "export"
        body["reader"] = .string(reader.name)
        body["unmask"] = .bool(reader.canUnmask)
        body["criteria"] = query.criteria
        let access = try AuditIntake.internalRecord(
            kind: .access, exchange: "audit.access", routingKey: "audit.export", body: .object(body))
        let recorded = try await store.append([access], chain: query.chain)
        let stopAt = recorded.first?.sequence ?? Int64.max  // the export covers what existed when it started
        var after = try Self.decodeCursor(query.cursor)
        var count = 0
        let pageSize = min(max(query.limit, 1), 1000)
        while true {
            let rows = try await store.pool.withTransaction { transaction in
                try await Self.select(query, after: after, limit: pageSize, in: transaction)
            }.filter { $0.record.sequence < stopAt }
            for row in rows { try await write(view(row, unmask: reader.canUnmask)) }
            count += rows.count
            progress(count)
            guard rows.count == pageSize, let last = rows.last else { break }
            after = last.record.sequence
        }
        return count
    }

    /// The view of a stored record.
    /// - Parameters:
    ///   - stored: The record.
    ///   - unmask: Reveal sealed values.
    /// - Returns: The view.
    public func view(_ stored: AuditStore.StoredRecord, unmask: Bool) -> AuditRecordView {
        let record = stored.record
        var view = AuditRecordView(record: record, repeatOf: stored.repeatOf, body: nil, bodyText: nil)
        if record.bodySealed {
            guard unmask, let keyring, let box = try? SM4.SealedBox(combined: record.body),
                let plain = try? SM4.open(box, using: keyring, authenticating: AuditIntake.bodyAssociatedData)
            else {
                view.bodyText = "[sealed malformed body, \(record.body.count) bytes]"
                return view
            }
            view.bodyText = String(validating: Array(plain), as: UTF8.self) ?? "base64:" + plain.base64EncodedString()
            return view
        }
        if let value = try? JSONValue.parse(record.body, limits: .init(maximumBytes: 64 << 20, maximumDepth: 128)) {
            view.body = SensitiveFields.reveal(value, keyring: keyring, unmask: unmask)
        } else {
            view.bodyText = String(validating: record.body, as: UTF8.self) ?? "base64:" + Data(record.body).base64EncodedString()
        }
        return view
    }

    static func select(_ query: AuditQuery, after: Int64, limit: Int, in transaction: PostgresTransaction) async throws
        -> [AuditStore.StoredRecord]
    {
        let from = query.from.map { AuditTime.postgres(micros: AuditTime.micros($0)) }
        let to = query.to.map { AuditTime.postgres(micros: AuditTime.micros($0)) }
        return try await transaction.query(
            """
            SELECT chain, seq, (extract(epoch FROM received_at) * 1000000)::bigint AS micros, kind, exchange,
                routing_key, properties, body, body_sm3, body_sealed, malformed, key_version, redelivered, message_id,
                message_type, correlation_id, enterprise_id, repeat_of, prev_hash, hash
            FROM audit.records
            WHERE chain = \(query.chain) AND seq > \(after)
                AND (\(query.correlationID)::text IS NULL OR correlation_id = \(query.correlationID))
                AND (\(query.enterpriseID)::text IS NULL OR enterprise_id = \(query.enterpriseID))
                AND (\(query.messageType)::text IS NULL OR message_type = \(query.messageType))
                AND (\(query.messageID)::text IS NULL OR message_id = \(query.messageID))
                AND (\(from)::timestamptz IS NULL OR received_at >= \(from)::timestamptz)
                AND (\(to)::timestamptz IS NULL OR received_at < \(to)::timestamptz)
                AND (\(query.includeRepeats) OR repeat_of IS NULL OR NOT redelivered)
            ORDER BY seq LIMIT \(limit)
            """
        ).rows.map(AuditStore.decode)
    }

    static func encodeCursor(_ sequence: Int64) -> String { "s\(sequence)" }

    static func decodeCursor(_ cursor: String?) throws -> Int64 {
        guard let cursor else { return 0 }
        guard cursor.hasPrefix("s"), let value = Int64(cursor.dropFirst()), value >= 0 else {
            throw AuditError(.invalidQuery, "the cursor is not one this API returned")
        }
        return value
    }
}
