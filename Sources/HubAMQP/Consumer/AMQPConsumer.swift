public import HubCore
public import Logging
import Synchronization

/// Consumes queues with manual acknowledgement on its own connections, reconnecting after connection loss.
///
/// ```swift
/// let consumer = AMQPConsumer(configuration: configuration, topology: topology, logger: logger)
/// let deliveries = consumer.consume(queue: "svc.payments", prefetch: 32)
/// for try await delivery in deliveries {
///     try await handle(delivery)
///     try await delivery.ack()
/// }
/// ```
public final class AMQPConsumer: Sendable {
    private let configuration: AMQPConfiguration
    private let topology: Topology
    private let pollInterval: Duration
    private let drainTimeout: Duration
    private let logger: Logger

    /// Creates a consumer; nothing connects until ``consume(queue:prefetch:)``.
    /// - Parameters:
    ///   - configuration: The broker (use a connection of its own, never the publisher's).
    ///   - topology: Declared on every (re)connection before consuming (default: nothing).
    ///   - pollInterval: How long one poll waits for a delivery; acks queue behind it (default 200 ms).
    ///   - drainTimeout: After stopping, how long to wait for delivered messages to be settled (default 10 s).
    ///   - logger: The logger for connection events.
    public init(
        configuration: AMQPConfiguration,
        topology: Topology = Topology(),
        pollInterval: Duration = .milliseconds(200),
        drainTimeout: Duration = .seconds(10),
        logger: Logger
    ) {
        self.configuration = configuration
        self.topology = topology
        self.pollInterval = pollInterval
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    /// Starts consuming `queue` and returns its deliveries.
    ///
    /// The first connection's failure (unreachable broker, bad credentials, missing queue) ends the sequence with
    /// that error. Later connection losses are retried with backoff and resubscribed; unacked messages are
    /// redelivered by the broker. Cancelling the iterating task or calling ``DeliverySequence/stop()`` cancels the
    /// consumer, waits up to the drain timeout for handed-out deliveries to be settled, then closes.
    /// - Parameters:
    ///   - queue: The queue.
    ///   - prefetch: The most unacknowledged deliveries at once (`basic.qos`); also bounds the buffer (default 32).
    /// - Returns: The deliveries.
    public func consume(queue: String, prefetch: UInt16 = 32) -> DeliverySequence {
        let session = ConsumerSession()
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Delivery.self, throwing: (any Error).self)
        continuation.onTermination = { _ in session.requestStop() }
        let pump = Pump(
            configuration: configuration, topology: topology, queue: queue, prefetch: max(prefetch, 1),
            pollInterval: pollInterval, drainTimeout: drainTimeout, session: session, continuation: continuation,
            logger: logger
        )
        session.start(Task { await pump.run() })
        return DeliverySequence(stream: stream, session: session)
    }
}

/// The deliveries of one consumer, as an `AsyncSequence` with a bounded buffer (at most `prefetch` unacked).
public struct DeliverySequence: AsyncSequence, Sendable {
    /// A delivery.
    public typealias Element = Delivery
    /// The failure type: ``AMQPError`` in practice.
    public typealias Failure = any Error

    let stream: AsyncThrowingStream<Delivery, any Error>
    let session: ConsumerSession

    /// Cancels the consumer (`basic.cancel`), waits for handed-out deliveries to be settled (up to the drain
    /// timeout), closes the connection and ends the sequence. Leaving the `for try await` loop (break, error,
    /// cancellation) starts the same shutdown; `stop()` also waits for it to finish.
    public func stop() async {
        session.requestStop()
        await session.waitForPump()
    }

    /// Stops without waiting for handed-out deliveries to be settled: cancels the consumer, closes the connection
    /// and ends the sequence. For a caller that was cancelled and will settle nothing more; the broker redelivers
    /// whatever was not acknowledged (at-least-once, nothing lost).
    public func abandon() async {
        session.requestStop(abandoning: true)
        await session.waitForPump()
    }

    /// Creates the iterator; iterate once.
    /// - Returns: The iterator.
    public func makeAsyncIterator() -> Iterator {
        Iterator(base: stream.makeAsyncIterator(), session: session, lifetime: IterationLifetime(session: session))
    }

