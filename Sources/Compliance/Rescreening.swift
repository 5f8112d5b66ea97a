import Foundation
import HubCore
import HubRuntime
public import HubStore
import Logging

/// R-AML-9 "on every list update": after the watchlists change, the parties of the movements recorded in the last
/// `lookbackDays` are screened again. A new hit (a list entry and value never raised before) is stored and emitted
/// as `compliance.finding.raised.v1` (rule R-AML-9, `evidence.rescreening: true`) about the earliest message that
/// named the party, through the outbox. No hold is placed: the command was decided earlier; the finding is for the
/// compliance officer.
public struct Rescreening: Sendable {
    let pool: PostgresPool
    let lookbackDays: Int

    /// Creates the re-screening.
    /// - Parameters:
    ///   - pool: The database.
    ///   - lookbackDays: How far back recorded movements are screened again (default 90).
    public init(pool: PostgresPool, lookbackDays: Int = 90) {
        self.pool = pool
        self.lookbackDays = lookbackDays
    }

    /// Screens recent parties against the index.
    /// - Parameter index: The current watchlists.
    /// - Returns: How many new hits were raised.
    /// - Throws: A database error (nothing is stored then).
    @discardableResult
    public func run(index: WatchlistIndex) async throws -> Int {
        guard !index.entries.isEmpty else { return 0 }
        return try await pool.withTransaction { transaction in
            let rows = try await transaction.query(
                """
                SELECT message_id, message_type, elements::text FROM compliance.transactions \
                WHERE recorded_at >= now() - make_interval(days => \(lookbackDays)::int) ORDER BY id
                """
            ).rows
            var raised = 0
            var messages: [OutboundMessage] = []
            for row in rows {
                let messageID = try row.decode(UUID.self, at: 0)
                let messageType = try row.decode(String.self, at: 1)
                let elements = try JSONValue.parse(try row.decode(String.self, at: 2))
                var subjects: [ScreeningSubject] = []
                for role in ["debtor", "creditor"] {
                    guard let party = elements[role] else { continue }
                    if let name = party["name"]?.stringValue {
                        subjects.append(ScreeningSubject(field: .name, value: name, pointer: "\(role).name"))
                    }
                    if let uscc = party["uscc"]?.stringValue {
                        subjects.append(ScreeningSubject(field: .uscc, value: uscc, pointer: "\(role).uscc"))
                    }
                    if let id = party["idNumber"]?.stringValue {
                        subjects.append(ScreeningSubject(field: .idNumber, value: id, pointer: "\(role).idNumber"))
                    }
                    if let agent = party["agent"]?.stringValue, (try? BIC(agent)) != nil {
                        subjects.append(ScreeningSubject(field: .bic, value: agent, pointer: "\(role).agent"))
                    }
                }
                for hit in index.screen(subjects) {
                    let inserted = try await transaction.execute(
                        """
                        INSERT INTO compliance.watchlist_hits (list, entry_id, subject_key, first_message_id) \
                        VALUES (\(hit.list), \(hit.entryID), \(hit.subjectKey), \(messageID)) ON CONFLICT DO NOTHING
                        """)
                    guard inserted == 1 else { continue }
                    let findingID = UUID()
                    let evidence: JSONObject = [
                        "list": .string(hit.list), "entryId": .string(hit.entryID), "field": .string(hit.field.rawValue),
                        "party": .string(hit.pointer), "rescreening": .bool(true),
                    ]
                    let summary = "a party of an earlier movement matches a watchlist entry (list update)"
                    try await transaction.execute(
                        """
                        INSERT INTO compliance.findings (finding_id, rule, severity, subject_message_id, subject_type, \
                        summary, evidence) VALUES (\(findingID), 'R-AML-9', 'error', \(messageID), \(messageType), \
                        \(summary), \(PostgresJSON(JSONValue.object(evidence).canonicalString)))
                        """)
                    let subject = messageID.uuidString.lowercased()
                    let event = try ComplianceEvents.envelope(
                        ComplianceEvents.findingRaised,
                        data: [
                            "findingId": .string(findingID.uuidString.lowercased()), "rule": "R-AML-9", "severity": "error",
                            "summary": .string(summary), "subjectMessageId": .string(subject),
                            "subjectType": .string(messageType), "evidence": .object(evidence),
                        ],
                        correlationID: nil, causationID: messageID, enterpriseID: nil)
                    messages.append(OutboundMessage(envelope: event, aggregateKey: subject))
                    raised += 1
                }
            }
            try await Outbox.enqueue(messages, producer: "compliance.rescreening", in: transaction)
            return raised
        }
    }
}
