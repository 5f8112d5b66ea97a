import ComplianceChecker
import Foundation
import HubCore
import HubStore
public import Logging

/// `huitong compliance holds`: reviewers list, release and reject holds. Each decision is stored and emitted through
/// the outbox (a running hub process's relay publishes it).
public enum HubCompliance {
    /// `holds list`: lines to print (a table, or JSON).
    /// - Parameters:
    ///   - status: `open` (default), `released`, `rejected`, `expired` or `all`.
    ///   - correlationID: Only this business flow.
    ///   - limit: At most this many.
    ///   - json: JSON instead of a table.
    ///   - configuration: The database.
    ///   - logger: The logger.
    /// - Throws: ``HubAppError``.
    public static func listHolds(
        status: String, correlationID: String?, limit: Int, json: Bool, configuration: HubConfiguration, logger: Logger
    ) async throws -> [String] {
        let statuses = ["open", "released", "rejected", "expired", "all"]
        guard statuses.contains(status) else {
            throw HubAppError(.invalidConfiguration, "--status '\(status)' is unknown", fix: "use one of \(statuses.joined(separator: ", "))")
        }
        guard limit >= 1 else { throw HubAppError(.invalidConfiguration, "--limit must be at least 1") }
        let correlation = try correlationID.map { text -> UUID in
            guard let id = UUID(uuidString: text) else {
                throw HubAppError(.invalidConfiguration, "--correlation-id '\(text)' is not a UUID")
            }
            return id
        }
        let holds = try await withHolds(configuration: configuration, logger: logger) {
            try await $0.list(status: status == "all" ? nil : status, correlationID: correlation, limit: limit)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            return try holds.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        }
        var lines = ["HOLD                                  STATUS    APPROVALS  PLACED (UTC)          RULES / REASON"]
        let formatter = ISO8601DateFormatter()
        for hold in holds {
            let approvals = "\(hold.approvals.count)/\(hold.approvalsRequired)"
            lines.append(
                "\(hold.holdID.uuidString.lowercased())  \(hold.status.padding(toLength: 8, withPad: " ", startingAt: 0))  "
                    + "\(approvals.padding(toLength: 9, withPad: " ", startingAt: 0))  \(formatter.string(from: hold.placedAt))  "
                    + "\(hold.rules.joined(separator: ",")): \(hold.reason) [\(hold.subjectType) \(hold.subjectMessageID.uuidString.lowercased())]")
        }
        lines.append("\(holds.count) hold(s)")
        return lines
    }

    /// `holds release|reject`: one line describing the outcome.
    /// - Parameters:
    ///   - holdID: The hold.
    ///   - release: Release (true) or reject (false).
    ///   - reviewer: Who decides (`--as`).
    ///   - reason: Why (`--reason`).
    ///   - configuration: The database.
    ///   - logger: The logger.
    /// - Throws: ``HubAppError``.
    public static func decide(
        holdID: String, release: Bool, reviewer: String, reason: String, configuration: HubConfiguration, logger: Logger
    ) async throws -> String {
        guard let id = UUID(uuidString: holdID) else {
            throw HubAppError(.invalidConfiguration, "'\(holdID)' is not a hold id", fix: "see huitong compliance holds list")
        }
        let outcome = try await withHolds(configuration: configuration, logger: logger) { holds in
            release
                ? try await holds.release(id, reviewer: reviewer, reason: reason)
                : try await holds.reject(id, reviewer: reviewer, reason: reason)
        }
        switch outcome {
        case .released(let reviewers): return "released \(holdID) (reviewers: \(reviewers.joined(separator: ", ")))"
        case .rejected(let reviewers): return "rejected \(holdID) (reviewer: \(reviewers.joined(separator: ", ")))"
        case .awaitingSecondReviewer(let approvals):
            return "recorded approval of \(approvals.joined(separator: ", ")) for \(holdID); four-eyes: a second, different reviewer must release it"
        }
    }

    /// `reports list`: large-value reports by deadline (lines to print, or JSON lines).
    /// - Parameters:
    ///   - dueOnOrBefore: Only reports due on or before this date (`YYYY-MM-DD`).
    ///   - limit: At most this many.
    ///   - json: JSON lines instead of a table.
    ///   - configuration: The database.
    ///   - logger: The logger.
    /// - Throws: ``HubAppError``.
    public static func listReports(
        dueOnOrBefore: String?, limit: Int, json: Bool, configuration: HubConfiguration, logger: Logger
    ) async throws -> [String] {
        guard limit >= 1 else { throw HubAppError(.invalidConfiguration, "--limit must be at least 1") }
        let due = try dueOnOrBefore.map { text -> LocalDate in
            do { return try LocalDate(text) } catch {
                throw HubAppError(.invalidConfiguration, "--due '\(text)' is not a date", fix: "write e.g. 2026-11-30")
            }
        }
        let postgres = try Connections.postgres(configuration)
        let pool = PostgresPool(configuration: postgres, logger: logger)
        let reports: [ComplianceReports.Summary]
        do {
            reports = try await ComplianceReports(pool: pool).list(dueOnOrBefore: due, limit: limit)
            await pool.close()
        } catch {
            await pool.close()
            throw HubAppError.database(error, configuration: postgres)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try reports.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        }
        var lines = ["REPORT                                DEADLINE    DAY         DIR  TOTAL                  RULES          CUSTOMER"]
        for report in reports {
            lines.append(
                "\(report.reportId)  \(report.deadline)  \(report.businessDay)  \(report.direction.padding(toLength: 3, withPad: " ", startingAt: 0))  "
                    + "\((report.total + " " + report.currency).padding(toLength: 21, withPad: " ", startingAt: 0))  "
                    + "\(report.rules.joined(separator: ",").padding(toLength: 13, withPad: " ", startingAt: 0))  \(report.customer)"
                    + (report.supplementsReportId.map { " (supplements \($0))" } ?? ""))
        }
        lines.append("\(reports.count) report(s)")
        return lines
    }

    private static func withHolds<Result: Sendable>(
        configuration: HubConfiguration, logger: Logger, _ body: (ComplianceHolds) async throws -> Result
    ) async throws -> Result {
        let postgres = try Connections.postgres(configuration)
        let pool = PostgresPool(configuration: postgres, logger: logger)
        do {
            let result = try await body(ComplianceHolds(pool: pool))
            await pool.close()
            return result
        } catch let error as ComplianceHolds.ReviewError {
            await pool.close()
            throw HubAppError(.invalidConfiguration, error.message, fix: "see huitong compliance holds list --status all")
        } catch {
            await pool.close()
            if error is HubAppError { throw error }
            throw HubAppError.database(error, configuration: postgres)
        }
    }
}
