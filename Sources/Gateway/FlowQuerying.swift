public import Foundation
public import HubCore

/// One message as the audit sink recorded it.
public struct FlowRecord: Sendable {
    /// The message id.
    public var id: String
    /// The message type.
    public var type: String
    /// The envelope's `time`, RFC 3339.
    public var time: String
    /// `correlationid`, if any.
    public var correlationID: String?
    /// `causationid`, if any.
    public var causationID: String?
    /// `partnerid`, if any.
    public var partnerID: String?
    /// `enterpriseid`, if any.
    public var enterpriseID: String?
    /// The envelope as recorded: masked unless the query asked for unmasked data.
    public var envelope: JSONValue

    /// Creates a record.
    /// - Parameters:
    ///   - id: The id.
    ///   - type: The type.
    ///   - time: The time.
    ///   - correlationID: The correlation id.
    ///   - causationID: The causation id.
    ///   - partnerID: The partner id.
    ///   - enterpriseID: The enterprise id.
    ///   - envelope: The (masked) envelope.
    public init(
        id: String, type: String, time: String, correlationID: String? = nil, causationID: String? = nil,
        partnerID: String? = nil, enterpriseID: String? = nil, envelope: JSONValue
    ) {
        self.id = id
        self.type = type
        self.time = time
        self.correlationID = correlationID
        self.causationID = causationID
        self.partnerID = partnerID
        self.enterpriseID = enterpriseID
        self.envelope = envelope
    }
}

/// A page of records in arrival order, and the cursor of the next page.
public struct FlowPage: Sendable {
    /// The records.
    public var records: [FlowRecord]
    /// The cursor for the next page (nil: last page).
    public var nextCursor: String?

    /// Creates a page.
    /// - Parameters:
    ///   - records: The records.
    ///   - nextCursor: The next cursor.
    public init(records: [FlowRecord], nextCursor: String? = nil) {
        self.records = records
        self.nextCursor = nextCursor
    }
}

/// Filters of `GET /v1/audit`.
public struct FlowSearch: Sendable, Hashable {
    /// Only this flow.
    public var correlationID: UUID?
    /// Only this enterprise.
    public var enterpriseID: String?
    /// Only this message type.
    public var type: String?
    /// Only this partner.
    public var partnerID: String?
    /// Messages at or after.
    public var since: Date?
    /// Messages before.
    public var until: Date?
    /// Page size (1–500).
    public var limit: Int
    /// Cursor from a previous page.
    public var cursor: String?

    /// Creates a query.
    /// - Parameters:
    ///   - correlationID: Flow.
    ///   - enterpriseID: Enterprise.
    ///   - type: Type.
    ///   - partnerID: Partner.
    ///   - since: From.
    ///   - until: To.
    ///   - limit: Page size.
    ///   - cursor: Cursor.
    public init(
        correlationID: UUID? = nil, enterpriseID: String? = nil, type: String? = nil, partnerID: String? = nil,
        since: Date? = nil, until: Date? = nil, limit: Int = 100, cursor: String? = nil
    ) {
        self.correlationID = correlationID
        self.enterpriseID = enterpriseID
        self.type = type
        self.partnerID = partnerID
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
    }
}

/// What the gateway's read endpoints need from the audit sink's query library. HubApp backs it with the audit
/// library (`AuditFlowQuerying`); the gateway never stores messages itself. `reader` is the calling partner's id, so
/// that the audit library's access record names who read (R-SEC-3: actor).
public protocol FlowQuerying: Sendable {
    /// The messages of one flow in arrival order.
    /// - Parameters:
    ///   - correlationId: The flow.
    ///   - limit: Page size.
    ///   - cursor: Cursor from a previous page.
    ///   - unmasked: Whether sensitive fields are shown in clear (only for `audit:unmask`).
    ///   - reader: The calling partner's id.
    /// - Returns: The page.
    /// - Throws: Query errors (the gateway answers 503).
    func messages(correlationId: UUID, limit: Int, cursor: String?, unmasked: Bool, reader: String) async throws -> FlowPage
    /// One message by id.
    /// - Parameters:
    ///   - id: The message id.
    ///   - unmasked: Whether sensitive fields are shown in clear.
    ///   - reader: The calling partner's id.
    /// - Returns: The record, or nil.
    /// - Throws: Query errors.
    func message(id: MessageID, unmasked: Bool, reader: String) async throws -> FlowRecord?
    /// A reviewer's search.
    /// - Parameters:
    ///   - query: The filters.
    ///   - unmasked: Whether sensitive fields are shown in clear.
    ///   - reader: The calling partner's id.
    /// - Returns: The page.
    /// - Throws: Query errors.
    func search(_ query: FlowSearch, unmasked: Bool, reader: String) async throws -> FlowPage
}

/// Thrown by a ``FlowQuerying`` for a cursor it did not issue: the gateway answers 422 `invalid-parameter`
/// (GW-READ-3, pointer `/cursor`) instead of 503.
public struct InvalidFlowCursor: Error, Sendable {
    /// Creates it.
    public init() {}
}

/// Reports that no audit query is wired (a gateway built without the audit library): the read endpoints
/// answer 503 `audit-unavailable`.
public struct UnavailableFlowQuerying: FlowQuerying {
    /// The error it throws.
    public struct NotWired: Error, Sendable {}
    /// Creates it.
    public init() {}
    /// Throws ``NotWired``.
    public func messages(correlationId: UUID, limit: Int, cursor: String?, unmasked: Bool, reader: String) async throws
        -> FlowPage
    {
        throw NotWired()
    }
    /// Throws ``NotWired``.
    public func message(id: MessageID, unmasked: Bool, reader: String) async throws -> FlowRecord? { throw NotWired() }
    /// Throws ``NotWired``.
    public func search(_ query: FlowSearch, unmasked: Bool, reader: String) async throws -> FlowPage { throw NotWired() }
}
