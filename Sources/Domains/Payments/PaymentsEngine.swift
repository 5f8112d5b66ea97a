import Foundation
import HubCore
import HubRuntime
import HubStore
import Logging

/// The transitions that both the handler and the timer perform: gate, route and submit, finish, query. Each
/// persists through the caller's transaction and returns the messages to put in the outbox (in publication order).
struct PaymentsEngine: Sendable {
    static let source = "urn:huitong:svc:payments"

    let configuration: PaymentsConfiguration
    let router: RailRouter

    init(configuration: PaymentsConfiguration) {
        self.configuration = configuration
        self.router = RailRouter(configuration: configuration)
    }

    // MARK: Messages

    /// A payments message about a transfer: correlation of its flow, caused by `cause` (or its command).
    func message(
        _ type: String, data: [(String, JSONValue)], transfer: TransferRecord, cause: Envelope?,
        exchange: String = Topology.ExchangeName.events
    ) throws -> OutboundMessage {
        let envelope = try Envelope(
            source: Self.source, type: MessageType(type), dataSchema: PaymentsMessageType.schemaURI(type),
            data: JSONObject(transfer.eventBase + data), correlationID: transfer.correlationID,
            causationID: cause?.id.uuid ?? transfer.commandID, enterpriseID: try? USCC(transfer.enterpriseID))
        return OutboundMessage(envelope: envelope, exchange: exchange, aggregateKey: transfer.aggregateKey)
    }

    func accepted(_ transfer: TransferRecord, cause: Envelope, now: Date) throws -> OutboundMessage {
        try message(
            PaymentsMessageType.transferAccepted,
            data: [("amount", AmountPayload(transfer.instruction.amount).json),
                   ("acceptedAt", .string(Timestamp(now).text))],
            transfer: transfer, cause: cause)
    }

    func rejected(_ transfer: TransferRecord, _ rejection: Rejection, cause: Envelope?) throws -> OutboundMessage {
        var data: [(String, JSONValue)] = [
            ("reasonCode", .string(rejection.code.code)), ("reason", .string(rejection.reason)),
        ]
        if let pointer = rejection.pointer { data.append(("pointer", .string(pointer))) }
        return try message(PaymentsMessageType.transferRejected, data: data, transfer: transfer, cause: cause)
    }

    // MARK: Gate and route

    /// After acceptance: wait for compliance (gate on, no final verdict yet), refuse (verdict rejected), or route.
    /// - Parameters:
    ///   - prefetched: The verdict on the transfer's subject when the caller already read it under the subject's
    ///     lock (`.some(nil)`: there is none yet); `nil` reads it here.
    ///   - writer: Where the state change goes (default: the stored row).
    func gateOrProceed(
        _ transfer: inout TransferRecord, cause: Envelope, now: Date, in transaction: PostgresTransaction,
        prefetched: PaymentsStore.Verdict?? = nil, writer: TransferWriter = .stored
    ) async throws -> [OutboundMessage] {
        guard configuration.complianceGate else {
            return try await proceed(&transfer, cause: cause, now: now, in: transaction, writer: writer)
        }
        let verdict: PaymentsStore.Verdict?
        if let prefetched {
            verdict = prefetched
        } else {
            verdict = try await PaymentsStore.verdict(subject: transfer.subjectMessageID, in: transaction)
        }
        switch verdict?.verdict {
        case "cleared", "released":
            return try await proceed(&transfer, cause: cause, now: now, in: transaction, writer: writer)
        case "rejected":
            return try await complianceRejected(
                &transfer, reason: verdict?.reason, cause: cause, now: now, in: transaction, writer: writer)
        default:
            transfer.state = .pendingCompliance
            transfer.holdID = verdict?.holdID
            try await writer.write(.pendingCompliance(holdID: verdict?.holdID), of: transfer, now: now, in: transaction)
            // Never the hold id: the partner must not learn that a hold exists (no tipping off, R-AML-9).
            return [try message(PaymentsMessageType.transferPendingCompliance, data: [], transfer: transfer, cause: cause)]
        }
    }

    func complianceRejected(
        _ transfer: inout TransferRecord, reason: String?, cause: Envelope?, now: Date, in transaction: PostgresTransaction,
        writer: TransferWriter = .stored
    ) async throws -> [OutboundMessage] {
        guard let next = TransferStateMachine.next(after: .complianceRejected, from: transfer.state) else { return [] }
        transfer.state = next
        let rejection = Rejection(.legalDecision, "compliance rejected the transfer after review")
        try await writer.write(
            .final(.rejected, status: nil, reasonCode: rejection.code.code,
                   reason: reason.map { String($0.prefix(140)) } ?? rejection.reason),
            of: transfer, now: now, in: transaction)
        return [try rejected(transfer, rejection, cause: cause)]
            + (try await completeBatchIfDone(transfer, cause: cause, now: now, in: transaction))
    }

