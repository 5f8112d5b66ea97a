import Foundation
import HubStore
public import Logging
import PaymentsService

/// `huitong payments`: read-only views of transfers for operators (account numbers masked).
public enum HubPayments {
    /// The transfers whose transfer id, client request id or batch id is `reference`.
    /// - Parameters:
    ///   - reference: A transfer id or a client reference.
    ///   - json: One JSON object per line instead of a table.
    ///   - configuration: Where the database is.
    ///   - logger: The logger.
    /// - Returns: Lines to print.
    /// - Throws: ``HubAppError``: nothing found, or the database is unreachable.
    public static func show(_ reference: String, json: Bool, configuration: HubConfiguration, logger: Logger)
        async throws -> [String]
    {
        let found = try await withPool(configuration, logger) { try await PaymentsQueries.find(reference, pool: $0) }
        guard !found.isEmpty else {
            throw HubAppError(.invalidConfiguration, "no transfer with id or client reference '\(reference)'",
                              fix: "see huitong payments list")
        }
        return try lines(found, json: json)
    }

    /// The most recently changed transfers.
    /// - Parameters:
    ///   - state: Only this state.
    ///   - limit: At most this many.
    ///   - json: One JSON object per line instead of a table.
    ///   - configuration: Where the database is.
    ///   - logger: The logger.
    /// - Returns: Lines to print.
    /// - Throws: ``HubAppError``: a bad state or limit, or the database is unreachable.
    public static func list(state: String?, limit: Int, json: Bool, configuration: HubConfiguration, logger: Logger)
        async throws -> [String]
    {
        if let state, TransferState(rawValue: state) == nil {
            throw HubAppError(.invalidConfiguration, "--state '\(state)' is not a transfer state",
                              fix: "use one of: \(TransferState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...10_000).contains(limit) else {
            throw HubAppError(.invalidConfiguration, "--limit must be from 1 to 10000")
        }
        let found = try await withPool(configuration, logger) {
            try await PaymentsQueries.list(state: state, limit: limit, pool: $0)
        }
        return try lines(found, json: json)
    }

    static func lines(_ transfers: [PaymentsQueries.TransferSummary], json: Bool) throws -> [String] {
        guard json else {
            return ["TRANSFER  STATE  RAIL  AMOUNT  REFERENCE  CREDITOR  STATUS  REASON  UPDATED"] + transfers.map(\.line)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try transfers.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    }

    private static func withPool<T: Sendable>(
        _ configuration: HubConfiguration, _ logger: Logger, _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        let postgres = try Connections.postgres(configuration)
        let pool = PostgresPool(configuration: postgres, logger: logger)
        do {
            let result = try await body(pool)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error as? HubAppError ?? HubAppError.database(error, configuration: postgres)
        }
    }
}
