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
    private let state: Mutex<State>

    /// A handed-over permission: an idle connection, or a free slot to open one in.
    private enum Handoff: Sendable {
        case connection(PostgresConnection)
        case slot
    }

    private struct State {
        var machine: PoolStateMachine<PostgresConnection>
        /// The suspended waiters, by id. A waiter id can be in the machine before its continuation arrives here.
        var continuations: [Int: CheckedContinuation<Handoff, any Error>] = [:]
        /// Handoffs that arrived before the waiter's continuation did.
        var early: [Int: Result<Handoff, any Error>] = [:]
        var closeWaiters: [CheckedContinuation<Void, Never>] = []

        /// Delivers a handoff (or failure) to a waiter, now or when it suspends.
        mutating func deliver(_ result: Result<Handoff, any Error>, to id: Int) -> (
            CheckedContinuation<Handoff, any Error>, Result<Handoff, any Error>
        )? {
            if let continuation = continuations.removeValue(forKey: id) { return (continuation, result) }
            early[id] = result
            return nil
        }
    }

    /// Creates a pool. No connection is opened until the first lease.
    /// - Parameters:
    ///   - configuration: Where to connect, how many connections, how long to wait for one.
    ///   - logger: The logger for the pool's and its connections' debug messages.
    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(machine: PoolStateMachine(maximum: configuration.poolSize)))
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
        let (idle, resumptions) = state.withLock { state in
            let (idle, waiters, _) = state.machine.close()
            let failure = PostgresError(code: .poolClosed, message: "the pool is closed")
            let resumptions = waiters.compactMap { state.deliver(.failure(failure), to: $0) }
            return (idle, resumptions)
        }
        for (continuation, result) in resumptions { continuation.resume(with: result) }
        for connection in idle { await connection.close() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.machine.open == 0 { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        logger.debug("postgres pool closed")
    }

    /// Counts for diagnostics: connections open (idle, leased or connecting), idle, and leases waiting.
    public var statistics: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.machine.open, $0.machine.idle.count, $0.machine.waiters.count) }
    }

    // MARK: Leasing

    private func lease() async throws -> PostgresConnection {
        while true {
            switch state.withLock({ $0.machine.lease() }) {
            case .closed:
                throw PostgresError(code: .poolClosed, message: "the pool is closed")
            case .use(let connection):
                // An idle connection the server closed meanwhile is replaced, not handed out.
                if await connection.probeIdle() { return connection }
                freeSlot()
            case .connect:
                return try await openInSlot()
            case .wait(let id):
                switch try await waitForHandoff(id: id) {
                case .connection(let connection): return connection
                case .slot: return try await openInSlot()
                }
            }
        }
    }

    /// Opens a connection in a reserved slot; frees the slot on failure.
    private func openInSlot() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: configuration, logger: logger)
        } catch {
            freeSlot()
            throw error
        }
    }

    private func freeSlot() {
        enum Resumption {
            case waiter(CheckedContinuation<Handoff, any Error>, Result<Handoff, any Error>)
            case closers([CheckedContinuation<Void, Never>])
            case nothing
        }
        let resumption = state.withLock { state -> Resumption in
            switch state.machine.slotFreed() {
            case .grantSlot(let id):
                return state.deliver(.success(.slot), to: id).map { .waiter($0.0, $0.1) } ?? .nothing
            case .closeCompleted:
                let closers = state.closeWaiters
                state.closeWaiters.removeAll()
                return .closers(closers)
            case .none:
                return .nothing
            }
        }
        switch resumption {
        case .waiter(let continuation, let result): continuation.resume(with: result)
        case .closers(let closers): for closer in closers { closer.resume() }
        case .nothing: break
        }
    }

    private func release(_ connection: PostgresConnection) async {
        guard await connection.resetForReuse() else {
            logger.debug(
                "postgres pool discarded a broken connection",
                metadata: [LogKey.connectionID: "\(connection.id)"]
            )
            freeSlot()
            return
        }
        await returnHealthy(connection)
    }

    private func returnHealthy(_ connection: PostgresConnection) async {
        enum Next {
            case resume(CheckedContinuation<Handoff, any Error>, Result<Handoff, any Error>)
            case close
            case nothing
        }
        let next = state.withLock { state -> Next in
            switch state.machine.connectionReturned(connection) {
            case .handOver(let connection, let id):
                return state.deliver(.success(.connection(connection)), to: id).map { .resume($0.0, $0.1) } ?? .nothing
            case .close:
                return .close
            case .pooled:
                return .nothing
            }
        }
        switch next {
        case .resume(let continuation, let result):
            continuation.resume(with: result)
        case .close:
            await connection.close()
            freeSlot()
        case .nothing:
            break
        }
    }

    /// Waits for a connection or slot, at most `poolAcquireTimeout`.
    ///
    /// Two children race: the suspended waiter and a timer. When the timer wins, the waiter is abandoned, which
    /// resumes it: with an error if it was still queued, or with the handoff that raced in (then used).
    private func waitForHandoff(id: Int) async throws -> Handoff {
        let timeout = configuration.poolAcquireTimeout
        let exhausted = PostgresError(
            code: .poolExhausted,
            message: "all \(configuration.poolSize) pooled connections stayed busy for "
                + "\(PostgresConfiguration.wholeSeconds(timeout)) s: raise pool_size or pool_timeout, or shorten "
                + "transactions"
        )
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Handoff?.self) { group in
                group.addTask { try await self.suspend(id: id) }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                if let first = try await group.next(), let handoff = first {
                    group.cancelAll()
                    return handoff
                }
                // The timer finished first (or the task was cancelled): stop waiting; the waiter child completes.
                self.abandon(id: id, because: exhausted)
                if let late = try? await group.next(), let handoff = late { return handoff }
                throw Task.isCancelled ? CancellationError() : exhausted
            }
        } onCancel: {
            self.abandon(id: id, because: CancellationError())
        }
    }

    /// Suspends until the waiter gets a handoff (or a failure).
    private func suspend(id: Int) async throws -> Handoff {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Handoff, any Error>) in
            let early = state.withLock { state -> Result<Handoff, any Error>? in
                if let result = state.early.removeValue(forKey: id) { return result }
                state.continuations[id] = continuation
                return nil
            }
            if let early { continuation.resume(with: early) }
        }
    }

    /// Removes a waiter that is still waiting, failing its suspension.
    private func abandon(id: Int, because error: any Error) {
        let continuation = state.withLock { state -> CheckedContinuation<Handoff, any Error>? in
            guard state.machine.cancelWaiter(id) else { return nil }
            if let continuation = state.continuations.removeValue(forKey: id) { return continuation }
            state.early[id] = .failure(error)
            return nil
        }
        continuation?.resume(throwing: error)
    }
}