    /// Routes (R-PAY-1): queue, or submit to the adapter (command on hub.commands) and emit `executing`.
    func proceed(
        _ transfer: inout TransferRecord, cause: Envelope?, now: Date, in transaction: PostgresTransaction,
        writer: TransferWriter = .stored
    ) async throws -> [OutboundMessage] {
        let decision = router.route(
            toWallet: transfer.instruction.toWallet, amount: transfer.instruction.amount,
            requestedExecutionDate: transfer.instruction.requestedExecutionDate.flatMap(CalendarDate.init), now: now)
        switch decision {
        case .queue(let until):
            transfer.state = .queued
            try await writer.write(.queued(until: until), of: transfer, now: now, in: transaction)
            return []
        case .execute(let rail, let settlementDate):
            transfer.state = .executing
            transfer.rail = rail
            transfer.settlementDate = settlementDate.description
            // Assigned once: a transfer is never resubmitted under a new reference (R-PAY-4).
            if transfer.uetr == nil, rail != .ecny { transfer.uetr = UUID() }
            if transfer.endToEndId == nil { transfer.endToEndId = transfer.defaultEndToEndId }
            if transfer.instructionId == nil { transfer.instructionId = transfer.compactTransferID }
            let nextCheck = now.addingTimeInterval(configuration.adapterTimeout.timeInterval)
            try await writer.write(.executing(nextCheck: nextCheck), of: transfer, now: now, in: transaction)
            var executing: [(String, JSONValue)] = [
                ("rail", .string(rail.rawValue)), ("settlementDate", .string(settlementDate.description)),
            ]
            if let uetr = transfer.uetr { executing.append(("uetr", .string(UUIDText.format(uetr)))) }
            if let endToEndId = transfer.endToEndId, rail != .ecny { executing.append(("endToEndId", .string(endToEndId))) }
            return [
                try submitCommand(transfer, cause: cause),
                try message(PaymentsMessageType.transferExecuting, data: executing, transfer: transfer, cause: cause),
            ]
        }
    }

    func submitCommand(_ transfer: TransferRecord, cause: Envelope?) throws -> OutboundMessage {
        let instruction = transfer.instruction
        let transferID = JSONValue.string(UUIDText.format(transfer.transferID))
        var data: [(String, JSONValue)]
        let type: String
        if case .wallet(let wallet, let walletOperator) = instruction.creditor.destination {
            type = PaymentsMessageType.ecnySubmit
            data = [("transferId", transferID)]
            if case .account(let account, let agent) = instruction.debtor.destination {
                data.append(("payerAccount", ["account": .string(account.unmaskedValue), "agent": .string(agent.value)]))
            }
            data += [
                ("payeeWallet", .string(wallet)), ("payeeOperator", .string(walletOperator)),
                ("amount", AmountPayload(instruction.amount).json), ("enterpriseId", .string(transfer.enterpriseID)),
            ]
            if let purpose = instruction.purpose { data.append(("purpose", .string(purpose))) }
        } else {
            type = PaymentsMessageType.interbankSubmit
            data = [
                ("transferId", transferID), ("uetr", .string(transfer.uetr.map(UUIDText.format) ?? "")),
                ("endToEndId", .string(transfer.endToEndId ?? "")), ("instructionId", .string(transfer.instructionId ?? "")),
                ("rail", .string(transfer.rail?.rawValue ?? "")), ("settlementDate", .string(transfer.settlementDate ?? "")),
                ("amount", AmountPayload(instruction.amount).json), ("debtor", Self.party(instruction.debtor)),
                ("creditor", Self.party(instruction.creditor)),
            ]
            if let text = instruction.remittanceInformation { data.append(("remittanceInformation", .string(text))) }
            if let purpose = instruction.purpose { data.append(("purpose", .string(purpose))) }
        }
        let envelope = try Envelope(
            source: Self.source, type: MessageType(type), dataSchema: PaymentsMessageType.schemaURI(type),
            data: JSONObject(data), correlationID: transfer.correlationID,
            causationID: cause?.id.uuid ?? transfer.commandID, enterpriseID: try? USCC(transfer.enterpriseID))
        return OutboundMessage(envelope: envelope, exchange: Topology.ExchangeName.commands, aggregateKey: transfer.aggregateKey)
    }

