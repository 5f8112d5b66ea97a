import Foundation
import HubCore
import HubStore

/// The SQL of the `payments` schema. Every function runs in the caller's transaction.
enum PaymentsStore {
    /// The statement that takes `key`'s lock, which serialises work on the key across lanes and processes until the
    /// transaction ends. Reads that the lock must protect go in a later statement (their own
    /// snapshot), never the same one; a pipeline keeps them in the same round trip.
    static func lockStatement(_ key: String) -> PostgresQuery {
        "SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))"
    }

    /// Two keys, `first` then `second` (every caller that takes both takes them in this order).
    static func lockStatement(_ first: String, then second: String) -> PostgresQuery {
        """
        SELECT pg_advisory_xact_lock(hashtextextended(\(first), 0)), \
        pg_advisory_xact_lock(hashtextextended(\(second), 0))
        """
    }

    /// The locks of a partner request: its enterprise's, then its own (the message id) — before its look-up.
    static func requestLocks(enterprise: String, subject: MessageID) -> PostgresQuery {
        lockStatement("payments:enterprise:\(enterprise)", then: "payments:subject:\(subject)")
    }

    // MARK: Idempotency (R-PAY-2/3)

    struct RecordedRequest {
        var samePayload: Bool
        var outcome: String
    }

    /// The request recorded under a client request id (R-PAY-3), read after `locks` are held, in the same round trip.
    static func recordedRequest(
        locks: PostgresQuery, enterpriseID: String, channel: String, kind: String, clientRequestId: String,
        fingerprint: [UInt8], in transaction: PostgresTransaction
    ) async throws -> RecordedRequest? {
        let rows = try await transaction.pipeline([
            locks,
            """
            SELECT payload_hash = sha256(\(fingerprint)), outcome FROM payments.requests \
            WHERE enterprise_id = \(enterpriseID) AND channel = \(channel) AND kind = \(kind) \
            AND client_request_id = \(clientRequestId)
            """,
        ])[1].rows
        guard let row = rows.first else { return nil }
        return RecordedRequest(samePayload: try row.decode(Bool.self, at: 0), outcome: try row.decode(String.self, at: 1))
    }

    /// A compliance verdict on a screened command: `cleared`, `held`, `released` or `rejected`.
    typealias Verdict = (verdict: String, holdID: String?, reason: String?)

    /// What a single transfer request needs to know before it is accepted, in one round trip with the locks it takes
    /// (the enterprise's, then the subject's: `locks`), read after they are held: the request recorded under its
    /// client request id (R-PAY-3); when `instruction` is given (it validated and does not override), whether a live
    /// transfer of the same instruction exists within the duplicate window (R-PAY-5; the predicate of
    /// ``hasDuplicate``); and the compliance verdict on `subject`, if any.
    static func lookUpTransferRequest(
        locks: PostgresQuery, enterpriseID: String, channel: String, clientRequestId: String, fingerprint: [UInt8],
        subject: UUID, instruction: TransferInstruction?, now: Date, window: Duration, in transaction: PostgresTransaction
    ) async throws -> (recorded: RecordedRequest?, duplicate: Bool, verdict: Verdict?) {
        // Without an instruction the duplicate check is switched off by its first parameter and its other
        // parameters are NULL. The look-up is a statement of its own after the locks': its snapshot is taken once
        // they are held.
        let rows = try await transaction.pipeline([
            locks,
            """
            SELECT r.payload_hash = sha256(\(fingerprint)), r.outcome, \(instruction != nil) AND EXISTS (SELECT 1 \
            FROM payments.transfers WHERE enterprise_id = \(instruction?.enterpriseID) \
            AND debtor_key = \(instruction?.debtor.destination.duplicateKey) \
            AND creditor_key = \(instruction?.creditor.destination.duplicateKey) \
            AND amount = \(instruction?.amount.amount) AND currency = \(instruction?.amount.currency.code) \
            AND value_date = \(instruction?.valueDate(now: now).description)::date \
            AND created_at > \(now.addingTimeInterval(-window.timeInterval)) AND state NOT IN ('failed', 'rejected')), \
            v.verdict, v.hold_id, v.reason \
            FROM (SELECT 1) AS one LEFT JOIN payments.requests r ON r.enterprise_id = \(enterpriseID) \
            AND r.channel = \(channel) AND r.kind = 'transfer' AND r.client_request_id = \(clientRequestId) \
            LEFT JOIN payments.compliance_verdicts v ON v.subject_message_id = \(subject)
            """,
        ])[1].rows
        guard let row = rows.first else { return (nil, false, nil) }
        let duplicate = try row.decode(Bool.self, at: 2)
        let verdict: Verdict? = try row.decode(String?.self, at: 3).map {
            ($0, try row.decode(String?.self, at: 4), try row.decode(String?.self, at: 5))
        }
        guard let outcome = try row.decode(String?.self, at: 1) else { return (nil, duplicate, verdict) }
        return (
            RecordedRequest(samePayload: try row.decode(Bool?.self, at: 0) ?? false, outcome: outcome), duplicate, verdict
        )
    }

