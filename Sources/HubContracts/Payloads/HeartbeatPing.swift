public import HubCore

/// The payload of `hub.heartbeat.ping.v1`: empty (contracts/schemas/hub/heartbeat-ping.v1.schema.json).
public struct HeartbeatPing: Sendable, Hashable, Codable {
    /// The message type this payload belongs to.
    public static let messageType = "hub.heartbeat.ping.v1"

    /// Creates the (empty) payload.
    public init() {}
}
