public import HubStore
public import Logging
public import ServiceLifecycle

/// Keeps `hub.inbox` bounded: deletes deduplication rows older than the window.
///
/// The inbox stops a message id that was already handled. The window is how long after the first delivery a
/// duplicate of the same message id may still arrive: broker redeliveries come within seconds, publisher retries
/// of partners within hours, an operator's re-drive of a parked message is never a duplicate (a parked message was
/// not handled: its transaction rolled back). The default of 30 days is generous on purpose; business
/// idempotency (e.g. payments' client request ids, R-PAY-2/3) does not depend on the inbox and lives longer.
public struct InboxPruner: Service {
    /// Settings.
    public struct Configuration: Sendable {
        /// How long a handled message id is remembered.
        public var window: Duration
        /// How often to prune.
        public var interval: Duration
        /// Rows per DELETE, so a large backlog never holds a long lock.
        public var chunk: Int

        /// Creates the settings.
        /// - Parameters:
        ///   - window: Deduplication window (default 30 days).
        ///   - interval: Pruning interval (default 10 minutes).
        ///   - chunk: Rows per DELETE (default 10,000).
        public init(window: Duration = .seconds(30 * 86_400), interval: Duration = .seconds(600), chunk: Int = 10_000) {
            self.window = window
            self.interval = interval
            self.chunk = chunk
        }
    }

    private let configuration: Configuration
    private let pool: PostgresPool
    private let logger: Logger

    /// Creates the pruner.
    /// - Parameters:
    ///   - configuration: Window, interval and chunk size.
    ///   - pool: The database.
    ///   - logger: For failures (pruning is retried at the next interval).
    public init(configuration: Configuration = Configuration(), pool: PostgresPool, logger: Logger) {
        self.configuration = configuration
        self.pool = pool
        self.logger = logger
    }

    /// Prunes every interval until shutdown.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let deleted = try await prune()
                if deleted > 0 { logger.debug("inbox pruned", metadata: ["hub.inbox.deleted": "\(deleted)"]) }
            } catch {
                logger.info("inbox prune failed; retrying at the next interval", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.interval) }
        }
    }

    /// Deletes rows older than the window, in chunks.
    /// - Returns: Rows deleted.
    /// - Throws: `PostgresError`.
    @discardableResult
    public func prune() async throws -> Int {
        let seconds = configuration.window.components.seconds
        let chunk = configuration.chunk
        var total = 0
        while true {
            let deleted = try await pool.withConnection { connection in
                try await connection.execute(
                    """
                    DELETE FROM hub.inbox WHERE ctid IN (SELECT ctid FROM hub.inbox \
                    WHERE received_at < now() - make_interval(secs => \(seconds)) LIMIT \(chunk))
                    """)
            }
            total += deleted
            if deleted < chunk { return total }
        }
    }
}