    static func party(_ party: ValidatedParty) -> JSONValue {
        guard case .account(let account, let agent) = party.destination else { return .object(JSONObject()) }
        return ["name": .string(party.name), "account": .string(account.unmaskedValue), "agent": .string(agent.value)]
    }

    func statusQuery(_ transfer: TransferRecord) throws -> OutboundMessage {
        let transferID = JSONValue.string(UUIDText.format(transfer.transferID))
        let type: String
        let data: [(String, JSONValue)]
        if transfer.rail == .ecny {
            type = PaymentsMessageType.ecnyStatusQuery
            data = [("transferId", transferID)]
        } else {
            type = PaymentsMessageType.interbankStatusQuery
            data = [
                ("transferId", transferID), ("uetr", .string(transfer.uetr.map(UUIDText.format) ?? "")),
                ("endToEndId", .string(transfer.endToEndId ?? "")),
            ]
        }
        let envelope = try Envelope(
            source: Self.source, type: MessageType(type), dataSchema: PaymentsMessageType.schemaURI(type),
            data: JSONObject(data), correlationID: transfer.correlationID, causationID: transfer.commandID,
            enterpriseID: try? USCC(transfer.enterpriseID))
        return OutboundMessage(envelope: envelope, exchange: Topology.ExchangeName.commands, aggregateKey: transfer.aggregateKey)
    }

    // MARK: Adapter outcomes

    enum Outcome: Sendable {
        case progress(status: String)
        case settled(status: String, settledAt: String?)
        case failed(status: String, reasonCode: String, reason: String?)
    }

    /// Applies an adapter outcome once: a final state ignores everything after it (duplicates, stale statuses).
    func apply(_ outcome: Outcome, to transfer: inout TransferRecord, cause: Envelope, now: Date,
               in transaction: PostgresTransaction, logger: Logger) async throws -> [OutboundMessage]
    {
        let input: TransferInput
        switch outcome {
        case .progress: input = .adapterProgress
        case .settled: input = .adapterSettled
        case .failed: input = .adapterFailed
        }
        guard let next = TransferStateMachine.next(after: input, from: transfer.state) else {
            logger.info("payments: adapter status ignored (duplicate, stale or out of order)",
                        metadata: ["payments.transfer.id": "\(UUIDText.format(transfer.transferID))",
                                   "payments.state": "\(transfer.state.rawValue)"])
            return []
        }
        transfer.state = next
        let rail = JSONValue.string(transfer.rail?.rawValue ?? "")
        switch outcome {
        case .progress(let status):
            let nextCheck = now.addingTimeInterval(configuration.adapterTimeout.timeInterval)
            try await PaymentsStore.setProgress(transfer.transferID, status: status, nextCheck: nextCheck, now: now, in: transaction)
            return []
        case .settled(let status, let settledAt):
            try await PaymentsStore.setFinal(transfer.transferID, .settled, status: status, reasonCode: nil, reason: nil,
                                             now: now, in: transaction)
            let event = try message(
                PaymentsMessageType.transferSettled,
                data: [("rail", rail), ("amount", AmountPayload(transfer.instruction.amount).json),
                       ("settledAt", .string(settledAt ?? Timestamp(now).text))],
                transfer: transfer, cause: cause)
            return [event] + (try await completeBatchIfDone(transfer, cause: cause, now: now, in: transaction))
        case .failed(let status, let reasonCode, let reason):
            try await PaymentsStore.setFinal(transfer.transferID, .failed, status: status, reasonCode: reasonCode,
                                             reason: reason, now: now, in: transaction)
            var data: [(String, JSONValue)] = [("rail", rail), ("reasonCode", .string(reasonCode))]
            if let reason { data.append(("reason", .string(String(reason.prefix(140))))) }
            let event = try message(PaymentsMessageType.transferFailed, data: data, transfer: transfer, cause: cause)
            return [event] + (try await completeBatchIfDone(transfer, cause: cause, now: now, in: transaction))
        }
    }

    // MARK: Timer work

