public import HubCore

/// The payload of `gateway.request.refused.v1` (contracts/schemas/gateway/request-refused.v1.schema.json): a request
/// the partner gateway refused, as the audit stream records it. Never a body, a query string or personal data.
public struct RequestRefused: Sendable, Hashable, Codable {
    /// The message type this payload belongs to.
    public static let messageType = "gateway.request.refused.v1"

    /// The partner: verified when `authenticated`, else as claimed.
    public var partnerId: PartnerID?
    /// Whether the partner's signature verified.
    public var authenticated: Bool
    /// The HTTP status (0 for a parked AMQP message).
    public var status: Int
    /// The bounded reason code, e.g. `signature-invalid`.
    public var reason: String
    /// The rule that failed, e.g. `GW-AUTH-4`.
    public var rule: String
    /// The HTTP method, or `PUBLISH` for AMQP.
    public var method: String
    /// The path without query (AMQP: `/partner.in/<routing key>`).
    public var path: String
    /// The refused message's id, when the body was parsed.
    public var messageId: MessageID?
    /// The refused message's type, when the body was parsed.
    public var messageType: MessageType?
    /// How many identical refusals this event stands for.
    public var count: Int
    /// The first of them.
    public var firstAt: Timestamp
    /// The last of them.
    public var lastAt: Timestamp
}
