public import Foundation

/// A message to publish: where it goes, its body and its properties. Always published persistent (`delivery_mode` 2).
public struct AMQPMessage: Sendable, Hashable {
    /// The AMQP basic properties the hub uses.
    public struct Properties: Sendable, Hashable {
        /// `message_id`: the envelope's id.
        public var messageID: String?
        /// `type`: the envelope's type, e.g. `payments.transfer.request.v1`.
        public var type: String?
        /// `correlation_id`.
        public var correlationID: String?
        /// `timestamp` (whole seconds on the wire).
        public var timestamp: Date?
        /// `content_type`, e.g. `application/cloudevents+json`.
        public var contentType: String?
        /// `app_id`: the publishing application.
        public var appID: String?
        /// The headers table.
        public var headers: [String: AMQPFieldValue]

        /// Creates properties; every field is optional.
        /// - Parameters:
        ///   - messageID: `message_id` (default nil).
        ///   - type: `type` (default nil).
        ///   - correlationID: `correlation_id` (default nil).
        ///   - timestamp: `timestamp` (default nil).
        ///   - contentType: `content_type` (default nil).
        ///   - appID: `app_id` (default nil).
        ///   - headers: Headers (default empty).
        public init(
            messageID: String? = nil,
            type: String? = nil,
            correlationID: String? = nil,
            timestamp: Date? = nil,
            contentType: String? = nil,
            appID: String? = nil,
            headers: [String: AMQPFieldValue] = [:]
        ) {
            self.messageID = messageID
            self.type = type
            self.correlationID = correlationID
            self.timestamp = timestamp
            self.contentType = contentType
            self.appID = appID
            self.headers = headers
        }
    }

    /// The exchange to publish to (`""`: the default exchange, which routes by queue name).
    public var exchange: String
    /// The routing key.
    public var routingKey: String
    /// The body bytes; never logged.
    public var body: [UInt8]
    /// The properties.
    public var properties: Properties
    /// Whether an unroutable message is returned and reported as `unroutable` (default true) instead of dropped.
    public var mandatory: Bool

    /// Creates a message.
    /// - Parameters:
    ///   - exchange: The exchange.
    ///   - routingKey: The routing key.
    ///   - body: The body bytes.
    ///   - properties: The properties (default none).
    ///   - mandatory: Report unroutable messages as errors (default true).
    public init(
        exchange: String,
        routingKey: String,
        body: [UInt8],
        properties: Properties = Properties(),
        mandatory: Bool = true
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
        self.mandatory = mandatory
    }
}
