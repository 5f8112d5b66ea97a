public import HubAMQP
public import HubCore
public import Logging
import CoreMetrics
import Foundation
public import ServiceLifecycle
import Synchronization

/// The audit sink: consumes `tap.audit` (bound to `#` on `hub.commands`, `hub.events` and `hub.dead`) and appends
/// every delivery, malformed ones included, to the chain in batches.
///
/// A batch is up to `batchSize` deliveries, or what arrived within `maximumBatchWait` of its first delivery. It is
/// prepared (index, sealing, flags), appended in ONE transaction (COPY), committed, and only then acknowledged
/// with one multiple-ack per channel. A failed transaction is retried with back-off while the deliveries are held
/// (never requeued, never dropped); a crash before the ack makes the broker redeliver, and the redelivered copies
/// are stored again and marked `repeat_of` the first (see `docs/audit.md`, "Redelivery").
public struct AuditSinkService: Service {
    /// Settings of the sink.
    public struct Configuration: Sendable {
        /// The queue consumed (default `tap.audit`).
        public var consumer: Topology.Consumer
        /// The chain appended to (default `main`).
        public var chain: String
        /// Most deliveries per transaction (default 256).
        public var batchSize: Int
        /// How long a batch waits for more deliveries after its first (default 20 ms).
        public var maximumBatchWait: Duration
        /// How often a signed checkpoint is written when the head moved (default 5 min; nil: never).
        public var checkpointInterval: Duration?
        /// Partitions created ahead of the current month (default 3).
        public var partitionsAhead: Int
        /// How long a fingerprint is kept to mark redelivered copies (default 7 days; redeliveries come within
        /// minutes, so older fingerprints only cost space).
        public var fingerprintRetention: Duration = .seconds(7 * 86_400)
        /// Test hook: stop (as if crashed) right after committing this many batches, without acknowledging.
        var crashAfterCommittedBatches: Int?
        /// How long stopping waits for held deliveries to be settled (default 10 s).
        var drainTimeout: Duration = .seconds(10)

        /// Creates the configuration.
        public init(
            consumer: Topology.Consumer = AuditSinkService.consumer(), chain: String = "main", batchSize: Int = 256,
            maximumBatchWait: Duration = .milliseconds(20), checkpointInterval: Duration? = .seconds(300),
            partitionsAhead: Int = 3
        ) {
            self.consumer = consumer
            self.chain = chain
            self.batchSize = max(batchSize, 1)
            self.maximumBatchWait = maximumBatchWait
            self.checkpointInterval = checkpointInterval
            self.partitionsAhead = partitionsAhead
        }
    }

    /// The tap's queue: bound to `#` on the commands, events and dead-letter exchanges.
    /// - Parameters:
    ///   - queue: The queue's name (default `tap.audit`; tests use their own).
    ///   - pattern: The binding pattern on each exchange (default `#`: everything; tests narrow it so that their
    ///     short-lived queues never take other suites' traffic).
    /// - Returns: The consumer description.
    public static func consumer(queue: String = "tap.audit", pattern: String = "#") -> Topology.Consumer {
        Topology.Consumer(
            queue: queue,
            bindings: [
                (Topology.ExchangeName.commands, pattern), (Topology.ExchangeName.events, pattern),
                (Topology.ExchangeName.dead, pattern),
            ],
            deliveryLimit: 50,
            retryDelaysMilliseconds: []  // the sink never retries through the broker: it holds and retries itself
        )
    }

    enum Part: Sendable { case intake, writer, checkpoints }

    /// Raised by the crash test hook.
    struct SimulatedCrash: Error {}

    let configuration: Configuration
    let store: AuditStore
    let intake: AuditIntake
    let amqp: AMQPConfiguration
    let signer: AuditSigner?
    let logger: Logger

    /// Creates the sink.
    /// - Parameters:
    ///   - configuration: Settings.
    ///   - store: The audit store.
    ///   - intake: Parsing and sealing.
    ///   - amqp: The broker (the sink opens its own consumer connection).
    ///   - signer: The checkpoint signer (nil: no periodic checkpoints).
    ///   - logger: The logger.
    public init(
        configuration: Configuration, store: AuditStore, intake: AuditIntake, amqp: AMQPConfiguration,
        signer: AuditSigner?, logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.intake = intake
        self.amqp = amqp
        self.signer = signer
        self.logger = logger
    }

