public import AuditSink
public import Foundation
public import Gateway
public import HubCore

/// The gateway's read endpoints backed by the audit sink's query library: `GET /v1/messages/{id}`,
/// `GET /v1/flows/{correlationId}` and `GET /v1/audit` read the audit chain through ``AuditSink/AuditReader``, so
/// every read is itself an `access` record of the chain (who: the partner id; whether unmasked; the criteria), in the
/// transaction of the read (R-SEC-3).
///
/// Records map as: id, type, correlation id and enterprise id from the record's index; `time`, `causationid` and
/// `partnerid` from the (masked) body; the envelope is the body, masked unless `unmasked` (which the gateway sets
/// only for a holder of `audit:unmask`). Records that are not messages (access and retention records, or a body
/// with no id or type) are not shown by the gateway.
public struct AuditFlowQuerying: FlowQuerying {
    /// The audit reader.
    public let reader: AuditReader
    /// The chain read (from configuration, never from the caller).
    public let chain: String

    /// Creates the query on a reader.
    /// - Parameters:
    ///   - reader: The audit reader (its keyring reveals or masks sealed fields).
    ///   - chain: The chain read.
    public init(reader: AuditReader, chain: String) {
        self.reader = reader
        self.chain = chain
    }

    /// The query of a role's context: the process's pool, and the audit keys and chain of `huitong.audit.*`.
    /// - Parameter context: The role context.
    /// - Throws: ``HubAppError`` for bad audit configuration.
    public init(context: RoleContext) throws {
        let (reader, chain) = try HubAudit.reader(context: context)
        self.init(reader: reader, chain: chain)
    }

    /// The messages of one flow in chain (arrival) order. A cursor the audit library did not issue throws
    /// ``Gateway/InvalidFlowCursor`` (422).
    public func messages(correlationId: UUID, limit: Int, cursor: String?, unmasked: Bool, reader: String) async throws
        -> FlowPage
    {
        let query = AuditQuery(
            chain: chain, correlationID: Self.text(correlationId), cursor: cursor, limit: limit)
        return try await page(query, unmasked: unmasked, reader: reader)
    }

    /// The first record of a message id (its original delivery; later copies, e.g. on `hub.dead`, follow it in the
    /// flow), or nil.
    public func message(id: MessageID, unmasked: Bool, reader: String) async throws -> FlowRecord? {
        let query = AuditQuery(chain: chain, messageID: id.description, limit: 1)
        return try await page(query, unmasked: unmasked, reader: reader).records.first
    }

    /// A reviewer's search. `partnerId` is not in the audit index: it filters the page the index returned, so such a
    /// page may hold fewer than `limit` records while `nextCursor` still leads on.
    public func search(_ search: FlowSearch, unmasked: Bool, reader: String) async throws -> FlowPage {
        let query = AuditQuery(
            chain: chain, correlationID: search.correlationID.map(Self.text), enterpriseID: search.enterpriseID,
            messageType: search.type, from: search.since, to: search.until, cursor: search.cursor, limit: search.limit)
        var page = try await page(query, unmasked: unmasked, reader: reader)
        if let partner = search.partnerID {
            page.records = page.records.filter { $0.partnerID == partner }
        }
        return page
    }

    func page(_ query: AuditQuery, unmasked: Bool, reader name: String) async throws -> FlowPage {
        let page: AuditPage
        do {
            page = try await reader.query(query, as: AuditReader.Reader(name: name, canUnmask: unmasked))
        } catch let error as AuditError where error.code == .invalidQuery {
            // Limits are the gateway's (1–500, within the library's 1–1000): only a foreign cursor gets here.
            throw InvalidFlowCursor()
        }
        return FlowPage(records: page.records.compactMap(Self.record), nextCursor: page.nextCursor)
    }

    /// The gateway's view of one audit record, or nil when it is not a message.
    /// - Parameter view: The record as the reader shows it (masked or revealed).
    /// - Returns: The flow record.
    public static func record(_ view: AuditRecordView) -> FlowRecord? {
        let record = view.record
        guard record.kind == .message, let id = record.index.messageID, let type = record.index.messageType else {
            return nil
        }
        let body = view.body
        func attribute(_ name: String) -> String? { body?[name]?.stringValue }
        return FlowRecord(
            id: id, type: type, time: attribute("time") ?? AuditTime.canonical(micros: record.receivedMicros),
            correlationID: record.index.correlationID, causationID: attribute("causationid"),
            partnerID: attribute("partnerid"), enterpriseID: record.index.enterpriseID,
            envelope: body ?? view.bodyText.map { .string($0) } ?? .null)
    }

    static func text(_ uuid: UUID) -> String { uuid.uuidString.lowercased() }
}