    /// The iterator.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<Delivery, any Error>.Iterator
        let session: ConsumerSession
        let lifetime: IterationLifetime

        /// The next delivery, or nil when the consumer stopped.
        /// - Returns: The delivery.
        /// - Throws: ``AMQPError`` when consuming failed for good.
        public mutating func next() async throws -> Delivery? {
            while let delivery = try await base.next(isolation: #isolation) {
                // A delivery buffered before its connection died cannot be acked; the broker redelivers it, so
                // skip it (this also keeps the buffer within one connection's prefetch).
                if session.handedOut(delivery) { return delivery }
            }
            return nil
        }
    }
}

/// Ends intake when the iteration ends: a `for try await` loop that exits by `break`, by an error, or because its
/// task was cancelled drops its iterator, and the consumer then cancels and drains. Only a flag is set here; the
/// pump does the work.
final class IterationLifetime: Sendable {
    private let session: ConsumerSession
    init(session: ConsumerSession) { self.session = session }
    deinit { session.requestStop() }
}

/// Shared state of one consumer: stop request, the pump task and the deliveries handed out but not settled.
final class ConsumerSession: Sendable {
    private struct State {
        var stopRequested = false
        var abandoned = false
        var pump: Task<Void, Never>?
        var current: ObjectIdentifier?
        var generation: UInt64 = 0
        var outstanding: Set<UInt64> = []
    }
    private let state = Mutex(State())

    func start(_ task: Task<Void, Never>) { state.withLock { $0.pump = task } }
    func requestStop(abandoning: Bool = false) {
        state.withLock {
            $0.stopRequested = true
            if abandoning { $0.abandoned = true }
        }
    }
    var stopRequested: Bool { state.withLock { $0.stopRequested } }
    /// Stop without waiting for handed-out deliveries.
    var abandoned: Bool { state.withLock { $0.abandoned } }
    func waitForPump() async { await state.withLock { $0.pump }?.value }

    func begin(connection: AMQPConnection, generation: UInt64) {
        state.withLock {
            $0.current = ObjectIdentifier(connection)
            $0.generation = generation
            $0.outstanding.removeAll()
        }
    }

    /// Records a delivery handed to the application; false when it belongs to a dead connection.
    func handedOut(_ delivery: Delivery) -> Bool {
        let key = ObjectIdentifier(delivery.acknowledger.connection)
        return state.withLock {
            guard $0.current == key && $0.generation == delivery.acknowledger.generation else { return false }
            $0.outstanding.insert(delivery.deliveryTag)
            return true
        }
    }

    func settled(connection: AMQPConnection, generation: UInt64, tag: UInt64, multiple: Bool) {
        let key = ObjectIdentifier(connection)
        state.withLock {
            guard $0.current == key && $0.generation == generation else { return }
            if multiple { $0.outstanding = $0.outstanding.filter { $0 > tag } } else { $0.outstanding.remove(tag) }
        }
    }

    var outstandingCount: Int { state.withLock { $0.outstanding.count } }
}

/// The loop that connects, subscribes, polls and hands deliveries to the stream.
private struct Pump: Sendable {
    let configuration: AMQPConfiguration
    let topology: Topology
    let queue: String
    let prefetch: UInt16
    let pollInterval: Duration
    let drainTimeout: Duration
    let session: ConsumerSession
    let continuation: AsyncThrowingStream<Delivery, any Error>.Continuation
    let logger: Logger

