public import HubStore
public import Logging
public import ServiceLifecycle

/// Background upkeep of the partner tables: prunes expired nonces every `interval`, and clears the partner cache
/// when `huitong partners revoke|rotate` sends `NOTIFY gateway_partners`.
public struct PartnerMaintenance: Service {
    let store: PartnerStore
    let directory: PartnerDirectory
    let pool: PostgresPool
    let interval: Duration
    let logger: Logger

    /// Creates the service.
    /// - Parameters:
    ///   - store: The store.
    ///   - directory: The cache to invalidate.
    ///   - pool: The pool (for LISTEN).
    ///   - interval: Nonce pruning interval (default 60 s).
    ///   - logger: The logger.
    public init(store: PartnerStore, directory: PartnerDirectory, pool: PostgresPool, interval: Duration = .seconds(60), logger: Logger) {
        self.store = store
        self.directory = directory
        self.pool = pool
        self.interval = interval
        self.logger = logger
    }

    /// Runs until graceful shutdown.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.prune() }
            group.addTask { await self.listen() }
            await group.waitForAll()
        }
    }

    private func prune() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let pruned = try await store.pruneNonces()
                if pruned > 0 { logger.debug("nonces pruned", metadata: ["gateway.nonces": "\(pruned)"]) }
            } catch {
                logger.debug("nonce pruning failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    private func listen() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.pool.withListener(channel: try SQLIdentifier("gateway_partners")) { notifications in
                        self.directory.invalidate(nil)
                        for try await notification in notifications {
                            self.directory.invalidate(notification.payload)
                        }
                    }
                }
            } catch {
                logger.debug("partner listener failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
        }
    }
}
