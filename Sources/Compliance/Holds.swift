public import Foundation
import HubCore
import HubRuntime
public import HubStore
public import Logging
public import ServiceLifecycle

/// Reviewers' work on holds: list, release, reject; and expiry. Every decision is stored and emitted as a message
/// through the outbox in the same transaction (so it is audited and reaches payments).
public struct ComplianceHolds: Sendable {
    /// A hold as reviewers see it (no personal data: the held command is named by id and type).
    public struct Hold: Sendable, Hashable, Encodable {
        /// The hold.
        public var holdID: UUID
        /// The held command's envelope id.
        public var subjectMessageID: UUID
        /// The held command's type.
        public var subjectType: String
        /// The business flow.
        public var correlationID: UUID?
        /// The enterprise (USCC).
        public var enterpriseID: String?
        /// Why (rule IDs).
        public var rules: [String]
        /// Why (text).
        public var reason: String
        /// `open`, `released`, `rejected`, `expired`.
        public var status: String
        /// Approvals a release needs (2 in four-eyes mode).
        public var approvalsRequired: Int
        /// Reviewers who approved release so far.
        public var approvals: [String]
        /// When it was placed.
        public var placedAt: Date
        /// When it expires into a rejection.
        public var expiresAt: Date
        /// When it was decided.
        public var decidedAt: Date?
        /// The decision's reason.
        public var decisionReason: String?

        private enum CodingKeys: String, CodingKey {
            case holdID = "holdId", subjectMessageID = "subjectMessageId", subjectType, correlationID = "correlationId"
            case enterpriseID = "enterpriseId", rules, reason, status, approvalsRequired, approvals, placedAt, expiresAt
            case decidedAt, decisionReason
        }

