import CoreMetrics
import Foundation
public import HubAMQP
public import HubCore
public import HubStore
public import Logging
public import ServiceLifecycle

/// Runs a ``MessageHandler`` on a queue: inbox deduplication, the handler and the outbox in one transaction per
/// batch, commit, then ack; retries through delay tiers and parks what cannot succeed.
///
/// Per delivery: size check, envelope decoding and validation, known type, aggregate key, lane
/// (`hash(key) % lanes`). Each lane takes batches of up to `batchSize` deliveries (waiting at most `maximumBatchWait`
/// for a batch to fill) and handles them in ONE transaction, so one failing message does not fail its batch-mates:
/// the batch first runs optimistically (one inbox INSERT for the batch, handlers without savepoints); if a handler
/// fails, the transaction is rolled back and the batch runs again with a savepoint per message (inbox row and
/// handler), so only the failing message's work is undone. Duplicates (an id already in the inbox, or twice in the
/// batch) have no effect. After COMMIT: handled and duplicate deliveries are acked; transient failures are
/// published (with confirm) to `hub.retry` and then acked; permanent failures and exhausted retries are published
/// to `hub.dead` (parked) and then acked. A publish that fails leaves its delivery unacked (nack with requeue). A
/// transaction that fails because the database is unreachable is retried with the deliveries held (they are not
/// requeued, so the broker's delivery count does not grow); any other transaction failure requeues the batch.
///
/// **Ordering.** Messages with the same aggregate key go to the same lane; a lane handles its batches one after
/// the other, in delivery order, so within one consumer process messages of a key are handled in the order the
/// broker delivered them. That order is lost for a message that is retried (it returns through a retry queue,
/// behind later messages), requeued (publish or transaction failure), or redelivered after a crash or a lost
/// connection; and it is not kept across several processes consuming the same queue.
///
/// **Graceful shutdown** stops intake (the AMQP consumer is cancelled), lets every lane finish its batches, commit
/// and ack, then returns.
public struct ConsumerService: Service {
    /// How a consumer runs.
    ///
    /// | key | type | default |
    /// |---|---|---|
    /// | `consumer` | `Topology.Consumer` | required: queue, bindings, delivery limit, retry tiers |
    /// | `batchSize` | `Int` | 64 |
    /// | `maximumBatchWait` | `Duration` | 0: take what is buffered; batches form while the previous one commits |
    /// | `lanes` | `Int` | 2 |
    /// | `prefetch` | `UInt16` | 256 |
    /// | `maximumBodyBytes` | `Int` | 1 MiB |
    /// | `envelopeLimits` | `Envelope.Limits` | 1 MiB, depth 64 |
    /// | `queueDepthInterval` | `Duration?` | 5 s (nil: do not poll the queue depth) |
    /// | `databaseRetry` | `Duration` | 500 ms, doubling up to 30 s, while the database is unreachable |
    /// | `optimisticBatches` | `Bool` | true: savepoints only for batches where a handler fails |
    /// | `drainTimeout` | `Duration` | 10 s: on shutdown, how long the AMQP consumer waits for in-flight acks |
    public struct Configuration: Sendable {
        /// The queue, its bindings, delivery limit and retry tiers.
        public var consumer: Topology.Consumer
        /// Deliveries per transaction.
        public var batchSize: Int
        /// How long a lane waits for a batch to fill once it has a first delivery. Zero (the default) takes what is
        /// buffered at once: under load, deliveries pile up while the lane's previous transaction runs, so batches
        /// fill by themselves; a wait only adds latency when the queue is quiet (docs/performance.md).
        public var maximumBatchWait: Duration
        /// Parallel lanes (per-key ordering holds within a lane).
        public var lanes: Int
        /// Unacked deliveries the broker may hand over at once.
        public var prefetch: UInt16
        /// Bodies larger than this are parked as `tooLarge` without being parsed.
        public var maximumBodyBytes: Int
        /// Envelope parsing limits.
        public var envelopeLimits: Envelope.Limits
        /// How often to read the queue depth for `hub_queue_depth`; nil disables it.
        public var queueDepthInterval: Duration?
        /// First wait before retrying a transaction the database could not run (doubles up to 30 s).
        public var databaseRetry: Duration
        /// Run each batch first without per-message savepoints (one inbox statement per batch); if any handler
        /// fails, roll back and run the batch again with a savepoint per message. Same results, far fewer round
        /// trips when failures are rare; a failing batch costs one extra pass.
        public var optimisticBatches: Bool
        /// On shutdown, how long to wait for the in-flight batches' acks before closing the connection (whatever is
        /// not acked by then is redelivered; the inbox absorbs it).
        public var drainTimeout: Duration

