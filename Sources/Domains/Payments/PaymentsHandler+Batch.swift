import Foundation
import HubCore
import HubRuntime
import HubStore
import Logging

extension PaymentsHandler {
    /// `payments.batch.request.v1`: R-PAY-6 for the whole file, then every line as its own transfer (or a refused
    /// line), R-PAY-7 for retries of failed lines, `batch.accepted` with the per-line outcome, and `batch.completed`
    /// once every line is final.
    func handleBatchRequest(_ envelope: Envelope, now: Date, context: HandlerContext) async throws -> [OutboundMessage] {
        let payload = try Self.batchRequest(envelope)
        let transaction = context.transaction
        let batchRef = MessageID.generate().uuid
        let correlationID = envelope.correlationID ?? envelope.id.uuid
        func batchRejected(_ rejection: Rejection) throws -> OutboundMessage {
            context.logger.info("payments: batch request rejected",
                                metadata: ["payments.reason_code": "\(rejection.code)",
                                           "payments.pointer": "\(rejection.pointer ?? "")"])
            var data: [(String, JSONValue)] = [
                ("batchId", .string(payload.batchId)), ("batchRef", .string(UUIDText.format(batchRef))),
                ("reasonCode", .string(rejection.code.code)), ("reason", .string(rejection.reason)),
            ]
            if let pointer = rejection.pointer { data.append(("pointer", .string(pointer))) }
            let event = try Envelope(
                causedBy: envelope, source: PaymentsEngine.source, type: MessageType(PaymentsMessageType.batchRejected),
                dataSchema: PaymentsMessageType.schemaURI(PaymentsMessageType.batchRejected), data: JSONObject(data))
            return OutboundMessage(envelope: event, aggregateKey: UUIDText.format(batchRef))
        }
        guard let enterprise = envelope.enterpriseID else {
            return [try batchRejected(Rejection(.missingDebtorIdentification,
                                                "the envelope has no enterpriseid (the payer's USCC)", pointer: "/enterpriseid"))]
        }
        let channel: String
        do { channel = try TransferValidation.channel(payload.channel) } catch { return [try batchRejected(error)] }

        let fingerprint = RequestFingerprint.canonicalBytes(payload)
        if let recorded = try await PaymentsStore.recordedRequest(
            locks: PaymentsStore.requestLocks(enterprise: enterprise.value, subject: envelope.id),
            enterpriseID: enterprise.value, channel: channel, kind: "batch", clientRequestId: payload.batchId,
            fingerprint: fingerprint, in: transaction)
        {
            if recorded.samePayload {
                context.logger.info("payments: repeated batch request, recorded outcome stands",
                                    metadata: ["payments.outcome": "\(recorded.outcome)"])
                return []
            }
            return [try batchRejected(Rejection(
                .duplication, "batchId was already used with a different payload (R-PAY-3)", pointer: "/data/batchId"))]
        }
        do {
            let batch = try validation.validate(payload, enterpriseID: enterprise, now: now)
            // R-PAY-7: a retry names its original batch; only lines that failed there may be retried.
            var originalRef: UUID?
            var originalLines: [Int: PaymentsStore.LineResult] = [:]
            if let original = batch.originalBatchId {
                guard let ref = try await PaymentsStore.batchRef(
                    enterpriseID: enterprise.value, channel: channel, batchId: original, in: transaction)
                else {
                    throw Rejection(.noOriginal, "the original batch is unknown (R-PAY-7)", pointer: "/data/originalBatchId")
                }
                originalRef = ref
                for line in try await PaymentsStore.lineResults(batchRef: ref, in: transaction) {
                    originalLines[line.sequence] = line
                }
            }
            try await PaymentsStore.insertBatch(
                ref: batchRef, batch: batch, originalRef: originalRef, commandID: envelope.id.uuid,
                correlationID: correlationID, now: now, in: transaction)
            try await PaymentsStore.recordRequest(
                enterpriseID: enterprise.value, channel: channel, kind: "batch", clientRequestId: payload.batchId,
                fingerprint: fingerprint, messageID: envelope.id.uuid, outcome: "accepted", referenceID: batchRef,
                reasonCode: nil, in: transaction)

            var lineMessages: [OutboundMessage] = []
            var summary: [JSONValue] = []
            for (index, line) in batch.lines.enumerated() {
                let transferID = MessageID.generate().uuid
                var retryOf: UUID?
                var result = line.result
                if case .success(let instruction) = result {
                    var refusal: Rejection?
                    if originalRef != nil {
                        switch Self.retryTarget(line.sequence, originalLines, index: index) {
                        case .failure(let rejection): refusal = rejection
                        case .success(let original):
                            if try await PaymentsStore.isRetried(original, in: transaction) {
                                refusal = Rejection(.duplication, "this failed line is already retried by another "
                                                    + "batch (R-PAY-7)", pointer: "/data/lines/\(index)/sequence")
                            } else {
                                retryOf = original
                            }
                        }
                    } else if try await PaymentsStore.hasDuplicate(
                        instruction, now: now, window: configuration.duplicateWindow, in: transaction)
                    {
                        refusal = Rejection(
                            .duplication,
                            "the same payee and amount were paid from this account within the duplicate window "
                                + "(R-PAY-5)",
                            pointer: "/data/lines/\(index)")
                    }
                    if let refusal { result = .failure(refusal) }
                }
                switch result {
                case .success(let instruction):
                    var transfer = TransferRecord(
                        transferID: transferID, instruction: instruction, batchRef: batchRef,
                        lineSequence: line.sequence, commandID: envelope.id.uuid, subjectMessageID: envelope.id.uuid,
                        correlationID: correlationID)
                    try await PaymentsStore.insert(transfer, retryOf: retryOf, now: now, in: transaction)
                    lineMessages.append(try engine.accepted(transfer, cause: envelope, now: now))
                    lineMessages += try await engine.gateOrProceed(&transfer, cause: envelope, now: now, in: transaction)
                    summary.append(.object(JSONObject([
                        ("sequence", .number(JSONNumber(line.sequence))),
                        ("transferId", .string(UUIDText.format(transferID))), ("status", .string("accepted")),
                    ])))
                case .failure(let rejection):
                    try await PaymentsStore.insertRejectedLine(
                        batchRef: batchRef, sequence: line.sequence, transferID: transferID, rejection: rejection,
                        in: transaction)
                    var stub = TransferRecord(
                        transferID: transferID,
                        instruction: TransferInstruction(
                            enterpriseID: enterprise.value, channel: channel, clientRequestId: payload.batchId,
                            debtor: ValidatedParty(name: "", kind: "enterprise", destination: .wallet("", walletOperator: "")),
                            creditor: ValidatedParty(name: "", kind: "", destination: .wallet("", walletOperator: "")),
                            amount: .zero(.cny), duplicateOverride: false),
                        batchRef: batchRef, lineSequence: line.sequence, commandID: envelope.id.uuid,
                        subjectMessageID: envelope.id.uuid, correlationID: correlationID)
                    stub.state = .rejected
                    lineMessages.append(try engine.rejected(stub, rejection, cause: envelope))
                    var members: [(String, JSONValue)] = [
                        ("sequence", .number(JSONNumber(line.sequence))),
                        ("transferId", .string(UUIDText.format(transferID))), ("status", .string("rejected")),
                        ("reasonCode", .string(rejection.code.code)), ("reason", .string(rejection.reason)),
                    ]
                    if let pointer = rejection.pointer { members.append(("pointer", .string(pointer))) }
                    summary.append(.object(JSONObject(members)))
                }
            }
            let acceptedCount = summary.filter { $0["status"]?.stringValue == "accepted" }.count
            var data: [(String, JSONValue)] = [
                ("batchId", .string(batch.batchId)), ("batchRef", .string(UUIDText.format(batchRef))),
                ("kind", .string(batch.kind)), ("numberOfTransactions", .number(JSONNumber(batch.lines.count))),
                ("acceptedCount", .number(JSONNumber(acceptedCount))),
                ("rejectedCount", .number(JSONNumber(batch.lines.count - acceptedCount))),
            ]
            if let original = batch.originalBatchId { data.append(("originalBatchId", .string(original))) }
            data.append(("lines", .array(summary)))
            let accepted = try Envelope(
                causedBy: envelope, source: PaymentsEngine.source, type: MessageType(PaymentsMessageType.batchAccepted),
                dataSchema: PaymentsMessageType.schemaURI(PaymentsMessageType.batchAccepted), data: JSONObject(data))
            context.logger.info("payments: batch accepted",
                                metadata: ["payments.batch.ref": "\(UUIDText.format(batchRef))",
                                           "payments.lines.accepted": "\(acceptedCount)",
                                           "payments.lines.rejected": "\(batch.lines.count - acceptedCount)"])
            return [OutboundMessage(envelope: accepted, aggregateKey: UUIDText.format(batchRef))] + lineMessages
                + (try await engine.completeBatchIfDone(batchRef: batchRef, cause: envelope, now: now, in: transaction))
        } catch let rejection as Rejection {
            try await PaymentsStore.recordRequest(
                enterpriseID: enterprise.value, channel: channel, kind: "batch", clientRequestId: payload.batchId,
                fingerprint: fingerprint, messageID: envelope.id.uuid, outcome: "rejected", referenceID: batchRef,
                reasonCode: rejection.code.code, in: transaction)
            return [try batchRejected(rejection)]
        }
    }

    /// R-PAY-7: the original line a retry line stands for: it must exist and have failed (or been refused).
    static func retryTarget(_ sequence: Int, _ originalLines: [Int: PaymentsStore.LineResult], index: Int)
        -> Result<UUID, Rejection>
    {
        let pointer = "/data/lines/\(index)/sequence"
        guard let original = originalLines[sequence] else {
            return .failure(Rejection(.noOriginal, "the original batch has no line with this sequence (R-PAY-7)",
                                      pointer: pointer))
        }
        guard original.state == "failed" || original.state == "rejected" else {
            return .failure(Rejection(
                .duplication, "only lines that failed may be retried; this one is \(original.state) (R-PAY-7)",
                pointer: pointer))
        }
        return .success(original.transferID)
    }
}
