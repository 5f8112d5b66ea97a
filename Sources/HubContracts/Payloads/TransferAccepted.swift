public import HubCore

/// The payload of `payments.transfer.accepted.v1` (contracts/schemas/payments/transfer-accepted.v1.schema.json).
///
/// Lives beside the contract until the payments domain module owns it.
public struct TransferAccepted: Sendable, Hashable, Codable {
    /// The message type this payload belongs to.
    public static let messageType = "payments.transfer.accepted.v1"

    /// The transfer's identifier (UUID version 7).
    public var transferId: MessageID
    /// The client reference of the request that was accepted.
    public var requestId: String
    /// The amount.
    public var amount: Money
    /// When the transfer was accepted.
    public var acceptedAt: Timestamp

    /// Creates the payload.
    /// - Parameters:
    ///   - transferId: The transfer's identifier.
    ///   - requestId: The request's client reference.
    ///   - amount: The amount.
    ///   - acceptedAt: When it was accepted.
    public init(transferId: MessageID, requestId: String, amount: Money, acceptedAt: Timestamp) {
        self.transferId = transferId
        self.requestId = requestId
        self.amount = amount
        self.acceptedAt = acceptedAt
    }
}

/// The payload of `hub.heartbeat.ping.v1`: empty (contracts/schemas/hub/heartbeat-ping.v1.schema.json).
public struct HeartbeatPing: Sendable, Hashable, Codable {
    /// The message type this payload belongs to.
    public static let messageType = "hub.heartbeat.ping.v1"

    /// Creates the (empty) payload.
    public init() {}
}
