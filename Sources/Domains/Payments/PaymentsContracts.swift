public import HubCore

/// Typed Swift counterparts of every payload of the payments flow (contracts/schemas/{payments,interbank,ecny,
/// compliance}/), for the contract checker: each decodes strictly (JSON types, required and unknown members), so
/// that the Swift side refuses what the schemas refuse.
public enum PaymentsContracts {
    /// Decodes and checks one message type's payload; throws the first problem, pointer under `/data`.
    public typealias PayloadDecoder = @Sendable (Envelope) throws(ValidationError) -> Void

    /// A transfer's line outcome in batch events.
    public struct LineOutcome: Sendable, Hashable, Codable {
        /// The line's sequence.
        public var sequence: Int
        /// The line's transfer.
        public var transferId: String
        /// `accepted`/`rejected` (batch.accepted) or `settled`/`failed`/`rejected` (batch.completed).
        public var status: String
        /// The reason code of a refused or failed line.
        public var reasonCode: String?
        /// Why a line was refused.
        public var reason: String?
        /// The refused value's pointer.
        public var pointer: String?
    }

    /// The data of every `payments.transfer.*` event (the members each type requires are in its schema).
    public struct TransferEvent: Sendable, Hashable, Codable {
        /// The transfer.
        public var transferId: String
        /// The client's reference (the batch id for a batch line).
        public var clientRequestId: String
        /// The batch of a line.
        public var batchId: String?
        /// The line's sequence.
        public var sequence: Int?
        /// accepted, settled.
        public var amount: AmountPayload?
        /// accepted.
        public var acceptedAt: String?
        /// rejected, failed.
        public var reasonCode: String?
        /// rejected, failed.
        public var reason: String?
        /// rejected.
        public var pointer: String?
        /// executing, settled, failed, status-unknown.
        public var rail: String?
        /// executing.
        public var settlementDate: String?
        /// executing (interbank).
        public var uetr: String?
        /// executing (interbank).
        public var endToEndId: String?
        /// settled.
        public var settledAt: String?
        /// status-unknown.
        public var since: String?
    }

    /// The data of `payments.batch.*` events.
    public struct BatchEvent: Sendable, Hashable, Codable {
        /// The client's batch reference.
        public var batchId: String
        /// Payments' id of the batch.
        public var batchRef: String
        /// accepted.
        public var kind: String?
        /// accepted.
        public var numberOfTransactions: Int?
        /// accepted.
        public var acceptedCount: Int?
        /// accepted, completed.
        public var rejectedCount: Int?
        /// completed.
        public var settledCount: Int?
        /// completed.
        public var failedCount: Int?
        /// accepted, completed (a retry).
        public var originalBatchId: String?
        /// rejected.
        public var reasonCode: String?
        /// rejected.
        public var reason: String?
        /// rejected.
        public var pointer: String?
        /// accepted, completed.
        public var lines: [LineOutcome]?
    }

    /// An account party in an adapter command.
    public struct AccountParty: Sendable, Hashable, Codable {
        /// The name (absent for an e-CNY payer account).
        public var name: String?
        /// The account.
        public var account: String
        /// The CNAPS code.
        public var agent: String
    }

    /// The data of the adapter commands payments emits.
    public struct AdapterCommand: Sendable, Hashable, Codable {
        /// The transfer.
        public var transferId: String
        /// interbank.
        public var uetr: String?
        /// interbank.
        public var endToEndId: String?
        /// interbank submit.
        public var instructionId: String?
        /// interbank submit.
        public var rail: String?
        /// interbank submit.
        public var settlementDate: String?
        /// submit.
        public var amount: AmountPayload?
        /// interbank submit.
        public var debtor: AccountParty?
        /// interbank submit.
        public var creditor: AccountParty?
        /// interbank submit.
        public var remittanceInformation: String?
        /// submit.
        public var purpose: String?
        /// e-CNY submit.
        public var payerWallet: String?
        /// e-CNY submit.
        public var payerAccount: AccountParty?
        /// e-CNY submit.
        public var payeeWallet: String?
        /// e-CNY submit.
        public var payeeOperator: String?
        /// e-CNY submit.
        public var enterpriseId: String?
        /// e-CNY submit.
        public var authoriser: String?
    }

    static func strict<Payload: Codable & SendableMetatype>(_ type: Payload.Type) -> PayloadDecoder {
        { (envelope: Envelope) throws(ValidationError) in _ = try envelope.decodeData(as: Payload.self) }
    }

    /// The decoders by message type, for `ContractChecker.Configuration.payloadDecoders`.
    public static let payloadDecoders: [String: PayloadDecoder] = {
        typealias T = PaymentsMessageType
        var decoders: [String: PayloadDecoder] = [
            T.transferRequest: { (envelope: Envelope) throws(ValidationError) in
                _ = try PaymentsHandler.transferRequest(envelope)
            },
            T.batchRequest: { (envelope: Envelope) throws(ValidationError) in
                _ = try PaymentsHandler.batchRequest(envelope)
            },
            T.interbankStatusReported: strict(InterbankStatusPayload.self),
        ]
        for type in [T.transferAccepted, T.transferRejected, T.transferPendingCompliance, T.transferExecuting,
                     T.transferSettled, T.transferFailed, T.transferStatusUnknown]
        {
            decoders[type] = strict(TransferEvent.self)
        }
        for type in [T.batchAccepted, T.batchRejected, T.batchCompleted] { decoders[type] = strict(BatchEvent.self) }
        for type in [T.interbankSubmit, T.interbankStatusQuery, T.ecnySubmit, T.ecnyStatusQuery] {
            decoders[type] = strict(AdapterCommand.self)
        }
        for type in [T.ecnyAccepted, T.ecnySettled, T.ecnyRejected] { decoders[type] = strict(ECNYEventPayload.self) }
        for type in [T.screeningCleared, T.holdPlaced, T.holdReleased, T.holdRejected] {
            decoders[type] = strict(ComplianceVerdictPayload.self)
        }
        return decoders
    }()
}
