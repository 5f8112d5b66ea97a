public import Foundation
public import HubCore
public import HubStore

/// The large-value reports sent (R-AML-8), for the officers who file them: what is due when.
public struct ComplianceReports: Sendable {
    /// One report, without personal data: a person's ID number is masked (an enterprise's USCC is not personal).
    public struct Summary: Sendable, Hashable, Encodable {
        /// The report.
        public var reportId: String
        /// Rule IDs.
        public var rules: [String]
        /// The customer (USCC, or a masked resident ID).
        public var customer: String
        /// `in` or `out`.
        public var direction: String
        /// The Asia/Shanghai business day.
        public var businessDay: String
        /// The day's total in the column currency.
        public var total: String
        /// The column currency.
        public var currency: String
        /// The filing deadline.
        public var deadline: String
        /// The report this one supplements, if any.
        public var supplementsReportId: String?
    }

    /// The database.
    public let pool: PostgresPool

    /// Creates the reports API.
    /// - Parameter pool: The database pool.
    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// Lists reports by deadline, soonest first.
    /// - Parameters:
    ///   - dueOnOrBefore: Only reports due on or before this day.
    ///   - limit: At most this many.
    /// - Returns: The summaries.
    public func list(dueOnOrBefore: LocalDate? = nil, limit: Int = 100) async throws -> [Summary] {
        let rows = try await pool.query(
            """
            SELECT report_id, array_to_string(rules, ','), customer_id, direction, business_day::text, total, currency, \
            deadline::text, supplements FROM compliance.reports \
            WHERE (\(dueOnOrBefore?.description)::date IS NULL OR deadline <= \(dueOnOrBefore?.description)::date) \
            ORDER BY deadline, created_at LIMIT \(limit)
            """
        ).rows
        return try rows.map { row in
            let customer = try row.decode(String.self, at: 2)
            let currency = try row.decode(String.self, at: 6)
            let total = try row.decode(Decimal.self, at: 5)
            let money = try Money.rounded(total, currency: try CurrencyCode(currency))
            return Summary(
                reportId: try row.decode(UUID.self, at: 0).uuidString.lowercased(),
                rules: try row.decode(String.self, at: 1).split(separator: ",").map(String.init),
                customer: (try? ResidentID(customer)).map { $0.description } ?? customer,
                direction: try row.decode(String.self, at: 3),
                businessDay: try row.decode(String.self, at: 4),
                total: money.amountString, currency: currency,
                deadline: try row.decode(String.self, at: 7),
                supplementsReportId: try row.decode(UUID?.self, at: 8)?.uuidString.lowercased())
        }
    }
}
