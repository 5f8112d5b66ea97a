/// A message delivered to a consumer, copied out of rabbitmq-c: safe to send across tasks.
///
/// Settle every delivery exactly once with ``ack(multiple:)``, ``nack(requeue:multiple:)`` or
/// ``reject(requeue:)``. A delivery from a connection that has since died cannot be settled (the broker redelivers
/// it): settling fails with `staleDelivery` instead of acking another message with the same tag.
public struct Delivery: Sendable {
    /// The body bytes; never logged.
    public let body: [UInt8]
    /// The exchange the message was published to.
    public let exchange: String
    /// The routing key it was published with.
    public let routingKey: String
    /// Whether the broker delivered it before (to this or another consumer).
    public let redelivered: Bool
    /// The delivery tag on its channel.
    public let deliveryTag: UInt64
    /// The basic properties (`message_id`, `type`, …, headers).
    public let properties: AMQPMessage.Properties
    /// The delivery mode (2: persistent), if set.
    public let deliveryMode: UInt8?
    let acknowledger: DeliveryAcknowledger

    /// The headers table (e.g. `x-death` after dead-lettering).
    public var headers: [String: AMQPFieldValue] { properties.headers }

    /// Acknowledges the delivery (and, with `multiple`, every earlier unsettled one on its channel).
    /// - Parameter multiple: Also acknowledge every earlier delivery (default false).
    /// - Throws: ``AMQPError`` `staleDelivery` when its connection is gone, `connectionLost` when the ack could not be sent.
    public func ack(multiple: Bool = false) async throws {
        try await acknowledger.settle(.ack, self, multiple: multiple)
    }

    /// Negatively acknowledges the delivery: requeue it, or dead-letter it (`requeue: false`).
    /// - Parameters:
    ///   - requeue: Put it back in the queue (true) or dead-letter / drop it (false).
    ///   - multiple: Also settle every earlier unsettled delivery (default false).
    /// - Throws: ``AMQPError`` `staleDelivery` or `connectionLost`.
    public func nack(requeue: Bool, multiple: Bool = false) async throws {
        try await acknowledger.settle(.nack(requeue: requeue), self, multiple: multiple)
    }

    /// Rejects the delivery: requeue it, or dead-letter / drop it (`requeue: false`).
    /// - Parameter requeue: Put it back in the queue.
    /// - Throws: ``AMQPError`` `staleDelivery` or `connectionLost`.
    public func reject(requeue: Bool) async throws {
        try await acknowledger.settle(.reject(requeue: requeue), self, multiple: false)
    }

    /// Acknowledges each of `deliveries` (not `multiple`: other deliveries of the channel stay unsettled), with one
    /// hop to the connection's thread per connection instead of one per delivery.
    /// - Parameter deliveries: Deliveries not settled yet, from any consumers.
    /// - Returns: How many were acknowledged; the others failed with `staleDelivery` or `connectionLost` (their
    ///   connection is gone, and the broker redelivers them).
    @discardableResult
    public static func ack(_ deliveries: [Delivery]) async -> Int {
        var groups: [ObjectIdentifier: [Delivery]] = [:]
        for delivery in deliveries { groups[ObjectIdentifier(delivery.acknowledger), default: []].append(delivery) }
        var acknowledged = 0
        for group in groups.values {
            acknowledged += await group[0].acknowledger.ack(group)
        }
        return acknowledged
    }
}

/// Settles deliveries on the connection and channel generation they came from.
final class DeliveryAcknowledger: Sendable {
    let connection: AMQPConnection
    let generation: UInt64
    let session: ConsumerSession

    init(connection: AMQPConnection, generation: UInt64, session: ConsumerSession) {
        self.connection = connection
        self.generation = generation
        self.session = session
    }

    func settle(_ settlement: AMQPConnection.Settlement, _ delivery: Delivery, multiple: Bool) async throws {
        try await connection.settle(
            settlement, deliveryTag: delivery.deliveryTag, multiple: multiple, generation: generation
        )
        session.settled(connection: connection, generation: generation, tag: delivery.deliveryTag, multiple: multiple)
    }

    /// Acks `deliveries` (all of this acknowledger) in one hop; returns how many were acked before a failure.
    func ack(_ deliveries: [Delivery]) async -> Int {
        let tags = deliveries.map(\.deliveryTag)
        let acknowledged = await connection.ack(deliveryTags: tags, generation: generation)
        for tag in tags.prefix(acknowledged) {
            session.settled(connection: connection, generation: generation, tag: tag, multiple: false)
        }
        return acknowledged
    }
}
