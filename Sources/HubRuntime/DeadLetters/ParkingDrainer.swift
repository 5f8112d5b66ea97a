import CoreMetrics
import Foundation
public import HubAMQP
public import HubCore
public import HubStore
public import Logging
public import ServiceLifecycle

/// Moves parked messages from a consumer's parking queue (`<queue>.parked`) into `hub.parked`, then acks them.
///
/// It records the runtime's own parks (headers `x-huitong-reason`, …) and the broker's dead letters (delivery limit,
/// rejection, expiry), which carry `x-death` instead; those map to reasons `deliveryLimit`, `rejected` and
/// `expired`. The insert is idempotent on (queue, message id): a message parked again (say, after a redrive)
/// replaces its earlier record and is listed as not redriven. Messages without an id get one row per delivery.
/// A database failure is retried with the message held (never acked before its row is committed).
public struct ParkingDrainer: Service {
    private let consumer: Topology.Consumer
    private let amqp: AMQPConfiguration
    private let pool: PostgresPool
    private let logger: Logger
    private let retryWait: Duration

    /// Creates a drainer for one consumer's parking queue.
    /// - Parameters:
    ///   - consumer: The consumer whose parked messages to record (`hub.parked.queue` is its queue name).
    ///   - amqp: The broker; the drainer opens its own connection.
    ///   - pool: The database pool.
    ///   - retryWait: First wait before retrying a failed insert (default 500 ms, doubling up to 30 s).
    ///   - logger: The logger.
    public init(
        consumer: Topology.Consumer,
        amqp: AMQPConfiguration,
        pool: PostgresPool,
        retryWait: Duration = .milliseconds(500),
        logger: Logger
    ) {
        self.consumer = consumer
        self.amqp = amqp
        self.pool = pool
        self.retryWait = retryWait
        var logger = logger
        logger[metadataKey: LogKey.queue] = "\(consumer.parkingQueueName)"
        self.logger = logger
    }

    /// Drains until graceful shutdown or cancellation.
    /// - Throws: `AMQPError` when the parking queue cannot be consumed.
    public func run() async throws {
        let amqpConsumer = AMQPConsumer(
            configuration: amqp, topology: Topology.hub(consumers: [consumer]), logger: logger)
        for try await delivery in amqpConsumer.consume(queue: consumer.parkingQueueName, prefetch: 64)
            .cancelOnGracefulShutdown()
        {
            var wait = retryWait
            while true {
                do {
                    try await record(delivery)
                    break
                } catch {
                    if Task.isCancelled { return }
                    logger.info("recording a parked message failed; retrying", metadata: [LogKey.errorType: "\(errorLabel(error))"])
                    try? await Task.sleep(for: wait)
                    wait = min(wait * 2, .seconds(30))
                }
            }
            do { try await delivery.ack() } catch {
                // Redelivered later; the upsert makes that harmless.
                logger.debug("parked message ack failed", metadata: [LogKey.errorType: "\(errorLabel(error))"])
            }
        }
    }

    private func record(_ delivery: Delivery) async throws {
        let now = Date()
        let record = ParkRecord.parse(
            headers: delivery.headers, exchange: delivery.exchange, routingKey: delivery.routingKey, now: now)
        let properties = delivery.properties
        let headers = HeaderJSON.encode(delivery.headers)
        let queue = consumer.queue
        try await pool.query(
            """
            INSERT INTO hub.parked (queue, message_id, message_type, correlation_id, reason, error_code, attempts, \
            original_exchange, original_routing_key, first_failed_at, last_failed_at, body, headers) \
            VALUES (\(queue), \(properties.messageID), \(properties.type), \(properties.correlationID), \
            \(record.reason.description), \(record.errorCode), \(Int32(clamping: record.attempts)), \
            \(record.originalExchange), \(record.originalRoutingKey), \(record.firstFailedAt), \(record.lastFailedAt), \
            \(delivery.body), \(PostgresJSON(headers))) \
            ON CONFLICT (queue, message_id) DO UPDATE SET message_type = EXCLUDED.message_type, \
            correlation_id = EXCLUDED.correlation_id, reason = EXCLUDED.reason, error_code = EXCLUDED.error_code, \
            attempts = EXCLUDED.attempts, original_exchange = EXCLUDED.original_exchange, \
            original_routing_key = EXCLUDED.original_routing_key, first_failed_at = EXCLUDED.first_failed_at, \
            last_failed_at = EXCLUDED.last_failed_at, parked_at = now(), body = EXCLUDED.body, \
            headers = EXCLUDED.headers, redriven_at = NULL, redriven_by = NULL
            """)
        ConsumerMetrics.parked(consumer: queue, reason: record.reason).increment()
        logger.debug(
            "parked message recorded",
            metadata: [LogKey.messageID: "\(properties.messageID ?? "-")", "hub.park.reason": "\(record.reason)"])
    }
}
