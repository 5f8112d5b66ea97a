import CoreMetrics
import Foundation
import Metrics
public import HubAMQP
import HubCore
public import HubStore
public import Logging
public import ServiceLifecycle
import Synchronization

/// Publishes the rows of `hub.outbox` with publisher confirms and marks them sent.
///
/// Wakes on `NOTIFY hub_outbox` (sent by the consumer's transaction) and polls as a fallback. Rows are partitioned
/// into 64 lanes by a stable hash of their aggregate key. A pass takes, in ONE transaction, the advisory lock of every
/// lane with unsent rows that no other relay holds (`pg_try_advisory_xact_lock(lane)`), selects up to `batchSize`
/// unsent rows of each of those lanes in id order (`FOR UPDATE SKIP LOCKED`), publishes them lane after lane, each in
/// id order, on one channel with confirms, sets `sent_at` on each lane's confirmed prefix, and commits; lanes that
/// had more rows get another pass. A publish failure leaves the rest of its lane unsent. (One transaction per pass
/// rather than one per lane: with events spread over many lanes, a transaction per lane cost a commit and five round
/// trips per lane and made the relay the largest part of the end-to-end latency — docs/performance.md.)
///
/// **Guarantee.** Every committed row is published at least once. Rows of one aggregate key are published in id
/// order, by at most one relay at a time, even with several relays running. Within one consumer process a key's
/// rows get increasing ids in handling order (a lane's transactions run one after the other). The order of a key
/// can break only around a failure: when a publish in a batch fails, later rows of the batch may already have
/// reached the broker and are published again with the failed one on the next pass (duplicates, and an earlier
/// message after a later one); consumers deduplicate by message id. Rows of a key written concurrently by two
/// consumer processes are published in id order, which need not be their commit order.
///
/// Sent rows older than the retention are deleted in chunks.
public struct OutboxRelay: Service {
    /// How the relay runs.
    ///
    /// | key | type | default |
    /// |---|---|---|
    /// | `name` | `String` | `outbox` (metric dimension `consumer`) |
    /// | `batchSize` | `Int` | 256 rows per transaction |
    /// | `pollInterval` | `Duration` | 1 s (fallback when no NOTIFY arrives) |
    /// | `mandatory` | `Bool` | false (an event nobody subscribes to is not an error) |
    /// | `retention` | `Duration` | 7 days (sent rows kept) |
    /// | `pruneInterval` | `Duration` | 60 s |
    /// | `pruneChunk` | `Int` | 10,000 rows per DELETE |
    public struct Configuration: Sendable {
        /// Names the relay in metrics and logs.
        public var name: String
        /// Rows per transaction.
        public var batchSize: Int
        /// Poll even without NOTIFY this often.
        public var pollInterval: Duration
        /// Publish with the mandatory flag (unroutable rows then stay unsent).
        public var mandatory: Bool
        /// How long sent rows are kept.
        public var retention: Duration
        /// How often to prune.
        public var pruneInterval: Duration
        /// Rows per pruning DELETE.
        public var pruneChunk: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - name: Metric dimension and log name (default `outbox`).
        ///   - batchSize: Rows per transaction (default 256).
        ///   - pollInterval: Polling fallback (default 1 s).
        ///   - mandatory: Mandatory publishes (default false).
        ///   - retention: Sent-row retention (default 7 days).
        ///   - pruneInterval: Pruning interval (default 60 s).
        ///   - pruneChunk: Rows per pruning DELETE (default 10,000).
        public init(
            name: String = "outbox",
            batchSize: Int = 256,
            pollInterval: Duration = .seconds(1),
            mandatory: Bool = false,
            retention: Duration = .seconds(7 * 24 * 3600),
            pruneInterval: Duration = .seconds(60),
            pruneChunk: Int = 10_000
        ) {
            self.name = name
            self.batchSize = max(batchSize, 1)
            self.pollInterval = pollInterval
            self.mandatory = mandatory
            self.retention = retention
            self.pruneInterval = pruneInterval
            self.pruneChunk = max(pruneChunk, 1)
        }
    }

    /// The advisory lock class of outbox lanes (`pg_try_advisory_xact_lock(class, lane)`).
    static let lockClass: Int32 = 0x4855_4254

    private let configuration: Configuration
    private let pool: PostgresPool
    private let publisher: AMQPPublisher
    private let logger: Logger
    private let lag: Gauge
    private let published: Counter