        /// Creates a configuration.
        /// - Parameters:
        ///   - consumer: The queue, bindings, delivery limit and retry tiers.
        ///   - batchSize: Deliveries per transaction (default 64).
        ///   - maximumBatchWait: Wait for a batch to fill (default zero: no wait).
        ///   - lanes: Parallel lanes (default 2).
        ///   - prefetch: Unacked deliveries at once (default 256).
        ///   - maximumBodyBytes: Body size limit (default 1 MiB).
        ///   - envelopeLimits: Parsing limits (default 1 MiB, depth 64).
        ///   - queueDepthInterval: Queue depth poll interval (default 5 s; nil: off).
        ///   - databaseRetry: First database retry wait (default 500 ms).
        ///   - optimisticBatches: Savepoints only after a handler failure (default true).
        ///   - drainTimeout: Shutdown wait for in-flight acks (default 10 s).
        public init(
            consumer: Topology.Consumer,
            batchSize: Int = 64,
            maximumBatchWait: Duration = .zero,
            lanes: Int = 2,
            prefetch: UInt16 = 256,
            maximumBodyBytes: Int = 1 << 20,
            envelopeLimits: Envelope.Limits = Envelope.Limits(),
            queueDepthInterval: Duration? = .seconds(5),
            databaseRetry: Duration = .milliseconds(500),
            optimisticBatches: Bool = true,
            drainTimeout: Duration = .seconds(10)
        ) {
            self.consumer = consumer
            self.batchSize = max(batchSize, 1)
            self.maximumBatchWait = maximumBatchWait
            self.lanes = max(lanes, 1)
            self.prefetch = max(prefetch, 1)
            self.maximumBodyBytes = maximumBodyBytes
            self.envelopeLimits = envelopeLimits
            self.queueDepthInterval = queueDepthInterval
            self.databaseRetry = databaseRetry
            self.optimisticBatches = optimisticBatches
            self.drainTimeout = drainTimeout
        }
    }

    private let configuration: Configuration
    private let handler: any MessageHandler
    private let amqp: AMQPConfiguration
    private let pool: PostgresPool
    private let publisher: AMQPPublisher
    private let logger: Logger
    private let metrics: ConsumerMetrics

    /// Creates the service; nothing connects until ``run()``.
    /// - Parameters:
    ///   - configuration: The consumer's configuration.
    ///   - handler: The handler.
    ///   - amqp: The broker; the consumer opens its own connections with it.
    ///   - pool: The database pool (one connection per lane is used at a time).
    ///   - publisher: The publisher for retries and parks (confirms on); run it alongside.
    ///   - logger: The logger for the consumer's events.
    public init(
        configuration: Configuration,
        handler: any MessageHandler,
        amqp: AMQPConfiguration,
        pool: PostgresPool,
        publisher: AMQPPublisher,
        logger: Logger
    ) {
        self.configuration = configuration
        self.handler = handler
        self.amqp = amqp
        self.pool = pool
        self.publisher = publisher
        var logger = logger
        logger[metadataKey: LogKey.queue] = "\(configuration.consumer.queue)"
        self.logger = logger
        self.metrics = ConsumerMetrics(consumer: configuration.consumer.queue, queue: configuration.consumer.queue)
    }

    private var queue: String { configuration.consumer.queue }

    /// Consumes until graceful shutdown (then finishes, commits and acks in-flight batches) or cancellation.
    /// - Throws: `AMQPError` when the queue cannot be consumed (broker unreachable at start, bad credentials,
    ///   precondition failure); never for a failing message.
    public func run() async throws {
        let topology = Topology.hub(consumers: [configuration.consumer])
        let consumer = AMQPConsumer(
            configuration: amqp, topology: topology, drainTimeout: configuration.drainTimeout, logger: logger)
        let buffers = (0..<configuration.lanes).map { _ in LaneBuffer<Work>() }
        logger.info("consumer starting", metadata: ["hub.lanes": "\(configuration.lanes)"])
        try await withThrowingTaskGroup(of: Void.self) { outer in
            if let interval = configuration.queueDepthInterval {
                outer.addTask { await self.pollQueueDepth(every: interval) }
            }
            defer { outer.cancelAll() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for buffer in buffers {
                    group.addTask { await self.runLane(buffer) }
                }
                var failure: (any Error)?
                do {
                    let deliveries = consumer.consume(queue: queue, prefetch: configuration.prefetch)
                    for try await delivery in deliveries.cancelOnGracefulShutdown() {
                        let (lane, work) = self.intake(delivery)
                        buffers[lane].append(work)
                    }
                } catch {
                    failure = error
                }
                for buffer in buffers { buffer.finish() }
                try await group.waitForAll()
                if let failure {
                    logger.debug("consumer stopped by an error", metadata: [LogKey.errorType: "\(type(of: failure))"])
                    throw failure
                }
            }
        }
        logger.info("consumer stopped")
    }