    /// Inserts a new transfer in the state the engine has already decided for it (`change`, applied in memory to
    /// `transfer`; nil: `accepted`) and its request record, in one statement. A new transfer is written once instead
    /// of inserted as `accepted` and updated in the same transaction: one round trip and one heap tuple and set of
    /// index entries fewer.
    static func insertAccepted(
        _ transfer: TransferRecord, change: TransferChange?, channel: String, fingerprint: [UInt8], messageID: UUID,
        now: Date, in transaction: PostgresTransaction
    ) async throws {
        let instruction = try instructionJSON(transfer.instruction)
        let debtorKey = transfer.instruction.debtor.destination.duplicateKey
        let creditorKey = transfer.instruction.creditor.destination.duplicateKey
        let valueDate = transfer.instruction.valueDate(now: now).description
        let sequence = transfer.lineSequence.map { Int32($0) }
        let columns = ChangeColumns(change, transfer: transfer, now: now)
        try await transaction.execute(
            """
            WITH transfer AS (INSERT INTO payments.transfers (transfer_id, enterprise_id, channel, client_request_id, \
            batch_ref, line_sequence, retry_of, command_id, subject_message_id, correlation_id, state, instruction, \
            amount, currency, debtor_key, creditor_key, value_date, rail, settlement_date, uetr, end_to_end_id, \
            instruction_id, hold_id, last_status, reason_code, reason, eligible_at, next_check_at, final_at, created_at, \
            updated_at) VALUES \
            (\(transfer.transferID), \(transfer.enterpriseID), \(transfer.channel), \(transfer.clientRequestId), \
            \(transfer.batchRef), \(sequence), NULL, \(transfer.commandID), \(transfer.subjectMessageID), \
            \(transfer.correlationID), \(transfer.state.rawValue), \(instruction), \(transfer.instruction.amount.amount), \
            \(transfer.instruction.amount.currency.code), \(debtorKey), \(creditorKey), \(valueDate)::date, \
            \(columns.rail), \(columns.settlementDate)::date, \(columns.uetr), \(columns.endToEndId), \
            \(columns.instructionId), \(columns.holdID), \(columns.status), \(columns.reasonCode), \(columns.reason), \
            \(columns.eligibleAt), \(columns.nextCheck), \(columns.finalAt), \(now), \(now)) RETURNING transfer_id) \
            INSERT INTO payments.requests (enterprise_id, channel, kind, client_request_id, payload_hash, message_id, \
            outcome, reference_id, reason_code) SELECT \(transfer.enterpriseID), \(channel), 'transfer', \
            \(transfer.clientRequestId), sha256(\(fingerprint)), \(messageID), 'accepted', transfer_id, NULL FROM transfer
            """)
    }

    /// The `instruction` column: built as a JSON value and written canonically (Foundation's `JSONEncoder` cost ~5 %
    /// of the role's CPU here); `jsonb` keeps the same value either way.
    static func instructionJSON(_ instruction: TransferInstruction) throws(PostgresError) -> PostgresJSON {
        do {
            return PostgresJSON(try JSONValueEncoder().encode(instruction).canonicalString)
        } catch {
            throw PostgresError(code: .encodingFailed, message: "a value could not be encoded as JSON")
        }
    }