    /// A due check: executing → statusUnknown (event + query), statusUnknown → another query, with back-off.
    func checkDue(_ transfer: inout TransferRecord, now: Date, in transaction: PostgresTransaction) async throws
        -> [OutboundMessage]
    {
        let input: TransferInput = transfer.state == .executing ? .adapterSilent : .queryDue
        guard let next = TransferStateMachine.next(after: input, from: transfer.state) else { return [] }
        let becameUnknown = transfer.state == .executing
        transfer.state = next
        transfer.queryCount += 1
        let nextCheck = now.addingTimeInterval(configuration.queryBackoff(afterQueries: transfer.queryCount).timeInterval)
        try await PaymentsStore.setQueried(transfer.transferID, state: next, queries: transfer.queryCount,
                                           nextCheck: nextCheck, now: now, in: transaction)
        var messages: [OutboundMessage] = []
        if becameUnknown {
            messages.append(try message(
                PaymentsMessageType.transferStatusUnknown,
                data: [("rail", .string(transfer.rail?.rawValue ?? "")),
                       ("since", .string(Timestamp(now).text))],
                transfer: transfer, cause: nil))
        }
        messages.append(try statusQuery(transfer))
        return messages
    }

    /// A queued transfer whose time came: route again.
    func release(_ transfer: inout TransferRecord, now: Date, in transaction: PostgresTransaction) async throws
        -> [OutboundMessage]
    {
        guard let next = TransferStateMachine.next(after: .eligible, from: transfer.state) else { return [] }
        transfer.state = next
        return try await proceed(&transfer, cause: nil, now: now, in: transaction)
    }

    // MARK: Batches

    /// Emits `payments.batch.completed.v1` once, when every line of the transfer's batch is final.
    func completeBatchIfDone(_ transfer: TransferRecord, cause: Envelope?, now: Date, in transaction: PostgresTransaction)
        async throws -> [OutboundMessage]
    {
        guard let batchRef = transfer.batchRef else { return [] }
        return try await completeBatchIfDone(batchRef: batchRef, cause: cause, now: now, in: transaction)
    }

    func completeBatchIfDone(batchRef: UUID, cause: Envelope?, now: Date, in transaction: PostgresTransaction)
        async throws -> [OutboundMessage]
    {
        // Locking the batch row serialises the lines' last transitions: the one that commits last sees all final.
        let batchRows = try await transaction.query(
            """
            SELECT state, batch_id, enterprise_id, command_id, correlation_id, \
            (SELECT o.batch_id FROM payments.batches o WHERE o.batch_ref = b.original_batch_ref), line_count \
            FROM payments.batches b WHERE batch_ref = \(batchRef) FOR UPDATE
            """
        ).rows
        guard let batch = batchRows.first, try batch.decode(String.self, at: 0) == "accepted" else { return [] }
        let lines = try await PaymentsStore.lineResults(batchRef: batchRef, in: transaction)
        // Every line recorded (a line can become final while the batch is still being taken in: an early
        // compliance rejection) and every line final.
        guard lines.count == Int(try batch.decode(Int32.self, at: 6)),
              lines.allSatisfy({ TransferState(rawValue: $0.state)?.isFinal == true })
        else { return [] }
        try await transaction.execute(
            "UPDATE payments.batches SET state = 'completed', completed_at = \(now) WHERE batch_ref = \(batchRef)")
        let batchId = try batch.decode(String.self, at: 1)
        var data: [(String, JSONValue)] = [
            ("batchId", .string(batchId)), ("batchRef", .string(UUIDText.format(batchRef))),
        ]
        if let original = try batch.decode(String?.self, at: 5) { data.append(("originalBatchId", .string(original))) }
        data += [
            ("settledCount", .number(JSONNumber(lines.filter { $0.state == "settled" }.count))),
            ("failedCount", .number(JSONNumber(lines.filter { $0.state == "failed" }.count))),
            ("rejectedCount", .number(JSONNumber(lines.filter { $0.state == "rejected" }.count))),
            ("lines", .array(lines.map { line in
                var members: [(String, JSONValue)] = [
                    ("sequence", .number(JSONNumber(line.sequence))),
                    ("transferId", .string(UUIDText.format(line.transferID))), ("status", .string(line.state)),
                ]
                if let code = line.reasonCode { members.append(("reasonCode", .string(code))) }
                return .object(JSONObject(members))
            })),
        ]
        let commandID = try batch.decode(UUID.self, at: 3)
        let envelope = try Envelope(
            source: Self.source, type: MessageType(PaymentsMessageType.batchCompleted),
            dataSchema: PaymentsMessageType.schemaURI(PaymentsMessageType.batchCompleted), data: JSONObject(data),
            correlationID: try batch.decode(UUID.self, at: 4), causationID: cause?.id.uuid ?? commandID,
            enterpriseID: try? USCC(try batch.decode(String.self, at: 2)))
        return [OutboundMessage(envelope: envelope, aggregateKey: UUIDText.format(batchRef))]
    }
}
