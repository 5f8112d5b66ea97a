import Foundation

extension Envelope {
    /// The AMQP basic properties that mirror the envelope (DESIGN.md "Messages", contracts/asyncapi.json).
    public struct MessageProperties: Sendable, Hashable {
        /// `message_id`: the envelope `id`.
        public var messageID: String
        /// `type`: the envelope `type`.
        public var type: String
        /// `correlation_id`: the envelope `correlationid`, or its `id` when the message starts a flow.
        public var correlationID: String
        /// `timestamp`: the envelope `time` in whole Unix seconds (AMQP's resolution).
        public var timestamp: Int64
        /// `content_type`: always `application/cloudevents+json` (structured mode).
        public var contentType: String
        /// `delivery_mode` 2 (persistent): always true for hub messages.
        public var persistent: Bool
    }

    /// The content type of a structured-mode CloudEvent body.
    public static let structuredContentType = "application/cloudevents+json"

    /// The AMQP basic properties for this envelope.
    public var messageProperties: MessageProperties {
        MessageProperties(
            messageID: id.description,
            type: type.value,
            correlationID: UUIDText.format(correlationID ?? id.uuid),
            timestamp: Int64((time.date.timeIntervalSince1970).rounded(.down)),
            contentType: Self.structuredContentType,
            persistent: true
        )
    }

    /// The AMQP routing key: the type without its version (e.g. `payments.transfer.request`).
    public var routingKey: String { type.routingKey }

    /// Creates a message caused by another one (an event emitted while handling a command, say): a new id,
    /// `causationid` = the cause's id, `correlationid` = the cause's correlation id (or its id when it started the
    /// flow), and the cause's `enterpriseid`. Partner id and trace context are not copied: they describe the sender.
    /// - Parameters:
    ///   - cause: The message being handled.
    ///   - id: The new message's id (default: a new one).
    ///   - source: The new message's producer.
    ///   - type: The new message's type.
    ///   - time: When it happened (default: now).
    ///   - dataSchema: The payload schema's absolute URI.
    ///   - data: The payload.
    /// - Throws: `ValidationError` if `source` or `dataSchema` is not a valid URI.
    public init(
        causedBy cause: Envelope,
        id: MessageID = .generate(),
        source: String,
        type: MessageType,
        time: Timestamp = .now,
        dataSchema: String,
        data: JSONObject
    ) throws(ValidationError) {
        try self.init(
            id: id, source: source, type: type, time: time, dataSchema: dataSchema, data: data,
            correlationID: cause.correlationID ?? cause.id.uuid, causationID: cause.id.uuid,
            enterpriseID: cause.enterpriseID)
    }
}