    // MARK: Intake

    /// One delivery on its way through a lane.
    struct Work: Sendable {
        enum Kind: Sendable {
            case message(Envelope)
            case rejected(Rejection)
        }
        let delivery: Delivery
        let kind: Kind
        let history: FailureHistory
    }

    private func intake(_ delivery: Delivery) -> (Int, Work) {
        metrics.delivered.increment()
        let history = FailureHistory.parse(
            headers: delivery.headers, exchange: delivery.exchange, routingKey: delivery.routingKey)
        let lanes = configuration.lanes
        let result = Intake.inspect(
            body: delivery.body,
            maximumBodyBytes: configuration.maximumBodyBytes,
            limits: configuration.envelopeLimits,
            messageTypes: handler.messageTypes,
            acceptsEveryType: handler.acceptsEveryMessageType,
            validate: handler.validate
        )
        switch result {
        case .success(let envelope):
            let lane = StableHash.lane(for: handler.aggregateKey(for: envelope), lanes: lanes)
            return (lane, Work(delivery: delivery, kind: .message(envelope), history: history))
        case .failure(let rejection):
            // No key to order by: spread by delivery tag.
            return (Int(delivery.deliveryTag % UInt64(lanes)), Work(delivery: delivery, kind: .rejected(rejection), history: history))
        }
    }

    // MARK: Lanes

    private func runLane(_ buffer: LaneBuffer<Work>) async {
        let clock = ContinuousClock()
        while let batch = await buffer.nextBatch(
            maximumSize: configuration.batchSize, maximumWait: configuration.maximumBatchWait, clock: clock)
        {
            await process(batch)
        }
    }

    /// Runs one batch: the transaction (retried while the database is unreachable), then settlement.
    func process(_ batch: [Work]) async {
        metrics.batchSize.record(batch.count)
        var wait = configuration.databaseRetry
        var optimistic = configuration.optimisticBatches
        while true {
            let started = ContinuousClock.now
            do {
                let outcomes = try await pool.withTransaction { transaction in
                    try await self.apply(batch, in: transaction, optimistic: optimistic)
                }
                metrics.transactionDuration.recordInterval(since: started)
                await settle(batch, outcomes: outcomes)
                return
            } catch is NeedsIsolation {
                // A handler failed in the optimistic pass: everything was rolled back; isolate each message now.
                optimistic = false
                continue
            } catch {
                if Classifier.isRetryableTransactionFailure(error) && !Task.isCancelled {
                    logger.info(
                        "batch transaction failed; retrying with the deliveries held",
                        metadata: [LogKey.errorType: "\(errorLabel(error))", "hub.batch.size": "\(batch.count)"])
                    try? await Task.sleep(for: wait)
                    wait = min(wait * 2, .seconds(30))
                    continue
                }
                if optimistic {
                    // Whatever failed (a statement after a handler swallowed an error, the outbox, the commit), the
                    // isolated pass pins it to a message or shows it is not one message's fault.
                    optimistic = false
                    continue
                }
                logger.info(
                    "batch transaction failed; requeueing the batch",
                    metadata: [LogKey.errorType: "\(errorLabel(error))", "hub.batch.size": "\(batch.count)"])
                await withTaskGroup(of: Void.self) { group in
                    for work in batch {
                        group.addTask { await self.nack(work.delivery) }
                    }
                }
                try? await Task.sleep(for: configuration.databaseRetry)
                return
            }
        }
    }

    /// Thrown out of an optimistic pass when a handler fails, to roll the batch back and run it with savepoints.
    private struct NeedsIsolation: Error {}

    /// The inbox rows of a batch in one statement; returns the ids that were new.
    private func claimInbox(_ batch: [Work], in transaction: PostgresTransaction) async throws -> Set<UUID> {
        let ids = batch.compactMap { work -> String? in
            if case .message(let envelope) = work.kind { return "\(envelope.id)" }
            return nil
        }
        guard !ids.isEmpty else { return [] }
        // Message ids are canonical UUID text: no commas.
        let list = ids.joined(separator: ",")
        let rows = try await transaction.query(
            """
            INSERT INTO hub.inbox (consumer, message_id) \
            SELECT \(queue), unnest(string_to_array(\(list), ',')::uuid[]) ON CONFLICT DO NOTHING RETURNING message_id
            """
        ).rows
        return Set(try rows.map { try $0.decode(UUID.self, at: 0) })
    }