    /// The columns a change sets, as the UPDATEs of ``apply(_:to:now:in:)`` set them on a stored row.
    private struct ChangeColumns {
        var rail: String?
        var settlementDate: String?
        var uetr: UUID?
        var endToEndId: String?
        var instructionId: String?
        var holdID: String?
        var status: String?
        var reasonCode: String?
        var reason: String?
        var eligibleAt: Date?
        var nextCheck: Date?
        var finalAt: Date?

        init(_ change: TransferChange?, transfer: TransferRecord, now: Date) {
            switch change {
            case nil:
                break
            case .pendingCompliance(let holdID):
                self.holdID = holdID
            case .queued(let until):
                eligibleAt = until
            case .executing(let nextCheck):
                rail = transfer.rail?.rawValue
                settlementDate = transfer.settlementDate
                uetr = transfer.uetr
                endToEndId = transfer.endToEndId
                instructionId = transfer.instructionId
                self.nextCheck = nextCheck
            case .final(_, let status, let reasonCode, let reason):
                self.status = status
                self.reasonCode = reasonCode
                self.reason = reason
                finalAt = now
            }
        }
    }

    static func recordRequest(
        enterpriseID: String, channel: String, kind: String, clientRequestId: String, fingerprint: [UInt8],
        messageID: UUID, outcome: String, referenceID: UUID, reasonCode: String?, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            INSERT INTO payments.requests (enterprise_id, channel, kind, client_request_id, payload_hash, message_id, \
            outcome, reference_id, reason_code) VALUES (\(enterpriseID), \(channel), \(kind), \(clientRequestId), \
            sha256(\(fingerprint)), \(messageID), \(outcome), \(referenceID), \(reasonCode))
            """)
    }

    // MARK: Transfers

    static func insert(_ transfer: TransferRecord, retryOf: UUID?, now: Date, in transaction: PostgresTransaction)
        async throws
    {
        let instruction = try instructionJSON(transfer.instruction)
        let debtorKey = transfer.instruction.debtor.destination.duplicateKey
        let creditorKey = transfer.instruction.creditor.destination.duplicateKey
        let valueDate = transfer.instruction.valueDate(now: now).description
        let sequence = transfer.lineSequence.map { Int32($0) }
        try await transaction.execute(
            """
            INSERT INTO payments.transfers (transfer_id, enterprise_id, channel, client_request_id, batch_ref, \
            line_sequence, retry_of, command_id, subject_message_id, correlation_id, state, instruction, amount, \
            currency, debtor_key, creditor_key, value_date, created_at, updated_at) VALUES (\(transfer.transferID), \
            \(transfer.enterpriseID), \(transfer.channel), \(transfer.clientRequestId), \(transfer.batchRef), \
            \(sequence), \(retryOf), \(transfer.commandID), \(transfer.subjectMessageID), \
            \(transfer.correlationID), \(transfer.state.rawValue), \(instruction), \(transfer.instruction.amount.amount), \
            \(transfer.instruction.amount.currency.code), \(debtorKey), \(creditorKey), \(valueDate)::date, \(now), \
            \(now))
            """)
    }

    /// R-PAY-5: a transfer of the same debtor, creditor, amount, currency and value date created within the
    /// window that did not fail or get rejected.
    static func hasDuplicate(
        _ instruction: TransferInstruction, now: Date, window: Duration, in transaction: PostgresTransaction
    ) async throws -> Bool {
        let since = now.addingTimeInterval(-window.timeInterval)
        let rows = try await transaction.query(
            """
            SELECT 1 FROM payments.transfers WHERE enterprise_id = \(instruction.enterpriseID) \
            AND debtor_key = \(instruction.debtor.destination.duplicateKey) \
            AND creditor_key = \(instruction.creditor.destination.duplicateKey) \
            AND amount = \(instruction.amount.amount) AND currency = \(instruction.amount.currency.code) \
            AND value_date = \(instruction.valueDate(now: now).description)::date AND created_at > \(since) \
            AND state NOT IN ('failed', 'rejected') LIMIT 1
            """
        ).rows
        return !rows.isEmpty
    }

    static func transfer(_ transferID: UUID, in transaction: PostgresTransaction) async throws -> TransferRecord? {
        let rows = try await transaction.query(
            """
            SELECT transfer_id, enterprise_id, channel, client_request_id, batch_ref, line_sequence, command_id, \
            subject_message_id, correlation_id, state, instruction::text, rail, settlement_date::text, uetr, \
            end_to_end_id, instruction_id, query_count, hold_id FROM payments.transfers \
            WHERE transfer_id = \(transferID) FOR UPDATE
            """
        ).rows
        return try rows.first.map(TransferRecord.init(row:))
    }

    static func pendingTransfersStatement(subject: UUID) -> PostgresQuery {
        """
        SELECT transfer_id, enterprise_id, channel, client_request_id, batch_ref, line_sequence, command_id, \
        subject_message_id, correlation_id, state, instruction::text, rail, settlement_date::text, uetr, \
        end_to_end_id, instruction_id, query_count, hold_id FROM payments.transfers \
        WHERE subject_message_id = \(subject) AND state = 'pendingCompliance' \
        ORDER BY line_sequence NULLS FIRST, transfer_id FOR UPDATE
        """
    }

    static func dueQueued(now: Date, limit: Int, enterprise: String?, in transaction: PostgresTransaction) async throws
        -> [TransferRecord]
    {
        try await transaction.query(
            """
            SELECT transfer_id, enterprise_id, channel, client_request_id, batch_ref, line_sequence, command_id, \
            subject_message_id, correlation_id, state, instruction::text, rail, settlement_date::text, uetr, \
            end_to_end_id, instruction_id, query_count, hold_id FROM payments.transfers \
            WHERE state = 'queued' AND eligible_at <= \(now) \
            AND (\(enterprise)::text IS NULL OR enterprise_id = \(enterprise)) ORDER BY eligible_at LIMIT \(limit) \
            FOR UPDATE SKIP LOCKED
            """
        ).rows.map(TransferRecord.init(row:))
    }

    static func dueChecks(now: Date, limit: Int, enterprise: String?, in transaction: PostgresTransaction) async throws
        -> [TransferRecord]
    {
        try await transaction.query(
            """
            SELECT transfer_id, enterprise_id, channel, client_request_id, batch_ref, line_sequence, command_id, \
            subject_message_id, correlation_id, state, instruction::text, rail, settlement_date::text, uetr, \
            end_to_end_id, instruction_id, query_count, hold_id FROM payments.transfers \
            WHERE state IN ('executing', 'statusUnknown') AND next_check_at <= \(now) \
            AND (\(enterprise)::text IS NULL OR enterprise_id = \(enterprise)) ORDER BY next_check_at \
            LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """
        ).rows.map(TransferRecord.init(row:))
    }

    static func setState(
        _ transferID: UUID, _ state: TransferState, now: Date, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE payments.transfers SET state = \(state.rawValue), updated_at = \(now), \
            final_at = CASE WHEN \(state.isFinal) THEN \(now) ELSE final_at END WHERE transfer_id = \(transferID)
            """)
    }

    /// Writes `change` to the stored row of `transfer`.
    static func apply(_ change: TransferChange, to transfer: TransferRecord, now: Date, in transaction: PostgresTransaction)
        async throws
    {
        switch change {
        case .pendingCompliance(let holdID):
            try await setPending(transfer.transferID, holdID: holdID, now: now, in: transaction)
        case .queued(let until):
            try await setQueued(transfer.transferID, until: until, now: now, in: transaction)
        case .executing(let nextCheck):
            try await setExecuting(transfer, nextCheck: nextCheck, now: now, in: transaction)
        case .final(let state, let status, let reasonCode, let reason):
            try await setFinal(
                transfer.transferID, state, status: status, reasonCode: reasonCode, reason: reason, now: now, in: transaction)
        }
    }

    static func setPending(_ transferID: UUID, holdID: String?, now: Date, in transaction: PostgresTransaction)
        async throws
    {
        try await transaction.execute(
            """
            UPDATE payments.transfers SET state = 'pendingCompliance', hold_id = coalesce(\(holdID), hold_id), \
            updated_at = \(now) WHERE transfer_id = \(transferID)
            """)
    }

    static func setQueued(_ transferID: UUID, until: Date, now: Date, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE payments.transfers SET state = 'queued', eligible_at = \(until), updated_at = \(now) \
            WHERE transfer_id = \(transferID)
            """)
    }

    static func setExecuting(_ transfer: TransferRecord, nextCheck: Date, now: Date, in transaction: PostgresTransaction)
        async throws
    {
        try await transaction.execute(
            """
            UPDATE payments.transfers SET state = 'executing', rail = \(transfer.rail?.rawValue), \
            settlement_date = \(transfer.settlementDate)::date, uetr = \(transfer.uetr), \
            end_to_end_id = \(transfer.endToEndId), instruction_id = \(transfer.instructionId), \
            next_check_at = \(nextCheck), query_count = 0, eligible_at = NULL, updated_at = \(now) \
            WHERE transfer_id = \(transfer.transferID)
            """)
    }

    static func setFinal(
        _ transferID: UUID, _ state: TransferState, status: String?, reasonCode: String?, reason: String?, now: Date,
        in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE payments.transfers SET state = \(state.rawValue), last_status = coalesce(\(status), last_status), \
            reason_code = \(reasonCode), reason = \(reason), next_check_at = NULL, eligible_at = NULL, \
            updated_at = \(now), final_at = \(now) WHERE transfer_id = \(transferID)
            """)
    }

    static func setProgress(
        _ transferID: UUID, status: String, nextCheck: Date, now: Date, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE payments.transfers SET state = 'executing', last_status = \(status), next_check_at = \(nextCheck), \
            updated_at = \(now) WHERE transfer_id = \(transferID)
            """)
    }

    static func setQueried(
        _ transferID: UUID, state: TransferState, queries: Int, nextCheck: Date, now: Date,
        in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE payments.transfers SET state = \(state.rawValue), query_count = \(Int32(queries)), \
            next_check_at = \(nextCheck), updated_at = \(now) WHERE transfer_id = \(transferID)
            """)
    }

    // MARK: Compliance verdicts

    /// Records a verdict on `subject` under the subject's lock: a final one (cleared, released, rejected) replaces
    /// `held`; the first final one stands. Reads back the effective verdict and the subject's transfers still waiting
    /// for it (locked), in one round trip: the lock, the upsert and the two reads are four statements of one
    /// pipeline, each with its own snapshot.
    static func recordVerdict(
        subject: UUID, verdict: String, holdID: String?, reason: String?, now: Date, in transaction: PostgresTransaction
    ) async throws -> (effective: Verdict?, pending: [TransferRecord]) {
        let results = try await transaction.pipeline([
            lockStatement("payments:subject:\(UUIDText.format(subject))"),
            """
            INSERT INTO payments.compliance_verdicts (subject_message_id, verdict, hold_id, reason, updated_at) \
            VALUES (\(subject), \(verdict), \(holdID), \(reason), \(now)) \
            ON CONFLICT (subject_message_id) DO UPDATE SET verdict = EXCLUDED.verdict, \
            hold_id = coalesce(EXCLUDED.hold_id, payments.compliance_verdicts.hold_id), \
            reason = coalesce(EXCLUDED.reason, payments.compliance_verdicts.reason), updated_at = EXCLUDED.updated_at \
            WHERE payments.compliance_verdicts.verdict = 'held'
            """,
            verdictStatement(subject: subject),
            pendingTransfersStatement(subject: subject),
        ])
        guard let row = results[2].rows.first else { return (nil, []) }
        return (try decodeVerdict(row), try results[3].rows.map(TransferRecord.init(row:)))
    }

    static func verdict(subject: UUID, in transaction: PostgresTransaction) async throws -> Verdict? {
        try await transaction.query(verdictStatement(subject: subject)).rows.first.map(decodeVerdict(_:))
    }

    private static func verdictStatement(subject: UUID) -> PostgresQuery {
        "SELECT verdict, hold_id, reason FROM payments.compliance_verdicts WHERE subject_message_id = \(subject)"
    }

    private static func decodeVerdict(_ row: PostgresRow) throws -> Verdict {
        (try row.decode(String.self, at: 0), try row.decode(String?.self, at: 1), try row.decode(String?.self, at: 2))
    }

    // MARK: Batches

    static func insertBatch(
        ref: UUID, batch: ValidatedBatch, originalRef: UUID?, commandID: UUID, correlationID: UUID, now: Date,
        in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            INSERT INTO payments.batches (batch_ref, enterprise_id, channel, batch_id, kind, original_batch_ref, \
            command_id, correlation_id, line_count, control_sum, state, created_at) VALUES (\(ref), \
            \(batch.enterpriseID), \(batch.channel), \(batch.batchId), \(batch.kind), \(originalRef), \(commandID), \
            \(correlationID), \(Int32(batch.lines.count)), \(batch.controlSum.amount), 'accepted', \(now))
            """)
    }

    static func batchRef(enterpriseID: String, channel: String, batchId: String, in transaction: PostgresTransaction)
        async throws -> UUID?
    {
        try await transaction.query(
            """
            SELECT batch_ref FROM payments.batches WHERE enterprise_id = \(enterpriseID) AND channel = \(channel) \
            AND batch_id = \(batchId)
            """
        ).rows.first.map { try $0.decode(UUID.self, at: 0) }
    }

    struct LineResult {
        var sequence: Int
        var transferID: UUID
        var state: String
        var reasonCode: String?
    }

    static func lineResults(batchRef: UUID, in transaction: PostgresTransaction) async throws -> [LineResult] {
        try await transaction.query(
            """
            SELECT line_sequence, transfer_id, state, reason_code FROM payments.transfers WHERE batch_ref = \(batchRef) \
            UNION ALL SELECT line_sequence, transfer_id, 'rejected', reason_code FROM payments.batch_rejected_lines \
            WHERE batch_ref = \(batchRef) ORDER BY 1
            """
        ).rows.map {
            LineResult(
                sequence: Int(try $0.decode(Int32.self, at: 0)), transferID: try $0.decode(UUID.self, at: 1),
                state: try $0.decode(String.self, at: 2), reasonCode: try $0.decode(String?.self, at: 3))
        }
    }

    /// Whether a line of an earlier batch is already being retried (a retry that has not failed or been rejected).
    static func isRetried(_ transferID: UUID, in transaction: PostgresTransaction) async throws -> Bool {
        !(try await transaction.query(
            """
            SELECT 1 FROM payments.transfers WHERE retry_of = \(transferID) AND state NOT IN ('failed', 'rejected') \
            LIMIT 1
            """
        ).rows.isEmpty)
    }

    static func insertRejectedLine(
        batchRef: UUID, sequence: Int, transferID: UUID, rejection: Rejection, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            INSERT INTO payments.batch_rejected_lines (batch_ref, line_sequence, transfer_id, reason_code, reason) \
            VALUES (\(batchRef), \(Int32(sequence)), \(transferID), \(rejection.code.code), \(rejection.reason))
            """)
    }
}

