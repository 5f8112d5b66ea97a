public import Foundation
import HubCore
public import HubStore

/// Read-only views of the `payments` schema for operators (`huitong payments show|list`). Account numbers are
/// masked; nothing here changes state.
public enum PaymentsQueries {
    /// One transfer as an operator sees it.
    public struct TransferSummary: Sendable, Hashable, Codable {
        /// The transfer id.
        public var transferId: String
        /// The payer's USCC.
        public var enterpriseId: String
        /// The channel.
        public var channel: String
        /// The client's reference (the batch id for a batch line).
        public var clientRequestId: String
        /// The line's sequence, for a batch line.
        public var sequence: Int?
        /// The state.
        public var state: String
        /// The rail, once routed.
        public var rail: String?
        /// The amount and currency, e.g. `1250.00 CNY`.
        public var amount: String
        /// The payee, masked.
        public var creditor: String
        /// The value date.
        public var valueDate: String
        /// The last adapter status (ACSP, ACSC, RJCT, …).
        public var lastStatus: String?
        /// The reason code of a rejection or failure.
        public var reasonCode: String?
        /// Status queries sent.
        public var queries: Int
        /// The UETR, for interbank transfers.
        public var uetr: String?
        /// When it was accepted.
        public var createdAt: Date
        /// When it last changed.
        public var updatedAt: Date

        /// One line for a table.
        public var line: String {
            let reference = sequence.map { "\(clientRequestId)#\($0)" } ?? clientRequestId
            return [transferId, state, rail ?? "-", amount, reference, creditor, lastStatus ?? "-", reasonCode ?? "-",
                    Timestamp(updatedAt).text].joined(separator: "  ")
        }
    }

    /// Transfers whose transfer id, client request id or batch id is `reference`.
    /// - Parameters:
    ///   - reference: A transfer id (UUID) or a client reference.
    ///   - pool: The database.
    /// - Returns: The transfers, oldest first.
    /// - Throws: A database error.
    public static func find(_ reference: String, pool: PostgresPool) async throws -> [TransferSummary] {
        let uuid = UUID(uuidString: reference)
        let rows = try await pool.query(
            """
            SELECT transfer_id, enterprise_id, channel, client_request_id, line_sequence, state, rail, amount::text, \
            currency, instruction::text, value_date::text, last_status, reason_code, query_count, uetr, created_at, \
            updated_at FROM payments.transfers WHERE transfer_id = \(uuid) OR client_request_id = \(reference) \
            ORDER BY created_at, line_sequence LIMIT 1000
            """
        ).rows
        return try rows.map(summary)
    }

    /// The most recently changed transfers, optionally in one state.
    /// - Parameters:
    ///   - state: Only this state (a ``TransferState`` raw value).
    ///   - limit: At most this many.
    ///   - pool: The database.
    /// - Returns: The transfers, most recently changed first.
    /// - Throws: A database error.
    public static func list(state: String?, limit: Int, pool: PostgresPool) async throws -> [TransferSummary] {
        let rows = try await pool.query(
            """
            SELECT transfer_id, enterprise_id, channel, client_request_id, line_sequence, state, rail, amount::text, \
            currency, instruction::text, value_date::text, last_status, reason_code, query_count, uetr, created_at, \
            updated_at FROM payments.transfers WHERE (\(state)::text IS NULL OR state = \(state)) \
            ORDER BY updated_at DESC LIMIT \(limit)
            """
        ).rows
        return try rows.map(summary)
    }

    static func summary(_ row: PostgresRow) throws -> TransferSummary {
        let instruction = try JSONDecoder().decode(TransferInstruction.self, from: Data(try row.decode(String.self, at: 9).utf8))
        let creditor: String
        switch instruction.creditor.destination {
        case .account(let account, let agent): creditor = "\(account)@\(agent)"
        case .wallet(let wallet, let walletOperator):
            creditor = "wallet \(wallet.prefix(4))********\(wallet.suffix(4))@\(walletOperator)"
        }
        return TransferSummary(
            transferId: try row.decode(UUID.self, at: 0).uuidString.lowercased(),
            enterpriseId: try row.decode(String.self, at: 1), channel: try row.decode(String.self, at: 2),
            clientRequestId: try row.decode(String.self, at: 3), sequence: try row.decode(Int32?.self, at: 4).map(Int.init),
            state: try row.decode(String.self, at: 5), rail: try row.decode(String?.self, at: 6),
            amount: instruction.amount.description, creditor: creditor, valueDate: try row.decode(String.self, at: 10),
            lastStatus: try row.decode(String?.self, at: 11), reasonCode: try row.decode(String?.self, at: 12),
            queries: Int(try row.decode(Int32.self, at: 13)),
            uetr: try row.decode(UUID?.self, at: 14)?.uuidString.lowercased(),
            createdAt: try row.decode(Date.self, at: 15), updatedAt: try row.decode(Date.self, at: 16))
    }
}
