import CoreMetrics
import Metrics

/// The metric names the runtime reports (exposed by the app as Prometheus text).
public enum RuntimeMetricName {
    /// Deliveries received (counter).
    public static let delivered = "hub_messages_delivered_total"
    /// Deliveries acknowledged (counter).
    public static let acked = "hub_messages_acked_total"
    /// Deliveries whose message id was already in the inbox (counter).
    public static let duplicates = "hub_duplicates_skipped_total"
    /// Messages sent to a retry tier (counter).
    public static let retried = "hub_messages_retried_total"
    /// Messages recorded as parked, by `reason` (counter).
    public static let parked = "hub_messages_parked_total"
    /// Handler latency (timer).
    public static let handlerDuration = "hub_handler_duration_seconds"
    /// Batch transaction latency (timer).
    public static let transactionDuration = "hub_transaction_duration_seconds"
    /// Messages per batch (recorder).
    public static let batchSize = "hub_batch_size"
    /// Age of the oldest unsent outbox row, in seconds (gauge).
    public static let outboxLag = "hub_outbox_lag_seconds"
    /// Messages ready in a queue, by `queue` (gauge).
    public static let queueDepth = "hub_queue_depth"
    /// Outbox rows published (counter).
    public static let outboxPublished = "hub_outbox_published_total"
}

/// The metric handles of one consumer (dimension `consumer`).
struct ConsumerMetrics: Sendable {
    let delivered: Counter
    let acked: Counter
    let duplicates: Counter
    let retried: Counter
    let handlerDuration: Timer
    let transactionDuration: Timer
    let batchSize: Recorder
    let queueDepth: Gauge

    init(consumer: String, queue: String) {
        let dimensions = [("consumer", consumer)]
        delivered = Counter(label: RuntimeMetricName.delivered, dimensions: dimensions)
        acked = Counter(label: RuntimeMetricName.acked, dimensions: dimensions)
        duplicates = Counter(label: RuntimeMetricName.duplicates, dimensions: dimensions)
        retried = Counter(label: RuntimeMetricName.retried, dimensions: dimensions)
        handlerDuration = Timer(label: RuntimeMetricName.handlerDuration, dimensions: dimensions)
        transactionDuration = Timer(label: RuntimeMetricName.transactionDuration, dimensions: dimensions)
        batchSize = Recorder(label: RuntimeMetricName.batchSize, dimensions: dimensions, aggregate: true)
        queueDepth = Gauge(label: RuntimeMetricName.queueDepth, dimensions: [("consumer", consumer), ("queue", queue)])
    }

    static func parked(consumer: String, reason: ParkReason) -> Counter {
        Counter(label: RuntimeMetricName.parked, dimensions: [("consumer", consumer), ("reason", reason.description)])
    }
}

/// Logging metadata keys (STYLE.md §8).
enum LogKey {
    static let messageID = "hub.message.id"
    static let correlationID = "hub.correlation.id"
    static let queue = "amqp.queue"
    static let deliveryTag = "amqp.delivery_tag"
    static let errorType = "error.type"
}