    private static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? AMQPError else { return false }
        return [.connectionLost, .brokerUnreachable, .timeout].contains(error.code)
    }

    func run() async {
        var logger = self.logger
        logger[metadataKey: "amqp.queue"] = "\(queue)"
        var attempt = 0
        var connectedBefore = false
        while !session.stopRequested {
            let connection: AMQPConnection
            let generation: UInt64
            do {
                connection = try await AMQPConnection.connect(configuration: configuration, logger: logger)
                do {
                    try await connection.declare(topology)
                    _ = try await connection.startConsuming(queue: queue, prefetch: prefetch)
                    generation = await connection.channelGeneration
                } catch {
                    await connection.close()
                    throw error
                }
            } catch {
                guard connectedBefore, Self.isTransient(error) else {
                    logger.debug("amqp consumer failed", metadata: ["error.type": "\(error.amqpErrorType)"])
                    continuation.finish(throwing: error)
                    return
                }
                attempt += 1
                logger.debug("amqp consumer reconnect failed", metadata: ["error.type": "\(error.amqpErrorType)"])
                await sleepUnlessStopped(configuration.reconnect.delay(attempt: attempt))
                continue
            }
            if connectedBefore {
                logger.info("amqp consumer reconnected and resubscribed", metadata: ["amqp.attempts": "\(attempt)"])
            } else {
                logger.debug("amqp consumer subscribed")
            }
            connectedBefore = true
            attempt = 0
            session.begin(connection: connection, generation: generation)
            let acknowledger = DeliveryAcknowledger(connection: connection, generation: generation, session: session)

            while true {
                if session.stopRequested {
                    await drain(connection, logger: logger)
                    continuation.finish()
                    return
                }
                do {
                    // While the application holds unsettled deliveries, their acks queue behind the poll on the
                    // connection's thread: poll briefly so an ack waits at most a few milliseconds.
                    let timeout = session.outstandingCount > 0 ? min(pollInterval, .milliseconds(5)) : pollInterval
                    // What has already arrived comes in the same hop (at most the prefetch window).
                    for raw in try await connection.nextDeliveries(timeout: timeout, limit: prefetch == 0 ? 256 : Int(prefetch)) {
                        let delivery = Delivery(
                            body: raw.body, exchange: raw.exchange, routingKey: raw.routingKey,
                            redelivered: raw.redelivered, deliveryTag: raw.deliveryTag, properties: raw.properties,
                            deliveryMode: raw.deliveryMode, acknowledger: acknowledger
                        )
                        logger.debug(
                            "amqp delivery received",
                            metadata: [
                                "amqp.delivery_tag": "\(raw.deliveryTag)",
                                "hub.message.id": "\(raw.properties.messageID ?? "-")",
                            ]
                        )
                        continuation.yield(delivery)
                    }
                } catch {
                    await connection.close()
                    // A channel-level close while consuming (e.g. 406 after an ack of an unknown tag, or the broker
                    // cancelling the consumer) is recovered like a connection loss: reconnect and resubscribe; the
                    // broker redelivers what was unacked. If the queue is gone, resubscribing fails and ends the
                    // sequence with that error.
                    let recoverable = Self.isTransient(error)
                        || [.channelClosed, .preconditionFailed].contains(error.code)
                    guard recoverable else {
                        logger.debug("amqp consumer failed", metadata: ["error.type": "\(error.amqpErrorType)"])
                        continuation.finish(throwing: error)
                        return
                    }
                    logger.info("amqp consumer lost its connection or channel, reconnecting", metadata: ["error.type": "\(error.amqpErrorType)"])
                    attempt = 1
                    await sleepUnlessStopped(configuration.reconnect.delay(attempt: attempt))
                    break
                }
            }
        }
        continuation.finish()
    }

    /// Stops intake, lets handed-out deliveries be settled (bounded by the drain timeout), then closes.
    private func drain(_ connection: AMQPConnection, logger: Logger) async {
        do { try await connection.cancelConsuming() } catch {
            logger.debug("amqp consumer cancel failed", metadata: ["error.type": "\(error.amqpErrorType)"])
        }
        let deadline = ContinuousClock.now + drainTimeout
        while session.outstandingCount > 0 && ContinuousClock.now < deadline && !session.abandoned {
            guard await connection.isOpen else { break }
            try? await connection.tick()
            try? await Task.sleep(for: .milliseconds(20))
        }
        let unsettled = session.outstandingCount
        await connection.close()
        logger.debug("amqp consumer stopped", metadata: ["amqp.unsettled": "\(unsettled)"])
    }

    private func sleepUnlessStopped(_ duration: Duration) async {
        let deadline = ContinuousClock.now + duration
        while !session.stopRequested && ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
    }
}
