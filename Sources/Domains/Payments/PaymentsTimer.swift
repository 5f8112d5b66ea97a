public import Foundation
import CoreMetrics
import HubCore
import HubRuntime
public import HubStore
public import Logging
public import ServiceLifecycle

/// The payments timers, a ServiceLifecycle service of the `payments` role.
///
/// Every `timerInterval` it scans, in short transactions with `FOR UPDATE SKIP LOCKED` (so several processes share
/// the work without blocking each other or the handlers):
/// - queued transfers whose `eligible_at` passed (HVPS opened, or the execution date came): routed again;
/// - executing transfers past the adapter timeout: `statusUnknown`, a `payments.transfer.status-unknown.v1` event
///   and a status query (R-PAY-4: never a resubmission under a new id);
/// - `statusUnknown` transfers whose next query is due: another query, the wait doubling up to the maximum.
///
/// Messages go through `Outbox.enqueue` in the same transaction, with the runtime's guarantees.
///
/// Every `metricsInterval` it also reports, from the database (so rolled-back work is never counted), the gauges
/// `payments_transfers{state}` and `payments_refusals{outcome, reason_code}` (rejected requests and lines,
/// failed transfers, by ISO 20022 code).
public struct PaymentsTimer: Service {
    /// The outbox producer name of the timer's messages.
    public static let producer = "payments.timer"

    let engine: PaymentsEngine
    let pool: PostgresPool
    let logger: Logger
    let clock: @Sendable () -> Date
    let batchSize: Int
    let enterprise: String?

    /// Creates the timer.
    /// - Parameters:
    ///   - configuration: The settings (`timerInterval`, `adapterTimeout`, back-off, routing).
    ///   - pool: The database pool.
    ///   - logger: The logger for background work.
    ///   - clock: The current instant (tests inject one).
    ///   - enterprise: Only this enterprise's transfers (default all). Tests that move their own clock use it so
    ///     that they never touch transfers of other tests sharing the database.
    public init(configuration: PaymentsConfiguration, pool: PostgresPool, logger: Logger,
                clock: @escaping @Sendable () -> Date = { Date() }, enterprise: String? = nil)
    {
        self.enterprise = enterprise
        self.engine = PaymentsEngine(configuration: configuration)
        self.pool = pool
        self.logger = logger
        self.clock = clock
        self.batchSize = 100
    }

    /// Runs until graceful shutdown. A failed pass (database away) is logged and retried on the next tick.
    /// - Throws: Nothing but cancellation.
    public func run() async throws {
        let interval = engine.configuration.timerInterval
        let metricsEvery = engine.configuration.metricsInterval
        var lastReport: ContinuousClock.Instant?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await tick()
                if let metricsEvery, lastReport.map({ ContinuousClock.now - $0 >= metricsEvery }) ?? true {
                    lastReport = .now
                    try await reportMetrics()
                }
            } catch {
                logger.info("payments: timer pass failed; retrying on the next tick",
                            metadata: ["error.type": "\(String(describing: type(of: error)))"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One pass over every due transfer.
    /// - Returns: How many transfers it moved.
    /// - Throws: A database error.
    @discardableResult
    public func tick() async throws -> Int {
        var moved = 0
        while true {
            let count = try await pass(queued: true)
            moved += count
            if count < batchSize { break }
        }
        while true {
            let count = try await pass(queued: false)
            moved += count
            if count < batchSize { break }
        }
        return moved
    }

    /// Reports the state and refusal gauges from the database.
    /// - Throws: A database error.
    public func reportMetrics() async throws {
        let states = try await pool.query("SELECT state, count(*)::int8 FROM payments.transfers GROUP BY state").rows
        var counts: [String: Int64] = [:]
        for row in states { counts[try row.decode(String.self, at: 0)] = try row.decode(Int64.self, at: 1) }
        for state in TransferState.allCases {
            Gauge(label: "payments_transfers", dimensions: [("state", state.rawValue)]).record(counts[state.rawValue] ?? 0)
        }
        let refusals = try await pool.query(
            """
            SELECT 'rejected', reason_code, count(*)::int8 FROM payments.requests WHERE outcome = 'rejected'             GROUP BY reason_code UNION ALL SELECT 'rejected', reason_code, count(*)::int8             FROM payments.batch_rejected_lines GROUP BY reason_code UNION ALL SELECT state, reason_code, count(*)::int8             FROM payments.transfers WHERE state IN ('rejected', 'failed') AND reason_code IS NOT NULL             GROUP BY state, reason_code
            """
        ).rows
        var totals: [String: Int64] = [:]
        for row in refusals {
            let key = try row.decode(String.self, at: 0) + " " + (try row.decode(String?.self, at: 1) ?? "NONE")
            totals[key, default: 0] += try row.decode(Int64.self, at: 2)
        }
        for (key, total) in totals {
            let parts = key.split(separator: " ")
            Gauge(label: "payments_refusals",
                  dimensions: [("outcome", String(parts[0])), ("reason_code", String(parts[1]))]).record(total)
        }
    }

    private func pass(queued: Bool) async throws -> Int {
        let now = clock()
        let engine = self.engine
        let limit = batchSize
        let logger = self.logger
        let enterprise = self.enterprise
        return try await pool.withTransaction { transaction in
            let due = queued
                ? try await PaymentsStore.dueQueued(now: now, limit: limit, enterprise: enterprise, in: transaction)
                : try await PaymentsStore.dueChecks(now: now, limit: limit, enterprise: enterprise, in: transaction)
            var messages: [OutboundMessage] = []
            for var transfer in due {
                let before = transfer.state
                messages += queued
                    ? try await engine.release(&transfer, now: now, in: transaction)
                    : try await engine.checkDue(&transfer, now: now, in: transaction)
                logger.info("payments: timer moved a transfer",
                            metadata: ["payments.transfer.id": "\(transfer.aggregateKey)",
                                       "payments.from": "\(before.rawValue)", "payments.to": "\(transfer.state.rawValue)"])
            }
            try await Outbox.enqueue(messages, producer: Self.producer, in: transaction)
            return due.count
        }
    }
}