    /// Creates a relay; nothing runs until ``run()``.
    /// - Parameters:
    ///   - configuration: The relay's configuration.
    ///   - pool: The database pool.
    ///   - publisher: The publisher (confirms on); run it alongside.
    ///   - logger: The logger.
    public init(configuration: Configuration = Configuration(), pool: PostgresPool, publisher: AMQPPublisher, logger: Logger) {
        self.configuration = configuration
        self.pool = pool
        self.publisher = publisher
        var logger = logger
        logger[metadataKey: "hub.relay"] = "\(configuration.name)"
        self.logger = logger
        self.lag = Gauge(label: RuntimeMetricName.outboxLag, dimensions: [("consumer", configuration.name)])
        self.published = Counter(label: RuntimeMetricName.outboxPublished, dimensions: [("consumer", configuration.name)])
    }

    /// Relays until graceful shutdown, then publishes what is committed and returns.
    /// - Throws: Never for database or broker failures (they are retried); only on cancellation paths, nothing.
    public func run() async throws {
        let wake = WakeSignal()
        logger.info("outbox relay starting")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen(wake: wake) }
            await withGracefulShutdownHandler {
                var lastPrune = ContinuousClock.now - configuration.pruneInterval
                var lastLag = ContinuousClock.now - .seconds(1)
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let healthy = await flushLogged()
                    // The lag gauge is a scrape-rate figure: once a second is enough, not once per pass.
                    if ContinuousClock.now - lastLag >= .seconds(1) {
                        lastLag = .now
                        try? await recordLag()
                    }
                    if ContinuousClock.now - lastPrune >= configuration.pruneInterval {
                        lastPrune = .now
                        await pruneLogged()
                    }
                    await wake.wait(timeout: healthy ? configuration.pollInterval : max(configuration.pollInterval, .seconds(1)))
                }
            } onGracefulShutdown: {
                wake.signal()
            }
            // Flush what was committed before shutdown.
            if !Task.isCancelled { _ = await flushLogged() }
            group.cancelAll()
        }
        logger.info("outbox relay stopped")
    }

    /// Publishes every unsent row it can (lanes held by another relay are skipped) and returns how many.
    /// - Returns: Rows published and marked sent.
    /// - Throws: `PostgresError` or `AMQPError` (`nacked`, `connectionLost`, …) for the first lane that failed; rows
    ///   of earlier lanes stay sent.
    @discardableResult
    public func flush() async throws -> Int {
        var (total, lanes) = try await flush(lanes: nil)
        while !lanes.isEmpty {
            let (sent, full) = try await flush(lanes: lanes)
            total += sent
            lanes = full
        }
        return total
    }

    private func flushLogged() async -> Bool {
        do {
            try await flush()
            return true
        } catch {
            logger.info("outbox relay pass failed", metadata: [LogKey.errorType: "\(errorLabel(error))"])
            return false
        }
    }

    /// One transaction over the lanes with unsent rows — all of them, or only those in `lanes` — skipping those
    /// another relay holds: returns the rows sent and the lanes that had `batchSize` rows selected (they may have
    /// more). The candidate lanes are found in the same statement that locks them and selects their rows.
    private func flush(lanes: [Int32]?) async throws -> (sent: Int, full: [Int32]) {
        let batchSize = configuration.batchSize
        let mandatory = configuration.mandatory
        let publisher = self.publisher
        let laneList: String? = lanes.map { $0.map(String.init).joined(separator: ",") }
        let outcome: (Int, [Int32], (any Error)?) = try await pool.withTransaction { transaction in
            let rows = try await transaction.query(
                """
                WITH candidates AS (
                    SELECT DISTINCT lane FROM hub.outbox WHERE sent_at IS NULL \
                    AND (\(laneList)::text IS NULL OR lane = ANY(string_to_array(\(laneList), ',')::int[]))
                ), locked AS (
                    SELECT c.lane FROM candidates c WHERE pg_try_advisory_xact_lock(\(Self.lockClass), c.lane)
                )
                SELECT o.id, o.exchange, o.routing_key, o.message_id, o.message_type, o.correlation_id, o.body, o.lane \
                FROM locked CROSS JOIN LATERAL (
                    SELECT id, exchange, routing_key, message_id, message_type, correlation_id, body, lane \
                    FROM hub.outbox WHERE lane = locked.lane AND sent_at IS NULL \
                    ORDER BY id LIMIT \(batchSize) FOR UPDATE SKIP LOCKED
                ) o ORDER BY o.lane, o.id
                """
            ).rows
            guard !rows.isEmpty else { return (0, [], nil) }
            var ids: [Int64] = []
            var rowLanes: [Int32] = []
            var messages: [AMQPMessage] = []
            for row in rows {
                ids.append(try row.decode(Int64.self, at: 0))
                rowLanes.append(try row.decode(Int32.self, at: 7))
                let type = try row.decode(String.self, at: 4)
                let correlation = try row.decode(UUID?.self, at: 5)
                let messageID = try row.decode(UUID.self, at: 3)
                messages.append(
                    AMQPMessage(
                        exchange: try row.decode(String.self, at: 1),
                        routingKey: try row.decode(String.self, at: 2),
                        body: try row.decode([UInt8].self, at: 6),
                        properties: AMQPMessage.Properties(
                            messageID: messageID.uuidString.lowercased(),
                            type: type,
                            correlationID: (correlation ?? messageID).uuidString.lowercased(),
                            contentType: Envelope.structuredContentType
                        ),
                        mandatory: mandatory
                    ))
            }
            var selectedPerLane: [Int32: Int] = [:]
            for lane in rowLanes { selectedPerLane[lane, default: 0] += 1 }
            let full = selectedPerLane.filter { $0.value >= batchSize }.map(\.key)
            let results: [Result<Void, AMQPError>]
            do {
                results = try await publisher.publish(batch: messages)
            } catch {
                return (0, [], error)
            }
            // Each lane's confirmed prefix: after a lane's first failure, its later rows stay unsent.
            var failure: (any Error)?
            var failedLanes: Set<Int32> = []
            var confirmed: [Int64] = []
            for (index, result) in results.enumerated() {
                let lane = rowLanes[index]
                if failedLanes.contains(lane) { continue }
                if case .failure(let error) = result {
                    failure = failure ?? error
                    failedLanes.insert(lane)
                    continue
                }
                confirmed.append(ids[index])
            }
            if !confirmed.isEmpty {
                let list = confirmed.map(String.init).joined(separator: ",")
                // With COMMIT, in one round trip; if it fails, the rows stay unsent and are published again.
                try await transaction.executeAtCommit(
                    """
                    UPDATE hub.outbox SET sent_at = now() \
                    WHERE id = ANY(string_to_array(\(list), ',')::bigint[])
                    """)
            }
            return (confirmed.count, failure == nil ? full : [], failure)
        }
        published.increment(by: outcome.0)
        if let failure = outcome.2 { throw failure }
        return (outcome.0, outcome.1)
    }

    private func recordLag() async throws {
        let row = try await pool.query(
            """
            SELECT COALESCE((EXTRACT(EPOCH FROM now() - min(created_at)) * 1000)::bigint, 0) \
            FROM hub.outbox WHERE sent_at IS NULL
            """
        ).rows.first
        let milliseconds = try row?.decode(Int64.self, at: 0) ?? 0
        lag.record(Double(milliseconds) / 1000)
    }

    /// Deletes sent rows older than the retention, in chunks.
    /// - Returns: Rows deleted.
    /// - Throws: `PostgresError`.
    @discardableResult
    public func prune() async throws -> Int {
        let seconds = configuration.retention.components.seconds
        let chunk = configuration.pruneChunk
        var total = 0
        while true {
            let deleted = try await pool.withConnection { connection in
                try await connection.execute(
                    """
                    DELETE FROM hub.outbox WHERE id IN (SELECT id FROM hub.outbox \
                    WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => \(seconds)) LIMIT \(chunk))
                    """)
            }
            total += deleted
            if deleted < chunk { return total }
        }
    }

    private func pruneLogged() async {
        do {
            let deleted = try await prune()
            if deleted > 0 { logger.debug("outbox pruned", metadata: ["hub.outbox.deleted": "\(deleted)"]) }
        } catch {
            logger.info("outbox prune failed", metadata: [LogKey.errorType: "\(errorLabel(error))"])
        }
    }

    /// LISTEN on `hub_outbox` and wake the relay on each notification; reconnects after failures.
    private func listen(wake: WakeSignal) async {
        guard let channel = try? SQLIdentifier("hub_outbox") else { return }
        while !Task.isCancelled {
            do {
                try await pool.withListener(channel: channel) { notifications in
                    wake.signal()  // Rows may have been written while not listening.
                    for try await _ in notifications { wake.signal() }
                }
            } catch {
                logger.debug("outbox listener failed", metadata: [LogKey.errorType: "\(errorLabel(error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// A wake-up flag with a timed wait: one waiter (the relay loop), any number of signallers.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Wakes the waiter, or makes the next wait return at once.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Waits for a signal or the timeout, whichever comes first.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Only a real timeout signals; a cancelled sleep (woken early) must not leave a stale signal.
                if (try? await Task.sleep(for: timeout)) != nil { self.signal() }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if state.pending || Task.isCancelled {
                            state.pending = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                self.signal()
            }
            group.cancelAll()
        }
    }
}
