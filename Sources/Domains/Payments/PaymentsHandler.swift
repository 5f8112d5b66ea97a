public import Foundation
public import HubCore
public import HubRuntime
import HubStore
import Logging

/// The payments domain service: transfer and batch requests in, a persisted state machine per transfer, adapter
/// commands and payments events out (docs/payments.md).
///
/// - Partner commands are decoded strictly: a payload whose JSON shape is wrong (types, required or unknown
///   members, a malformed `clientRequestId`/`batchId`) is parked by the runtime as `schemaViolation`; a well-formed
///   command that breaks a business rule gets `payments.transfer.rejected.v1` / `payments.batch.rejected.v1` with
///   an ISO 20022 reason code and the JSON pointer of the value.
/// - Adapter and compliance events are decoded tolerantly (members added by their producers are ignored); an event
///   about a transfer payments does not know, or whose references do not match, is parked (permanent failure).
public struct PaymentsHandler: MessageHandler {
    /// The consumer queue of the `payments` role.
    public static let queue = "svc.payments"

    /// The topology consumer of the `payments` role: `svc.payments` bound to the payments commands and, narrowly,
    /// to the adapter and compliance events it handles.
    /// - Parameters:
    ///   - queue: The queue name (tests use their own).
    ///   - retryDelaysMilliseconds: Retry tiers (default 1 s, 10 s, 1 min, 10 min).
    /// - Returns: The consumer description.
    public static func consumer(queue: String = PaymentsHandler.queue,
                                retryDelaysMilliseconds: [Int] = [1_000, 10_000, 60_000, 600_000]) -> Topology.Consumer
    {
        Topology.Consumer(
            queue: queue,
            bindings: [
                (exchange: Topology.ExchangeName.commands, pattern: "payments.transfer.request"),
                (exchange: Topology.ExchangeName.commands, pattern: "payments.batch.request"),
                (exchange: Topology.ExchangeName.events, pattern: "interbank.credit-transfer.status-reported"),
                (exchange: Topology.ExchangeName.events, pattern: "ecny.transfer.accepted"),
                (exchange: Topology.ExchangeName.events, pattern: "ecny.transfer.settled"),
                (exchange: Topology.ExchangeName.events, pattern: "ecny.transfer.rejected"),
                (exchange: Topology.ExchangeName.events, pattern: "compliance.screening.cleared"),
                (exchange: Topology.ExchangeName.events, pattern: "compliance.hold.placed"),
                (exchange: Topology.ExchangeName.events, pattern: "compliance.hold.released"),
                (exchange: Topology.ExchangeName.events, pattern: "compliance.hold.rejected"),
            ],
            retryDelaysMilliseconds: retryDelaysMilliseconds)
    }

    /// The settings.
    public let configuration: PaymentsConfiguration
    let engine: PaymentsEngine
    let validation: TransferValidation
    let clock: @Sendable () -> Date

    /// Creates the handler.
    /// - Parameters:
    ///   - configuration: The settings.
    ///   - clock: The current instant (tests inject one; default the system clock).
    public init(configuration: PaymentsConfiguration, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.engine = PaymentsEngine(configuration: configuration)
        self.validation = TransferValidation(configuration: configuration)
        self.clock = clock
    }

    /// The types handled.
    public var messageTypes: Set<String> { PaymentsMessageType.consumed }

    /// Requests of one enterprise in order; adapter events per transfer; verdicts per screened command.
    /// - Parameter envelope: The message.
    /// - Returns: The ordering key.
    public func aggregateKey(for envelope: Envelope) -> String {
        switch envelope.type.value {
        case PaymentsMessageType.transferRequest, PaymentsMessageType.batchRequest:
            "enterprise:" + (envelope.enterpriseID?.value ?? "")
        case PaymentsMessageType.screeningCleared, PaymentsMessageType.holdPlaced, PaymentsMessageType.holdReleased,
             PaymentsMessageType.holdRejected:
            "subject:" + (envelope.data["subjectMessageId"]?.stringValue ?? "")
        default:
            "transfer:" + (envelope.data["transferId"]?.stringValue ?? "")
        }
    }