        /// JSON with UUIDs in the hub's canonical lowercase form and times in RFC 3339.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(holdID.uuidString.lowercased(), forKey: .holdID)
            try container.encode(subjectMessageID.uuidString.lowercased(), forKey: .subjectMessageID)
            try container.encode(subjectType, forKey: .subjectType)
            try container.encodeIfPresent(correlationID?.uuidString.lowercased(), forKey: .correlationID)
            try container.encodeIfPresent(enterpriseID, forKey: .enterpriseID)
            try container.encode(rules, forKey: .rules)
            try container.encode(reason, forKey: .reason)
            try container.encode(status, forKey: .status)
            try container.encode(approvalsRequired, forKey: .approvalsRequired)
            try container.encode(approvals, forKey: .approvals)
            try container.encode(Timestamp(placedAt).text, forKey: .placedAt)
            try container.encode(Timestamp(expiresAt).text, forKey: .expiresAt)
            try container.encodeIfPresent(decidedAt.map { Timestamp($0).text }, forKey: .decidedAt)
            try container.encodeIfPresent(decisionReason, forKey: .decisionReason)
        }
    }

    /// A reviewer's mistake or a hold in the wrong state (one line, log-safe).
    public struct ReviewError: Error, Sendable, CustomStringConvertible {
        /// What is wrong.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// What a decision did.
    public enum Outcome: Sendable, Hashable {
        /// Released (emitted `compliance.hold.released.v1`).
        case released(reviewers: [String])
        /// Rejected (emitted `compliance.hold.rejected.v1`).
        case rejected(reviewers: [String])
        /// Four-eyes: the first approval is recorded (emitted `compliance.hold.reviewed.v1`); another reviewer must
        /// approve.
        case awaitingSecondReviewer(approvals: [String])
    }

    /// The database.
    public let pool: PostgresPool

    /// Creates the reviewers' API.
    /// - Parameter pool: The database pool.
    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// Lists holds.
    /// - Parameters:
    ///   - status: Only this status (nil: all).
    ///   - correlationID: Only this business flow.
    ///   - limit: At most this many, newest first.
    /// - Returns: The holds.
    public func list(status: String? = "open", correlationID: UUID? = nil, limit: Int = 100) async throws -> [Hold] {
        let rows = try await pool.query(
            """
            SELECT h.hold_id, h.subject_message_id, h.subject_type, h.correlation_id, h.enterprise_id, \
            array_to_string(h.rules, ','), h.reason, h.status, h.approvals_required, h.placed_at, h.expires_at, \
            h.decided_at, h.decision_reason, \
            coalesce((SELECT string_agg(r.reviewer, ',' ORDER BY r.reviewed_at) FROM compliance.hold_reviews r \
                      WHERE r.hold_id = h.hold_id AND r.decision = 'release'), '') \
            FROM compliance.holds h WHERE (\(status)::text IS NULL OR h.status = \(status)) \
            AND (\(correlationID)::uuid IS NULL OR h.correlation_id = \(correlationID)) \
            ORDER BY h.placed_at DESC LIMIT \(limit)
            """
        ).rows
        return try rows.map { row in
            Hold(
                holdID: try row.decode(UUID.self, at: 0), subjectMessageID: try row.decode(UUID.self, at: 1),
                subjectType: try row.decode(String.self, at: 2), correlationID: try row.decode(UUID?.self, at: 3),
                enterpriseID: try row.decode(String?.self, at: 4),
                rules: try row.decode(String.self, at: 5).split(separator: ",").map(String.init),
                reason: try row.decode(String.self, at: 6), status: try row.decode(String.self, at: 7),
                approvalsRequired: Int(try row.decode(Int32.self, at: 8)), approvals: try row.decode(String.self, at: 13)
                    .split(separator: ",").map(String.init),
                placedAt: try row.decode(Date.self, at: 9), expiresAt: try row.decode(Date.self, at: 10),
                decidedAt: try row.decode(Date?.self, at: 11), decisionReason: try row.decode(String?.self, at: 12))
        }
    }

    /// Releases a hold (in four-eyes mode, the second different reviewer's approval releases it).
    /// - Parameters:
    ///   - holdID: The hold.
    ///   - reviewer: Who decides.
    ///   - reason: Why (required).
    /// - Returns: What happened.
    /// - Throws: ``ReviewError`` (unknown hold, already decided, same reviewer twice, empty reason), or a database
    ///   error.
    public func release(_ holdID: UUID, reviewer: String, reason: String) async throws -> Outcome {
        try await decide(holdID, decision: "release", reviewer: reviewer, reason: reason)
    }

    /// Rejects a hold (one reviewer suffices, also in four-eyes mode: the safe outcome needs no second pair of eyes).
    /// - Parameters:
    ///   - holdID: The hold.
    ///   - reviewer: Who decides.
    ///   - reason: Why (required).
    /// - Returns: What happened.
    /// - Throws: ``ReviewError`` or a database error.
    public func reject(_ holdID: UUID, reviewer: String, reason: String) async throws -> Outcome {
        try await decide(holdID, decision: "reject", reviewer: reviewer, reason: reason)
    }

    private func decide(_ holdID: UUID, decision: String, reviewer: String, reason: String) async throws -> Outcome {
        let reviewer = reviewer.trimmingCharacters(in: .whitespacesAndNewlines)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reviewer.isEmpty else { throw ReviewError(message: "a decision needs a reviewer name (--as)") }
        guard !reason.isEmpty else { throw ReviewError(message: "a decision needs a reason (--reason)") }
        guard !reviewer.hasPrefix("system:") else {
            throw ReviewError(message: "reviewer names starting with 'system:' are reserved for the hub's own decisions")
        }
        return try await pool.withTransaction { transaction in
            let rows = try await transaction.query(
                """
                SELECT subject_message_id, subject_type, correlation_id, enterprise_id, status, approvals_required \
                FROM compliance.holds WHERE hold_id = \(holdID) FOR UPDATE
                """
            ).rows
            guard let row = rows.first else { throw ReviewError(message: "no hold \(holdID.uuidString.lowercased())") }
            let subject = try row.decode(UUID.self, at: 0)
            let correlation = try row.decode(UUID?.self, at: 2)
            let enterprise = try row.decode(String?.self, at: 3)
            let status = try row.decode(String.self, at: 4)
            let required = Int(try row.decode(Int32.self, at: 5))
            guard status == "open" else {
                throw ReviewError(message: "hold \(holdID.uuidString.lowercased()) is already \(status)")
            }
            let previous = try await transaction.query(
                "SELECT reviewer FROM compliance.hold_reviews WHERE hold_id = \(holdID) ORDER BY reviewed_at"
            ).rows.map { try $0.decode(String.self, at: 0) }
            guard !previous.contains(reviewer) else {
                throw ReviewError(message: "\(reviewer) already reviewed this hold; four-eyes needs a different reviewer")
            }
            try await transaction.execute(
                """
                INSERT INTO compliance.hold_reviews (hold_id, reviewer, decision, reason) \
                VALUES (\(holdID), \(reviewer), \(decision), \(reason))
                """)
            let reviewers = previous + [reviewer]
            let holdText = holdID.uuidString.lowercased()
            let subjectText = subject.uuidString.lowercased()
            let reviewerValues = JSONValue.array(reviewers.map { .string($0) })
            let outcome: Outcome
            let event: Envelope
            if decision == "reject" {
                try await transaction.execute(
                    """
                    UPDATE compliance.holds SET status = 'rejected', decided_at = now(), decision_reason = \(reason) \
                    WHERE hold_id = \(holdID)
                    """)
                event = try ComplianceEvents.envelope(
                    ComplianceEvents.holdRejected,
                    data: ["holdId": .string(holdText), "subjectMessageId": .string(subjectText), "reason": .string(reason),
                           "reviewers": .array([.string(reviewer)])],
                    correlationID: correlation, causationID: subject, enterpriseID: enterprise)
                outcome = .rejected(reviewers: [reviewer])
            } else if reviewers.count >= required {
                try await transaction.execute(
                    """
                    UPDATE compliance.holds SET status = 'released', decided_at = now(), decision_reason = \(reason) \
                    WHERE hold_id = \(holdID)
                    """)
                event = try ComplianceEvents.envelope(
                    ComplianceEvents.holdReleased,
                    data: ["holdId": .string(holdText), "subjectMessageId": .string(subjectText), "reviewers": reviewerValues],
                    correlationID: correlation, causationID: subject, enterpriseID: enterprise)
                outcome = .released(reviewers: reviewers)
            } else {
                event = try ComplianceEvents.envelope(
                    ComplianceEvents.holdReviewed,
                    data: ["holdId": .string(holdText), "subjectMessageId": .string(subjectText),
                           "reviewer": .string(reviewer), "decision": .string(decision),
                           "approvals": reviewerValues, "approvalsRequired": .number(JSONNumber(required))],
                    correlationID: correlation, causationID: subject, enterpriseID: enterprise)
                outcome = .awaitingSecondReviewer(approvals: reviewers)
            }
            try await Outbox.enqueue(
                [OutboundMessage(envelope: event, aggregateKey: subjectText)], producer: "compliance.reviews",
                in: transaction)
            return outcome
        }
    }

    /// The reviewer named on a rejection by expiry (a system actor, never a person).
    public static let expiryReviewer = "system:hold-expiry"

    /// Rejects every open hold past its expiry (reviewers `["system:hold-expiry"]`, reason says it expired).
    /// - Parameter limit: At most this many per call.
    /// - Returns: The expired holds' ids.
    public func expireDue(limit: Int = 100) async throws -> [UUID] {
        try await pool.withTransaction { transaction in
            let rows = try await transaction.query(
                """
                SELECT hold_id, subject_message_id, correlation_id, enterprise_id, placed_at, expires_at \
                FROM compliance.holds WHERE status = 'open' AND expires_at <= now() \
                ORDER BY expires_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            ).rows
            var expired: [UUID] = []
            var messages: [OutboundMessage] = []
            for row in rows {
                let holdID = try row.decode(UUID.self, at: 0)
                let subject = try row.decode(UUID.self, at: 1)
                let seconds = Int(try row.decode(Date.self, at: 5).timeIntervalSince(try row.decode(Date.self, at: 4)))
                let reason = "hold expired after \(seconds) s without a decision"
                try await transaction.execute(
                    """
                    UPDATE compliance.holds SET status = 'expired', decided_at = now(), decision_reason = \(reason) \
                    WHERE hold_id = \(holdID)
                    """)
                let event = try ComplianceEvents.envelope(
                    ComplianceEvents.holdRejected,
                    data: ["holdId": .string(holdID.uuidString.lowercased()),
                           "subjectMessageId": .string(subject.uuidString.lowercased()), "reason": .string(reason),
                           "reviewers": [.string(ComplianceHolds.expiryReviewer)]],
                    correlationID: try row.decode(UUID?.self, at: 2), causationID: subject,
                    enterpriseID: try row.decode(String?.self, at: 3))
                messages.append(OutboundMessage(envelope: event, aggregateKey: subject.uuidString.lowercased()))
                expired.append(holdID)
            }
            try await Outbox.enqueue(messages, producer: "compliance.expiry", in: transaction)
            return expired
        }
    }
}

/// Expires open holds into rejections on a timer (a service of the `compliance` role).
public struct HoldExpiryService: Service {
    let holds: ComplianceHolds
    let interval: Duration
    let logger: Logger

    /// Creates the service.
    /// - Parameters:
    ///   - holds: The holds API.
    ///   - interval: How often to look for expired holds.
    ///   - logger: The logger.
    public init(holds: ComplianceHolds, interval: Duration, logger: Logger) {
        self.holds = holds
        self.interval = interval
        self.logger = logger
    }

    /// Runs until graceful shutdown.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let expired = try await holds.expireDue()
                if !expired.isEmpty { logger.info("compliance holds expired", metadata: ["compliance.expired": "\(expired.count)"]) }
            } catch {
                logger.warning("hold expiry pass failed; next pass retries", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// Reloads the watchlists when their files change (a service of the `compliance` role), and re-screens recent
/// parties once at start and after every reload (``Rescreening``).
public struct WatchlistReloader: Service {
    let store: WatchlistStore
    let interval: Duration
    let rescreening: Rescreening?
    let logger: Logger

    /// Creates the service.
    /// - Parameters:
    ///   - store: The store.
    ///   - interval: How often to compare modification times.
    ///   - rescreening: Re-screening after list updates (nil: off).
    ///   - logger: The logger.
    public init(store: WatchlistStore, interval: Duration, rescreening: Rescreening? = nil, logger: Logger) {
        self.store = store
        self.interval = interval
        self.rescreening = rescreening
        self.logger = logger
    }

    /// Runs until graceful shutdown.
    public func run() async throws {
        await rescreen()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully { break }
            do {
                if try store.reloadIfChanged() {
                    logger.info("watchlists reloaded", metadata: ["compliance.entries": "\(store.index.entries.count)"])
                    await rescreen()
                }
            } catch {
                logger.error("watchlist reload failed; the previous lists stay in use", metadata: ["error": "\(error)"])
            }
        }
    }

    private func rescreen() async {
        guard let rescreening else { return }
        do {
            let raised = try await rescreening.run(index: store.index)
            if raised > 0 { logger.warning("re-screening found new watchlist hits", metadata: ["compliance.hits": "\(raised)"]) }
        } catch {
            logger.error("re-screening failed; it runs again after the next list change", metadata: ["error.type": "\(type(of: error))"])
        }
    }
}