    /// Consumes until graceful shutdown: intake stops, the batches in hand are committed and acknowledged.
    /// - Throws: When the queue cannot be consumed at all (the first connection fails).
    public func run() async throws {
        var queueLogger = self.logger
        queueLogger[metadataKey: "amqp.queue"] = "\(configuration.consumer.queue)"
        let logger = queueLogger
        try await store.ensurePartitions(monthsAhead: configuration.partitionsAhead)
        let consumer = AMQPConsumer(
            configuration: amqp, topology: Topology.hub(consumers: [configuration.consumer]),
            drainTimeout: configuration.drainTimeout, logger: logger)
        let prefetch = UInt16(min(configuration.batchSize * 2, Int(UInt16.max)))
        let deliveries = consumer.consume(queue: configuration.consumer.queue, prefetch: prefetch)
        let buffer = BatchBuffer()
        let configuration = self.configuration
        try await withThrowingTaskGroup(of: Part.self) { group in
            group.addTask {
                do {
                    for try await delivery in deliveries.cancelOnGracefulShutdown() { buffer.append(delivery) }
                    buffer.finish()
                } catch {
                    buffer.finish()
                    throw error
                }
                return .intake
            }
            group.addTask {
                // A pipeline of two: while batch n is committed and acknowledged, batch n+1 is gathered and prepared
                // (parsed, sealed, hashed for its fingerprint). Commits and acks stay strictly in arrival order.
                var previous: Pending?
                var number = 0
                while true {
                    let current = previous
                    async let committed: Void = commitAndAcknowledge(current, logger: logger)
                    let next = await buffer.nextBatch(
                        maximum: configuration.batchSize, wait: configuration.maximumBatchWait)
                    var prepared: [PreparedRecord]?
                    if let next { prepared = try await prepare(next) }
                    try await committed
                    guard let next, let prepared else { break }
                    number += 1
                    previous = Pending(deliveries: next, prepared: prepared, number: number)
                }
                return .writer
            }
            let signer = self.signer
            group.addTask {
                // Maintenance: signed checkpoints, partitions ahead, pruning of old fingerprints.
                var lastHead: Int64 = -1
                let interval = configuration.checkpointInterval ?? .seconds(300)
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    if Task.isCancelled || Task.isShuttingDownGracefully { break }
                    do {
                        let head = try await store.head(chain: configuration.chain)
                        if let signer, configuration.checkpointInterval != nil, head.sequence > 0,
                            head.sequence != lastHead
                        {
                            _ = try await AuditCheckpoints.create(store: store, chain: configuration.chain, signer: signer)
                            lastHead = head.sequence
                            Counter(label: "audit_checkpoints_total").increment()
                        }
                        try await store.ensurePartitions(monthsAhead: configuration.partitionsAhead)
                        try await store.pruneFingerprints(chain: configuration.chain, olderThan: configuration.fingerprintRetention)
                    } catch {
                        logger.warning("audit maintenance failed", metadata: ["error": "\(error)"])
                    }
                }
                return .checkpoints
            }
            do {
                // The writer ends after the intake ended and every batch in hand was committed and acknowledged.
                while let part = try await group.next() {
                    if part == .writer { break }
                }
            } catch {
                // Cancelled (the graceful window passed): the batches in hand will not be acknowledged, so do not wait
                // for them; the broker redelivers them and the fingerprints mark the copies.
                if Task.isCancelled { await deliveries.abandon() } else { await deliveries.stop() }
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// Prepares a batch on every core (parsing and sealing are the sink's main CPU cost), keeping arrival order.
    func prepare(_ batch: [Delivery]) async throws -> [PreparedRecord] {
        let intake = self.intake
        let chunkSize = max(32, (batch.count + 1) / max(ProcessInfo.processInfo.activeProcessorCount, 1))
        guard batch.count > chunkSize else { return try batch.map { try intake.prepare(IncomingMessage($0)) } }
        return try await withThrowingTaskGroup(of: (Int, [PreparedRecord]).self) { group in
            for start in stride(from: 0, to: batch.count, by: chunkSize) {
                let chunk = Array(batch[start..<min(start + chunkSize, batch.count)])
                group.addTask { (start, try chunk.map { try intake.prepare(IncomingMessage($0)) }) }
            }
            var parts: [(Int, [PreparedRecord])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// A prepared batch waiting for its commit.
    struct Pending: Sendable {
        var deliveries: [Delivery]
        var prepared: [PreparedRecord]
        var number: Int
    }

    /// Commits a prepared batch, then acknowledges its deliveries (nothing when `pending` is nil).
    func commitAndAcknowledge(_ pending: Pending?, logger: Logger) async throws {
        guard let pending, !pending.deliveries.isEmpty else { return }
        try await write(pending.prepared, deliveries: pending.deliveries.count, logger: logger)
        if let crash = configuration.crashAfterCommittedBatches, pending.number >= crash { throw SimulatedCrash() }
        await acknowledge(pending.deliveries, logger: logger)
    }

    /// Commits one prepared batch, retrying the transaction with back-off while holding the deliveries.
    func write(_ prepared: [PreparedRecord], deliveries: Int, logger: Logger) async throws {
        var attempt = 0
        let started = ContinuousClock.now
        while true {
            do {
                let records = try await store.append(prepared, chain: configuration.chain)
                Counter(label: "audit_records_written_total").increment(by: records.count)
                Counter(label: "audit_malformed_total").increment(by: records.filter { $0.malformed != nil }.count)
                Recorder(label: "audit_batch_size").record(records.count)
                CoreMetrics.Timer(label: "audit_batch_duration_seconds").auditRecordInterval(since: started)
                if let last = records.last { Gauge(label: "audit_chain_head_sequence").record(Double(last.sequence)) }
                return
            } catch {
                try Task.checkCancellation()
                attempt += 1
                Counter(label: "audit_write_failures_total").increment()
                logger.warning(
                    "audit batch not stored, retrying with the deliveries held",
                    metadata: ["audit.batch": "\(deliveries)", "audit.attempt": "\(attempt)", "error": "\(error)"])
                let delay = Duration.milliseconds(min(500 << min(attempt - 1, 6), 30_000))
                try await Task.sleep(for: delay)
            }
        }
    }

    /// One multiple-ack per run of increasing delivery tags (a reconnect restarts the tags).
    func acknowledge(_ batch: [Delivery], logger: Logger) async {
        for (offset, delivery) in batch.enumerated() {
            let isLastOfRun = offset == batch.count - 1 || batch[offset + 1].deliveryTag <= delivery.deliveryTag
            guard isLastOfRun else { continue }
            do { try await delivery.ack(multiple: true) } catch {
                // The connection is gone: the broker redelivers, and the copies are marked repeat_of.
                logger.info("audit ack failed; the broker will redeliver", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension CoreMetrics.Timer {
    fileprivate func auditRecordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}

/// Deliveries between the intake task and the writer; hands out batches.
final class BatchBuffer: Sendable {
    private struct State {
        var items: [Delivery] = []
        var ended = false
        var wanted = 1
        var woken = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func append(_ delivery: Delivery) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.append(delivery)
            guard state.items.count >= state.wanted, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ended = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.woken = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func wait(until count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.items.count >= count || state.ended || state.woken { return true }
                state.wanted = count
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// The next batch: waits for a first delivery, then up to `wait` for `maximum`; nil when the intake ended and
    /// nothing is left.
    func nextBatch(maximum: Int, wait duration: Duration) async -> [Delivery]? {
        state.withLock { $0.woken = false }
        await wait(until: 1)
        let (count, ended) = state.withLock { ($0.items.count, $0.ended) }
        if count > 0 && count < maximum && !ended {
            state.withLock { $0.woken = false }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.wait(until: maximum) }
                group.addTask {
                    try? await Task.sleep(for: duration)
                    self.wake()
                }
                await group.next()
                group.cancelAll()
                self.wake()
            }
        }
        return state.withLock { state -> [Delivery]? in
            if state.items.isEmpty { return state.ended ? nil : [] }
            let batch = Array(state.items.prefix(maximum))
            state.items.removeFirst(batch.count)
            return batch
        }
    }
}
