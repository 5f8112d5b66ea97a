import Foundation
import HubCore
import HubRuntime
import HubStore

/// A transfer row as the handler and the timer work with it.
struct TransferRecord: Sendable {
    var transferID: UUID
    var enterpriseID: String
    var channel: String
    var clientRequestId: String
    var batchRef: UUID?
    var lineSequence: Int?
    var commandID: UUID
    var subjectMessageID: UUID
    var correlationID: UUID
    var state: TransferState
    var instruction: TransferInstruction
    var rail: Rail?
    var settlementDate: String?
    var uetr: UUID?
    var endToEndId: String?
    var instructionId: String?
    var queryCount: Int
    var holdID: String?

    init(
        transferID: UUID, instruction: TransferInstruction, batchRef: UUID?, lineSequence: Int?, commandID: UUID,
        subjectMessageID: UUID, correlationID: UUID
    ) {
        self.transferID = transferID
        self.enterpriseID = instruction.enterpriseID
        self.channel = instruction.channel
        self.clientRequestId = instruction.clientRequestId
        self.batchRef = batchRef
        self.lineSequence = lineSequence
        self.commandID = commandID
        self.subjectMessageID = subjectMessageID
        self.correlationID = correlationID
        self.state = .accepted
        self.instruction = instruction
        self.queryCount = 0
    }

    init(row: PostgresRow) throws {
        transferID = try row.decode(UUID.self, at: 0)
        enterpriseID = try row.decode(String.self, at: 1)
        channel = try row.decode(String.self, at: 2)
        clientRequestId = try row.decode(String.self, at: 3)
        batchRef = try row.decode(UUID?.self, at: 4)
        lineSequence = try row.decode(Int32?.self, at: 5).map(Int.init)
        commandID = try row.decode(UUID.self, at: 6)
        subjectMessageID = try row.decode(UUID.self, at: 7)
        correlationID = try row.decode(UUID.self, at: 8)
        let stateText = try row.decode(String.self, at: 9)
        guard let state = TransferState(rawValue: stateText) else {
            throw HandlerFailure.permanent(code: "bad-state", "a transfer row has an unknown state")
        }
        self.state = state
        instruction = try JSONDecoder().decode(TransferInstruction.self, from: Data(try row.decode(String.self, at: 10).utf8))
        rail = try row.decode(String?.self, at: 11).flatMap(Rail.init(rawValue:))
        settlementDate = try row.decode(String?.self, at: 12)
        uetr = try row.decode(UUID?.self, at: 13)
        endToEndId = try row.decode(String?.self, at: 14)
        instructionId = try row.decode(String?.self, at: 15)
        queryCount = Int(try row.decode(Int32.self, at: 16))
        holdID = try row.decode(String?.self, at: 17)
    }

    /// The payload members every transfer event carries: transferId, clientRequestId, and for a batch line its
    /// batchId and sequence.
    var eventBase: [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [
            ("transferId", .string(UUIDText.format(transferID))), ("clientRequestId", .string(clientRequestId)),
        ]
        if let lineSequence {
            members.append(("batchId", .string(clientRequestId)))
            members.append(("sequence", .number(JSONNumber(lineSequence))))
        }
        return members
    }

    var aggregateKey: String { UUIDText.format(transferID) }

    /// The EndToEndId: the client's reference for a single transfer; `<batchId>-<sequence>` for a batch line when it
    /// fits in 35 characters, else the transfer id without dashes (R-PAY-2).
    var defaultEndToEndId: String {
        guard let lineSequence else { return clientRequestId }
        let candidate = "\(clientRequestId)-\(lineSequence)"
        if candidate.utf8.count <= 35 { return candidate }
        return compactTransferID
    }

    /// The transfer id as 32 hex digits (InstrId).
    var compactTransferID: String { UUIDText.format(transferID).replacingOccurrences(of: "-", with: "") }
}