    /// The transaction body.
    ///
    /// Optimistic: the batch's inbox rows in one statement, then every handler with no savepoint; the first handler
    /// failure throws ``NeedsIsolation`` (the caller rolls back and runs the batch again, isolated). Isolated: per
    /// message a savepoint with its inbox row and its handler. Then, in both, the outbox rows in multi-row INSERTs.
    private func apply(_ batch: [Work], in transaction: PostgresTransaction, optimistic: Bool) async throws -> [Outcome] {
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(batch.count)
        var outbox: [OutboxRow] = []
        var fresh = optimistic ? try await claimInbox(batch, in: transaction) : []
        for work in batch {
            guard case .message(let envelope) = work.kind else {
                if case .rejected(let rejection) = work.kind { outcomes.append(.park(rejection)) }
                continue
            }
            var messageLogger = logger
            messageLogger[metadataKey: LogKey.messageID] = "\(envelope.id)"
            if let correlation = envelope.correlationID {
                messageLogger[metadataKey: LogKey.correlationID] = "\(correlation)"
            }
            let inbound = InboundMessage(
                envelope: envelope,
                exchange: work.history.originalExchange,
                routingKey: work.history.originalRoutingKey,
                redelivered: work.delivery.redelivered,
                attempt: work.history.attempt
            )
            let context = HandlerContext(transaction: transaction, logger: messageLogger, consumer: queue)
            if optimistic {
                // A second copy of an id in the same batch finds it already taken out of `fresh`.
                guard fresh.remove(envelope.id.uuid) != nil else {
                    outcomes.append(.duplicate)
                    continue
                }
                do {
                    let started = ContinuousClock.now
                    let emitted = try await handler.handle(inbound, context: context)
                    metrics.handlerDuration.recordInterval(since: started)
                    outcomes.append(.handled(emitted: emitted.count))
                    outbox += emitted.map { OutboxRow(producer: queue, message: $0) }
                } catch {
                    if Classifier.isConnectionFailure(error) { throw error }
                    messageLogger.debug("handler failed in an optimistic batch", metadata: [LogKey.errorType: "\(errorLabel(error))"])
                    throw NeedsIsolation()
                }
                continue
            }
            // The savepoint is managed here rather than with `withSavepoint`: when a handler swallowed a failed
            // statement, the transaction is aborted and RELEASE fails; ROLLBACK TO then restores it, so that one
            // misbehaving message cannot fail its batch-mates.
            try await transaction.execute("SAVEPOINT hub_message")
            do {
                let inserted = try await transaction.execute(
                    """
                    INSERT INTO hub.inbox (consumer, message_id) VALUES (\(queue), \(envelope.id.uuid)) \
                    ON CONFLICT DO NOTHING
                    """)
                if inserted == 0 {
                    try await transaction.execute("RELEASE SAVEPOINT hub_message")
                    outcomes.append(.duplicate)
                    continue
                }
                let started = ContinuousClock.now
                let emitted = try await handler.handle(inbound, context: context)
                metrics.handlerDuration.recordInterval(since: started)
                try await transaction.execute("RELEASE SAVEPOINT hub_message")
                outcomes.append(.handled(emitted: emitted.count))
                outbox += emitted.map { OutboxRow(producer: queue, message: $0) }
            } catch {
                if Classifier.isConnectionFailure(error) { throw error }
                try await transaction.execute("ROLLBACK TO SAVEPOINT hub_message")
                try await transaction.execute("RELEASE SAVEPOINT hub_message")
                let outcome = Classifier.outcome(for: error)
                messageLogger.debug("handler failed", metadata: [LogKey.errorType: "\(errorLabel(error))"])
                outcomes.append(outcome)
            }
        }
        if !outbox.isEmpty {
            // The batch's last statement: it travels with COMMIT (a failure fails the commit, and the batch is retried).
            try await OutboxRow.insertAndNotify(outbox, in: transaction, lastAtCommit: true)
        }
        return outcomes
    }

    // MARK: Settlement (after commit)

