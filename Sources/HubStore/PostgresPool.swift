public import Logging
import Synchronization

/// A pool of PostgreSQL connections: lazy connect, at most `configuration.poolSize` at once, exclusive leases,
/// a bounded wait when all are busy, and replacement of broken connections.
///
/// ```swift
/// let pool = PostgresPool(configuration: try PostgresConfiguration(url: url), logger: logger)
/// let count = try await pool.withConnection { connection in
///     try await connection.query("SELECT count(*) AS n FROM hub.inbox").rows[0].decode(Int.self, column: "n")
/// }
/// await pool.close()
/// ```
public final class PostgresPool: Sendable {
    /// The configuration every connection is opened with (the pool uses `poolSize` and `poolAcquireTimeout`).
    public let configuration: PostgresConfiguration
    private let logger: Logger
    private let state = Mutex(State())

    /// A handed-over permission: either an idle connection, or a free slot to open one in.
    private enum Handoff: Sendable {
        case connection(PostgresConnection)
        case slot
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Handoff, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections that exist or are being opened (idle, leased, connecting).
        var open = 0
        var waiters: [Waiter] = []
        var cancelledWaiters: Set<Int> = []
        var nextWaiterID = 0
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []

        var leased: Int { open - idle.count }
    }

    /// Creates a pool. No connection is opened until the first lease.
    /// - Parameters:
    ///   - configuration: Where to connect, how many connections, how long to wait for one.
    ///   - logger: The logger for the pool's and its connections' debug messages.
    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Leases a connection for the duration of `body`.
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - body: The work. Do not keep the connection after it returns.
    /// - Returns: The body's result.
    /// - Throws: `PostgresError` with code `poolExhausted` (no connection freed up within
    ///   `poolAcquireTimeout`), `poolClosed`, a connection error, or the body's error.
    @discardableResult
    public func withConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        let connection = try await lease()
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            await release(connection)
            throw error
        }
        await release(connection)
        return result
    }

    /// Leases a connection and runs `body` in a transaction on it (see `PostgresConnection.withTransaction`).
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - body: The work.
    /// - Returns: The body's result.
    /// - Throws: As `withConnection` and `PostgresConnection.withTransaction`.
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresTransaction) async throws -> sending Result
    ) async throws -> sending Result {
        try await withConnection(isolation: isolation) { connection in
            try await connection.withTransaction(isolation: isolation, body)
        }
    }

    /// Runs one statement on a leased connection.
    /// - Parameter query: The statement.
    /// - Returns: The result.
    /// - Throws: As `withConnection` and `PostgresConnection.query(_:)`.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresQueryResult {
        try await withConnection { connection in try await connection.query(query) }
    }

    /// Sends a notification (`SELECT pg_notify(channel, payload)`).
    /// - Parameters:
    ///   - channel: The channel.
    ///   - payload: The payload (at most 8000 bytes).
    /// - Throws: As `query(_:)`.
    public func notify(channel: SQLIdentifier, payload: String) async throws {
        try await withConnection { connection in try await connection.notify(channel: channel, payload: payload) }
    }

    /// Opens a connection outside the pool's limit, dedicated to LISTEN for the duration of `body`, then closes it.
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - channel: The channel.
    ///   - body: The work; it receives the notifications.
    /// - Returns: The body's result.
    /// - Throws: A connection error, `listenFailed`, or the body's error.
    public func withListener<Result>(
        isolation: isolated (any Actor)? = #isolation,
        channel: SQLIdentifier,
        _ body: (PostgresNotifications) async throws -> sending Result
    ) async throws -> sending Result {
        let connection = try await PostgresConnection.connect(configuration: configuration, logger: logger)
        let result: Result
        do {
            result = try await connection.withListener(isolation: isolation, channel: channel, body)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        return result
    }

    /// Stops handing out connections, fails waiting leases with `poolClosed`, closes idle connections, and waits
    /// until every leased connection is returned (and closed). Safe to call more than once.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            let idle = state.idle
            state.open -= idle.count
            state.idle.removeAll()
            let waiters = state.waiters
            state.waiters.removeAll()
            return (idle, waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(code: .poolClosed, message: "the pool is closed"))
        }
        for connection in idle { await connection.close() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.open == 0 { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        logger.debug("postgres pool closed")
    }

    /// Counts for diagnostics: connections open, idle, and tasks waiting.
    public var statistics: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.open, $0.idle.count, $0.waiters.count) }
    }

    // MARK: Leasing

    private enum Decision {
        case use(PostgresConnection)
        case connect
        case wait(Int)
        case closed
    }

    private func lease() async throws -> PostgresConnection {
        let decision = state.withLock { state -> Decision in
            if state.closed { return .closed }
            if let connection = state.idle.popLast() { return .use(connection) }
            if state.open < configuration.poolSize {
                state.open += 1
                return .connect
            }
            state.nextWaiterID += 1
            return .wait(state.nextWaiterID)
        }
        switch decision {
        case .closed:
            throw PostgresError(code: .poolClosed, message: "the pool is closed")
        case .use(let connection):
            return connection
        case .connect:
            return try await openInSlot()
        case .wait(let id):
            switch try await waitForHandoff(id: id) {
            case .connection(let connection): return connection
            case .slot: return try await openInSlot()
            }
        }
    }

    /// Opens a connection in a slot already counted in `open`; gives the slot back on failure.
    private func openInSlot() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: configuration, logger: logger)
        } catch {
            freeSlot()
            throw error
        }
    }

    /// Gives a slot back: to a waiter (who opens a connection in it), or to the pool.
    private func freeSlot() {
        let (waiter, closeWaiters) = state.withLock { state -> (Waiter?, [CheckedContinuation<Void, Never>]) in
            if !state.closed, !state.waiters.isEmpty {
                return (state.waiters.removeFirst(), [])
            }
            state.open -= 1
            if state.closed && state.open == 0 {
                let waiters = state.closeWaiters
                state.closeWaiters.removeAll()
                return (nil, waiters)
            }
            return (nil, [])
        }
        waiter?.continuation.resume(returning: .slot)
        for continuation in closeWaiters { continuation.resume() }
    }

    private func release(_ connection: PostgresConnection) async {
        let reusable = await connection.resetForReuse()
        guard reusable else {
            logger.debug("postgres pool discarded a broken connection", metadata: [LogKey.connectionID: "\(connection.id)"])
            freeSlot()
            return
        }
        enum Next {
            case handedOff(Waiter)
            case closeIt
            case pooled
        }
        let next = state.withLock { state -> Next in
            if state.closed { return .closeIt }
            if !state.waiters.isEmpty { return .handedOff(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .pooled
        }
        switch next {
        case .handedOff(let waiter):
            waiter.continuation.resume(returning: .connection(connection))
        case .closeIt:
            await connection.close()
            freeSlot()
        case .pooled:
            break
        }
    }

    private enum WaitOutcome: Sendable {
        case handoff(Handoff)
        case failed(any Error)
        case timedOut
        case timerCancelled
    }

    /// Waits for a connection or slot, at most `poolAcquireTimeout`.
    private func waitForHandoff(id: Int) async throws -> Handoff {
        let timeout = configuration.poolAcquireTimeout
        let outcome: Result<Handoff, any Error> = await withTaskGroup(of: WaitOutcome.self) { group in
            group.addTask {
                do {
                    return .handoff(try await self.suspendUntilHandoff(id: id))
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return .timerCancelled
                }
            }
            var outcome: Result<Handoff, any Error>?
            for await event in group {
                switch event {
                case .handoff(let handoff):
                    if outcome == nil {
                        outcome = .success(handoff)
                        group.cancelAll()
                    } else {
                        // It arrived after the timeout won: give it back.
                        self.giveBack(handoff)
                    }
                case .failed(let error):
                    if outcome == nil {
                        outcome = .failure(error)
                        group.cancelAll()
                    }
                case .timedOut:
                    if outcome == nil {
                        outcome = .failure(
                            PostgresError(
                                code: .poolExhausted,
                                message: "all \(configuration.poolSize) pooled connections stayed busy for "
                                    + "\(PostgresConfiguration.wholeSeconds(timeout)) s: raise pool_size or "
                                    + "pool_timeout, or shorten transactions"
                            )
                        )
                        group.cancelAll()
                    }
                case .timerCancelled:
                    if outcome == nil {
                        outcome = .failure(CancellationError())
                        group.cancelAll()
                    }
                }
            }
            return outcome ?? .failure(CancellationError())
        }
        state.withLock { _ = $0.cancelledWaiters.remove(id) }
        return try outcome.get()
    }

    private nonisolated func giveBack(_ handoff: Handoff) {
        switch handoff {
        case .slot:
            freeSlot()
        case .connection(let connection):
            let waiter = state.withLock { state -> Waiter? in
                if !state.closed, !state.waiters.isEmpty { return state.waiters.removeFirst() }
                if !state.closed { state.idle.append(connection) }
                return nil
            }
            if let waiter {
                waiter.continuation.resume(returning: .connection(connection))
            } else if state.withLock({ $0.closed }) {
                // Rare: closed meanwhile. Closing is async; do it from a task that the pool's close() waits for
                // through the slot count.
                Task {
                    await connection.close()
                    self.freeSlot()
                }
            }
        }
    }

    private func suspendUntilHandoff(id: Int) async throws -> Handoff {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Handoff, any Error>) in
                enum Registration {
                    case registered
                    case cancelled
                    case closed
                }
                let registration = state.withLock { state -> Registration in
                    if state.cancelledWaiters.remove(id) != nil { return .cancelled }
                    if state.closed { return .closed }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .registered
                }
                switch registration {
                case .registered: break
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .closed: continuation.resume(throwing: PostgresError(code: .poolClosed, message: "the pool is closed"))
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index)
                }
                state.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