/// A transfer's state change as the engine decides it (the record in memory already carries the new state and, for
/// `executing`, its rail and references).
enum TransferChange: Sendable, Equatable {
    /// Waiting for compliance, under `holdID` when a hold is known.
    case pendingCompliance(holdID: String?)
    /// Queued until `until` (a large transfer outside the HVPS window).
    case queued(until: Date)
    /// Submitted; the adapter is expected to answer before `nextCheck`.
    case executing(nextCheck: Date)
    /// A final state with the rail's status and the reason.
    case final(TransferState, status: String?, reasonCode: String?, reason: String?)
}

/// Where the engine writes a state change: `.stored` UPDATEs the transfer's row; a deferred writer keeps the change for
/// the INSERT of a transfer that is not stored yet (``PaymentsStore/insertAccepted(_:change:channel:fingerprint:messageID:now:in:)``),
/// so that a new transfer's first state costs one write instead of two.
final class TransferWriter {
    private let isDeferred: Bool
    /// The change kept by a deferred writer (the last one, if the engine decided several).
    private(set) var change: TransferChange?

    private init(isDeferred: Bool) { self.isDeferred = isDeferred }

    /// Writes every change to the stored row.
    static var stored: TransferWriter { TransferWriter(isDeferred: false) }

    /// Keeps the change for the INSERT that follows.
    static func deferred() -> TransferWriter { TransferWriter(isDeferred: true) }

    func write(_ change: TransferChange, of transfer: TransferRecord, now: Date, in transaction: PostgresTransaction)
        async throws
    {
        if isDeferred {
            self.change = change
        } else {
            try await PaymentsStore.apply(change, to: transfer, now: now, in: transaction)
        }
    }
}