    private func settle(_ batch: [Work], outcomes: [Outcome]) async {
        let now = Date()
        var toAck: [Delivery] = []
        var toPublish: [(Delivery, AMQPMessage, Bool)] = []  // (delivery, message, isRetry)
        for (work, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .handled:
                toAck.append(work.delivery)
            case .duplicate:
                metrics.duplicates.increment()
                toAck.append(work.delivery)
            case .transient(let code, let message):
                let tiers = configuration.consumer.retryDelaysMilliseconds.count
                if let tier = FailureRouting.retryTier(afterFailedAttempt: work.history.attempt, tiers: tiers) {
                    toPublish.append((work.delivery, retryMessage(work, tier: tier, code: code, now: now), true))
                } else {
                    let rejection = Rejection(reason: .retriesExhausted, code: code, message: message)
                    toPublish.append((work.delivery, parkMessage(work, rejection: rejection, now: now), false))
                }
            case .park(let rejection):
                toPublish.append((work.delivery, parkMessage(work, rejection: rejection, now: now), false))
            }
        }
        if !toPublish.isEmpty {
            let results: [Result<Void, AMQPError>]
            do {
                results = try await publisher.publish(batch: toPublish.map(\.1))
            } catch {
                let failure = (error as? AMQPError) ?? AMQPError(.connectionLost, "publishing failed")
                results = Array(repeating: .failure(failure), count: toPublish.count)
            }
            for ((delivery, _, isRetry), result) in zip(toPublish, results) {
                switch result {
                case .success:
                    if isRetry { metrics.retried.increment() }
                    toAck.append(delivery)
                case .failure(let error):
                    logger.info(
                        "retry or park publish failed; requeueing the message",
                        metadata: [
                            LogKey.messageID: "\(delivery.properties.messageID ?? "-")",
                            LogKey.errorType: "\(error.code)",
                        ])
                    await nack(delivery)
                }
            }
        }
        if !toAck.isEmpty {
            // One hop to the consumer connection's thread for the batch, not one per delivery.
            let acknowledged = await Delivery.ack(toAck)
            metrics.acked.increment(by: acknowledged)
            if acknowledged < toAck.count {
                // The connection is gone: the broker redelivers, and the inbox makes the redelivery a duplicate.
                logger.debug("ack failed", metadata: ["hub.unacked": "\(toAck.count - acknowledged)"])
            }
        }
    }

    private func retryMessage(_ work: Work, tier: Int, code: String, now: Date) -> AMQPMessage {
        var properties = work.delivery.properties
        properties.headers = FailureRouting.retryHeaders(properties.headers, history: work.history, code: code, now: now)
        return AMQPMessage(
            exchange: Topology.ExchangeName.retry,
            routingKey: configuration.consumer.retryQueueName(tier: tier),
            body: work.delivery.body,
            properties: properties,
            mandatory: true
        )
    }

    private func parkMessage(_ work: Work, rejection: Rejection, now: Date) -> AMQPMessage {
        var properties = work.delivery.properties
        properties.headers = FailureRouting.parkHeaders(
            properties.headers, history: work.history, rejection: rejection, now: now)
        logger.debug(
            "parking message",
            metadata: [
                LogKey.messageID: "\(work.delivery.properties.messageID ?? "-")",
                "hub.park.reason": "\(rejection.reason)", LogKey.errorType: "\(rejection.code)",
            ])
        return AMQPMessage(
            exchange: Topology.ExchangeName.dead,
            routingKey: queue,
            body: work.delivery.body,
            properties: properties,
            mandatory: true
        )
    }

    private func nack(_ delivery: Delivery) async {
        do { try await delivery.nack(requeue: true) } catch {
            logger.debug("nack failed", metadata: [LogKey.errorType: "\(errorLabel(error))"])
        }
    }

    // MARK: Queue depth

    private func pollQueueDepth(every interval: Duration) async {
        var connection: AMQPConnection?
        while !Task.isCancelled {
            do {
                if connection == nil {
                    connection = try await AMQPConnection.connect(configuration: amqp, logger: logger)
                }
                if let connection {
                    let status = try await connection.queueStatus(queue)
                    metrics.queueDepth.record(Int(status.messageCount))
                }
            } catch {
                logger.debug("queue depth poll failed", metadata: [LogKey.errorType: "\(errorLabel(error))"])
                await connection?.close()
                connection = nil
            }
            try? await Task.sleep(for: interval)
        }
        await connection?.close()
    }
}

/// A bounded label for an error in logs and metrics.
func errorLabel(_ error: any Error) -> String {
    if let error = error as? AMQPError { return "amqp.\(error.code)" }
    if let error = error as? PostgresError { return "postgres.\(error.code)" }
    if let error = error as? HandlerFailure { return error.code }
    return "\(type(of: error))"
}

extension CoreMetrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        recordNanoseconds(nanoseconds)
    }
}
