public import HubCore
import Foundation

extension AMQPMessage {
    /// A persistent message carrying an envelope's canonical bytes, with the AMQP properties mirroring the envelope
    /// (DESIGN.md "Messages": `message_id`, `type`, `correlation_id`, `timestamp`, CloudEvents content type).
    /// - Parameters:
    ///   - envelope: The envelope.
    ///   - exchange: The exchange (e.g. `hub.commands`).
    ///   - routingKey: The routing key (default: the envelope's type without its version).
    ///   - headers: Extra headers (default none).
    ///   - mandatory: Fail with `unroutable` when no queue is bound (default true).
    public init(
        envelope: Envelope,
        exchange: String,
        routingKey: String? = nil,
        headers: [String: AMQPFieldValue] = [:],
        mandatory: Bool = true
    ) {
        let properties = envelope.messageProperties
        self.init(
            exchange: exchange,
            routingKey: routingKey ?? envelope.routingKey,
            body: envelope.encode(),
            properties: Properties(
                messageID: properties.messageID,
                type: properties.type,
                correlationID: properties.correlationID,
                timestamp: Date(timeIntervalSince1970: TimeInterval(properties.timestamp)),
                contentType: properties.contentType,
                headers: headers
            ),
            mandatory: mandatory
        )
    }
}