    /// Structural checks before the transaction: a payload that fails them is parked as `schemaViolation`.
    /// - Parameter envelope: The message.
    /// - Throws: `ValidationError` with the pointer.
    public func validate(_ envelope: Envelope) throws {
        switch envelope.type.value {
        case PaymentsMessageType.transferRequest: _ = try Self.transferRequest(envelope)
        case PaymentsMessageType.batchRequest: _ = try Self.batchRequest(envelope)
        case PaymentsMessageType.interbankStatusReported:
            let payload = try Self.tolerant(InterbankStatusPayload.self, envelope)
            _ = try Self.uuid(payload.transferId, pointer: "/data/transferId")
        case PaymentsMessageType.ecnyAccepted, PaymentsMessageType.ecnySettled, PaymentsMessageType.ecnyRejected:
            let payload = try Self.tolerant(ECNYEventPayload.self, envelope)
            _ = try Self.uuid(payload.transferId, pointer: "/data/transferId")
        default:
            let payload = try Self.tolerant(ComplianceVerdictPayload.self, envelope)
            _ = try Self.uuid(payload.subjectMessageId, pointer: "/data/subjectMessageId")
        }
    }

    /// Handles one message in the runtime's transaction.
    /// - Parameters:
    ///   - message: The message.
    ///   - context: The transaction and logger.
    /// - Returns: The events and adapter commands to emit.
    /// - Throws: `ValidationError` (parked), ``HandlerFailure`` (permanent: unknown transfer), database errors.
    public func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage] {
        let envelope = message.envelope
        let now = clock()
        switch envelope.type.value {
        case PaymentsMessageType.transferRequest:
            return try await handleTransferRequest(envelope, now: now, context: context)
        case PaymentsMessageType.batchRequest:
            return try await handleBatchRequest(envelope, now: now, context: context)
        case PaymentsMessageType.interbankStatusReported:
            return try await handleInterbankStatus(envelope, now: now, context: context)
        case PaymentsMessageType.ecnyAccepted, PaymentsMessageType.ecnySettled, PaymentsMessageType.ecnyRejected:
            return try await handleECNY(envelope, now: now, context: context)
        default:
            return try await handleVerdict(envelope, now: now, context: context)
        }
    }

    // MARK: Decoding

    static func transferRequest(_ envelope: Envelope) throws(ValidationError) -> TransferRequestPayload {
        let payload = try envelope.decodeData(as: TransferRequestPayload.self)
        guard TransferValidation.isClientReference(payload.clientRequestId) else {
            throw ValidationError(.invalidFormat, pointer: "/data/clientRequestId", rule: "R-PAY-2",
                                  message: "clientRequestId is 1 to 35 of [A-Za-z0-9._:/-]")
        }
        return payload
    }

    static func batchRequest(_ envelope: Envelope) throws(ValidationError) -> BatchRequestPayload {
        let payload = try envelope.decodeData(as: BatchRequestPayload.self)
        guard TransferValidation.isClientReference(payload.batchId) else {
            throw ValidationError(.invalidFormat, pointer: "/data/batchId", rule: "R-PAY-2",
                                  message: "batchId is 1 to 35 of [A-Za-z0-9._:/-]")
        }
        return payload
    }

    /// Decodes an internal event's payload, ignoring members this version does not know (tolerant reader).
    static func tolerant<Payload: Decodable>(_ type: Payload.Type, _ envelope: Envelope) throws(ValidationError)
        -> Payload
    {
        do {
            return try JSONDecoder().decode(Payload.self, from: Data(JSONValue.object(envelope.data).canonicalBytes()))
        } catch let error as DecodingError {
            throw Envelope.validationError(from: error).under("/data")
        } catch {
            throw ValidationError(.invalidValue, pointer: "/data", rule: "payload", message: "the payload could not be decoded")
        }
    }

    static func uuid(_ text: String, pointer: String) throws(ValidationError) -> UUID {
        guard let uuid = UUIDText.parse(text) else {
            throw ValidationError(.invalidFormat, pointer: pointer, rule: "uuid", message: "a lowercase UUID is expected")
        }
        return uuid
    }

    // MARK: Transfer requests

    func handleTransferRequest(_ envelope: Envelope, now: Date, context: HandlerContext) async throws
        -> [OutboundMessage]
    {
        let payload = try Self.transferRequest(envelope)
        let transaction = context.transaction
        let transferID = MessageID.generate().uuid
        let correlationID = envelope.correlationID ?? envelope.id.uuid
        // A record for the events of a request that is refused before it has a valid instruction.
        func refusal(_ rejection: Rejection) throws -> OutboundMessage {
            var stub = TransferRecord(
                transferID: transferID,
                instruction: TransferInstruction(
                    enterpriseID: envelope.enterpriseID?.value ?? "", channel: payload.channel ?? "api",
                    clientRequestId: payload.clientRequestId,
                    debtor: ValidatedParty(name: "", kind: "enterprise", destination: .wallet("", walletOperator: "")),
                    creditor: ValidatedParty(name: "", kind: "", destination: .wallet("", walletOperator: "")),
                    amount: .zero(.cny), duplicateOverride: false),
                batchRef: nil, lineSequence: nil, commandID: envelope.id.uuid, subjectMessageID: envelope.id.uuid,
                correlationID: correlationID)
            stub.state = .rejected
            context.logger.info("payments: transfer request rejected",
                                metadata: ["payments.reason_code": "\(rejection.code)", "payments.pointer": "\(rejection.pointer ?? "")"])
            return try engine.rejected(stub, rejection, cause: envelope)
        }
        guard let enterprise = envelope.enterpriseID else {
            return [try refusal(Rejection(.missingDebtorIdentification,
                                          "the envelope has no enterpriseid (the payer's USCC)", pointer: "/enterpriseid"))]
        }
        let channel: String
        do { channel = try TransferValidation.channel(payload.channel) } catch { return [try refusal(error)] }

        let fingerprint = RequestFingerprint.canonicalBytes(payload)
        // Validation needs no database; its outcome decides whether the look-up also checks the duplicate window, so
        // that R-PAY-3 and R-PAY-5 cost one round trip together.
        let validated = Result { () throws(Rejection) -> TransferInstruction in
            try validation.validate(payload, enterpriseID: enterprise, now: now)
        }
        let instruction = try? validated.get()
        let lookUp = try await PaymentsStore.lookUpTransferRequest(
            locks: PaymentsStore.requestLocks(enterprise: enterprise.value, subject: envelope.id),
            enterpriseID: enterprise.value, channel: channel, clientRequestId: payload.clientRequestId,
            fingerprint: fingerprint, subject: envelope.id.uuid,
            instruction: instruction?.duplicateOverride == false ? instruction : nil,
            now: now, window: configuration.duplicateWindow, in: transaction)
        if let recorded = lookUp.recorded {
            if recorded.samePayload {
                // R-PAY-3: the recorded outcome stands; nothing new is sent.
                context.logger.info("payments: repeated transfer request, recorded outcome stands",
                                    metadata: ["payments.outcome": "\(recorded.outcome)"])
                return []
            }
            return [try refusal(Rejection(
                .duplication, "clientRequestId was already used with a different payload (R-PAY-3)",
                pointer: "/data/clientRequestId"))]
        }
        do {
            let instruction = try validated.get()
            if lookUp.duplicate {
                throw Rejection(
                    .duplication,
                    "a transfer with the same debtor, creditor, amount and value date was requested within the "
                        + "duplicate window; set duplicateOverride to send it anyway (R-PAY-5)",
                    pointer: "/data/duplicateOverride")
            }
            var transfer = TransferRecord(
                transferID: transferID, instruction: instruction, batchRef: nil, lineSequence: nil,
                commandID: envelope.id.uuid, subjectMessageID: envelope.id.uuid, correlationID: correlationID)
            let accepted = try engine.accepted(transfer, cause: envelope, now: now)
            // The verdict was read with the request, under the subject's lock: no second query. The engine decides the
            // transfer's first state before it is stored, so the row is written once, in that state.
            let writer = TransferWriter.deferred()
            let next = try await engine.gateOrProceed(
                &transfer, cause: envelope, now: now, in: transaction, prefetched: .some(lookUp.verdict), writer: writer)
            try await PaymentsStore.insertAccepted(
                transfer, change: writer.change, channel: channel, fingerprint: fingerprint, messageID: envelope.id.uuid,
                now: now, in: transaction)
            context.logger.info("payments: transfer accepted",
                                metadata: ["payments.transfer.id": "\(UUIDText.format(transferID))",
                                           "payments.creditor": "\(Self.maskedDestination(instruction.creditor.destination))"])
            return [accepted] + next
        } catch let rejection as Rejection {
            try await PaymentsStore.recordRequest(
                enterpriseID: enterprise.value, channel: channel, kind: "transfer",
                clientRequestId: payload.clientRequestId, fingerprint: fingerprint, messageID: envelope.id.uuid,
                outcome: "rejected", referenceID: transferID, reasonCode: rejection.code.code, in: transaction)
            return [try refusal(rejection)]
        }
    }

    static func maskedDestination(_ destination: Destination) -> String {
        switch destination {
        case .account(let account, let agent): "\(account)@\(agent)"
        case .wallet(let wallet, let walletOperator): "wallet \(wallet.prefix(4))********\(wallet.suffix(4))@\(walletOperator)"
        }
    }

    // MARK: Adapter events

    func lockedTransfer(_ text: String, context: HandlerContext) async throws -> TransferRecord {
        let transferID = try Self.uuid(text, pointer: "/data/transferId")
        guard let transfer = try await PaymentsStore.transfer(transferID, in: context.transaction) else {
            throw HandlerFailure.permanent(code: "unknown-transfer", "the event names a transfer payments does not know")
        }
        return transfer
    }

    func handleInterbankStatus(_ envelope: Envelope, now: Date, context: HandlerContext) async throws
        -> [OutboundMessage]
    {
        let payload = try Self.tolerant(InterbankStatusPayload.self, envelope)
        var transfer = try await lockedTransfer(payload.transferId, context: context)
        guard transfer.rail != .ecny, let uetr = transfer.uetr, UUIDText.format(uetr) == payload.uetr.lowercased(),
              transfer.endToEndId == payload.endToEndId
        else {
            throw HandlerFailure.permanent(
                code: "reference-mismatch", "the status's UETR or EndToEndId differs from the submitted transfer's")
        }
        let outcome: PaymentsEngine.Outcome
        switch payload.status {
        case "ACSC", "ACCC": outcome = .settled(status: payload.status, settledAt: payload.acceptedAt)
        case "RJCT":
            outcome = .failed(status: "RJCT", reasonCode: payload.reasonCode ?? ReasonCode.narrative.code,
                              reason: "the rail rejected the transfer")
        case "ACSP", "ACCP", "ACTC", "ACWC", "PDNG", "RCVD": outcome = .progress(status: payload.status)
        default:
            throw HandlerFailure.permanent(code: "unknown-status", "the pacs.002 status is not one payments knows")
        }
        return try await engine.apply(outcome, to: &transfer, cause: envelope, now: now, in: context.transaction,
                                      logger: context.logger)
    }

    func handleECNY(_ envelope: Envelope, now: Date, context: HandlerContext) async throws -> [OutboundMessage] {
        let payload = try Self.tolerant(ECNYEventPayload.self, envelope)
        var transfer = try await lockedTransfer(payload.transferId, context: context)
        guard transfer.rail == .ecny || transfer.rail == nil else {
            throw HandlerFailure.permanent(code: "reference-mismatch", "an e-CNY event names an interbank transfer")
        }
        let outcome: PaymentsEngine.Outcome
        switch envelope.type.value {
        case PaymentsMessageType.ecnySettled: outcome = .settled(status: "SETTLED", settledAt: payload.settledAt)
        case PaymentsMessageType.ecnyRejected:
            outcome = .failed(status: "REJECTED", reasonCode: payload.reasonCode ?? ReasonCode.narrative.code,
                              reason: payload.reason)
        default: outcome = .progress(status: "ACCEPTED")
        }
        return try await engine.apply(outcome, to: &transfer, cause: envelope, now: now, in: context.transaction,
                                      logger: context.logger)
    }

    // MARK: Compliance verdicts

    func handleVerdict(_ envelope: Envelope, now: Date, context: HandlerContext) async throws -> [OutboundMessage] {
        let payload = try Self.tolerant(ComplianceVerdictPayload.self, envelope)
        if let subjectType = payload.subjectType,
           subjectType != PaymentsMessageType.transferRequest, subjectType != PaymentsMessageType.batchRequest
        {
            return []  // A verdict about another domain's command.
        }
        let subject = try Self.uuid(payload.subjectMessageId, pointer: "/data/subjectMessageId")
        let transaction = context.transaction
        let verdict: String
        switch envelope.type.value {
        case PaymentsMessageType.screeningCleared: verdict = "cleared"
        case PaymentsMessageType.holdPlaced: verdict = "held"
        case PaymentsMessageType.holdReleased: verdict = "released"
        default: verdict = "rejected"
        }
        let recorded = try await PaymentsStore.recordVerdict(
            subject: subject, verdict: verdict, holdID: payload.holdId, reason: payload.reason, now: now, in: transaction)
        guard let effective = recorded.effective else { return [] }
        var messages: [OutboundMessage] = []
        for var transfer in recorded.pending {
            switch effective.verdict {
            case "cleared", "released":
                guard let next = TransferStateMachine.next(after: .complianceCleared, from: transfer.state) else { continue }
                transfer.state = next
                messages += try await engine.proceed(&transfer, cause: envelope, now: now, in: transaction)
            case "rejected":
                messages += try await engine.complianceRejected(
                    &transfer, reason: effective.reason, cause: envelope, now: now, in: transaction)
            default:
                try await PaymentsStore.setPending(transfer.transferID, holdID: effective.holdID, now: now, in: transaction)
            }
        }
        return messages
    }
}
