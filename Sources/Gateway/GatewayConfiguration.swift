/// The gateway's settings. HubApp reads them from `huitong.gateway.*` (docs/gateway.md, "Configuration").
///
/// | key | type | default |
/// |---|---|---|
/// | `huitong.gateway.max-body-bytes` | bytes | 1048576 |
/// | `huitong.gateway.timestamp-skew` | seconds | 300 |
/// | `huitong.gateway.rate` | requests per second per partner | 20 |
/// | `huitong.gateway.burst` | requests | 40 |
/// | `huitong.gateway.request-timeout` | seconds | 30 |
/// | `huitong.gateway.publish-timeout` | seconds | 5 |
/// | `huitong.gateway.retry-after` | seconds | 5 |
/// | `huitong.gateway.partner-cache-seconds` | seconds (0: no cache) | 5 |
/// | `huitong.gateway.contracts` | folder | `contracts` |
/// | `huitong.gateway.master-key` | hex, 16 or 32 bytes, secret | dev key in `.local/keys/gateway` |
/// | `huitong.gateway.amqp-ingress` | on/off | on |
public struct GatewayConfiguration: Sendable {
    /// The largest body accepted (413 above).
    public var maximumBodyBytes: Int = 1 << 20
    /// The accepted clock difference of `X-Huitong-Timestamp`.
    public var timestampSkew: Duration = .seconds(300)
    /// Tokens per second per partner.
    public var rate: Double = 20
    /// Bucket capacity per partner.
    public var burst: Int = 40
    /// The most a request may take before the gateway answers 503.
    public var requestTimeout: Duration = .seconds(30)
    /// The most a publish may wait for its confirm before the gateway answers 503.
    public var publishTimeout: Duration = .seconds(5)
    /// `Retry-After` of a 503.
    public var retryAfterSeconds: Int = 5
    /// How long a partner look-up is cached.
    public var partnerCacheTTL: Duration = .seconds(5)
    /// The contracts folder.
    public var contractsDirectory: String = "contracts"
    /// Whether the direct AMQP partner ingress (`partner.in` → `gw.partner-in`) runs.
    public var amqpIngress: Bool = true
    /// The exchange direct AMQP partners publish to.
    public var ingressExchange: String = "partner.in"
    /// The queue the gateway consumes partner messages from.
    public var ingressQueue: String = "gw.partner-in"
    /// The binding pattern of the ingress queue on the ingress exchange.
    public var ingressBinding: String = "#"

    /// The defaults.
    public init() {}
}
