import Foundation
import HubAMQP
import HubCore
import HubRuntime
import HubStore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import Metrics
import NIOCore
import NIOSSL
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `huitong serve`: one process running the chosen roles until it is told to stop.
///
/// Start-up, in order, each step failing fast with one line and a fix: resolve the roles; connect to the database
/// and apply pending migrations; connect to the broker and declare the roles' topology; bind the HTTP port. Then
/// a `ServiceGroup` runs the monitors and the HTTP server. SIGTERM or SIGINT starts a graceful shutdown (stop
/// intake, finish in-flight work, close) bounded by the shutdown timeout; a second signal exits at once.
public struct HubServer: Sendable {
    /// The configuration.
    public let configuration: HubConfiguration
    private let logger: Logger

    /// Creates the server.
    /// - Parameters:
    ///   - configuration: The process configuration.
    ///   - logger: The logger for start-up and background work.
    public init(configuration: HubConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until a shutdown signal.
    /// - Throws: ``HubAppError`` for anything that stops the process from starting or keeps it from running.
    public func run() async throws {
        let roles = try HubRole.resolve(configuration.roles)
        // HTTPS set-up (or the loopback check for plain HTTP) before anything connects: a bad setting fails fast.
        let server = try Self.httpServer(configuration)
        let topology = HubRole.topology(for: roles)
        let amqp = try Connections.amqp(configuration, name: "huitong serve")
        let postgres = try Connections.postgres(configuration)

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        Gauge(label: "huitong_build_info", dimensions: [("version", HubVersion.current)]).record(1)
        let readiness = Readiness()

        // Database: reachable, and the schema this binary expects.
        let pool = PostgresPool(configuration: postgres, logger: logger)
        do {
            let applied = try await Migrator(migrations: HubMigrate.migrations, logger: logger).migrate(on: pool)
            logger.info("database ready", metadata: ["db.url": "\(postgres.redactedDescription)", "db.migrations_applied": "\(applied.count)"])
        } catch {
            await pool.close()
            throw HubAppError.database(error, configuration: postgres)
        }
        readiness.report("database", .ready)

        // Broker: reachable, and the topology of our roles declared.
        let broker: AMQPConnection
        do {
            broker = try await AMQPConnection.connect(configuration: amqp, logger: logger)
            try await broker.declare(topology)
        } catch {
            await pool.close()
            throw HubAppError.broker(error, configuration: amqp)
        }
        readiness.report("broker", .ready)
        logger.info(
            "broker ready",
            metadata: ["amqp.url": "\(amqp.redactedURL)", "hub.roles": "\(roles.map(\.name).joined(separator: ","))"]
        )

        // The process's publisher (the outbox relay's and the roles'); then every role is built from configuration.
        var publisherConfiguration = amqp
        publisherConfiguration.connectionName = "huitong serve publisher"
        let publisher = AMQPPublisher(configuration: publisherConfiguration, topology: topology, logger: logger)
        var parts: [(role: HubRole, parts: RoleParts)] = []
        do {
            for role in roles {
                let context = RoleContext(
                    configuration: configuration,
                    reader: configuration.reader,
                    pool: pool,
                    amqp: amqp,
                    publisher: publisher,
                    readiness: readiness,
                    logger: HubLogging.logger("huitong.\(role.name)")
                )
                parts.append((role, try await role.build(context)))
            }
        } catch {
            await broker.close()
            await pool.close()
            throw error as? HubAppError ?? HubAppError(.invalidConfiguration, "a role could not start: \(HubAppError.describe(error))")
        }

        let router = Router()
        OperationsRoutes.add(to: router, readiness: readiness, registry: registry)
        for (_, rolePart) in parts { rolePart.routes(router) }
        let host = configuration.httpHost
        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        let application = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(host, port: configuration.httpPort), serverName: "huitong"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                // Operators and tests read this line to find the port (it matters with --http-port 0).
                FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(port)\n".utf8))
            },
            logger: logger
        )

        // Graceful shutdown runs in reverse order: HTTP stops, consumers stop intake and finish their batches,
        // drainers stop, the relay publishes what was committed, the publisher closes, then the monitors.
        var services: [any Service] = [
            DatabaseMonitor(pool: pool, readiness: readiness, logger: logger),
            BrokerMonitor(
                connection: broker,
                configuration: amqp,
                topology: topology,
                readiness: readiness,
                logger: logger
            ),
        ]
        services += Self.runtimeServices(
            parts: parts, publisher: publisher, amqp: amqp, pool: pool, lanes: configuration.consumerLanes,
            batchSize: configuration.consumerBatchSize, batchWait: configuration.consumerBatchWait, logger: logger)
        if parts.contains(where: { !$0.parts.handlers.isEmpty }) {
            services.append(InboxPruner(configuration: .init(window: configuration.inboxRetention), pool: pool, logger: logger))
        }
        services += parts.flatMap(\.parts.services)
        services.append(application)
        // Every service is tracked by name, and a watch names the ones that outlive the graceful window (it is last,
        // so it hears of graceful shutdown first: the group shuts services down in reverse order).
        let tracker = ServiceTracker()
        let cancellationWindow: Duration = .seconds(10)
        services = services.map { service in
            let named = service as? NamedService
            return TrackedService(
                name: named?.name ?? Self.typeName(of: service), base: named?.base ?? service, tracker: tracker,
                logger: logger)
        }
        services.append(
            ShutdownWatch(
                tracker: tracker, gracefulWindow: configuration.shutdownTimeout, cancellationWindow: cancellationWindow,
                logger: logger))
        // With a drain delay, the first signal is ours (readiness 503, then graceful shutdown after the delay);
        // without one, the group's.
        let drainDelay = configuration.shutdownDrainDelay
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: drainDelay > .zero ? [] : [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        groupConfiguration.maximumCancellationDuration = cancellationWindow
        let group = ServiceGroup(configuration: groupConfiguration)

        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    try await Self.watchSignals(group: group, drainDelay: drainDelay, readiness: readiness, logger: logger)
                }
                tasks.addTask { try await group.run() }
                // The group finishes on graceful shutdown; the signal watcher is then cancelled.
                try await tasks.next()
                tasks.cancelAll()
            }
        } catch is CancellationError where tracker.shutdownRequested {
            // The graceful window ran out and the services still running were cancelled (the watch logged which):
            // the stop that was asked for happened; what was not acknowledged is redelivered by the broker.
            await pool.close()
            logger.warning("stopped after cancelling the services that outlived the graceful shutdown window")
            return
        } catch {
            await pool.close()
            throw Self.runFailure(error, host: host, port: configuration.httpPort)
        }
        await pool.close()
        logger.info("stopped")
    }

    /// The HTTP server: HTTPS when a certificate and key are configured; plain HTTP only on a loopback address.
    /// - Parameter configuration: The configuration.
    /// - Returns: The server builder.
    /// - Throws: ``HubAppError`` for plain HTTP on a non-loopback address or unreadable certificate files.
    static func httpServer(_ configuration: HubConfiguration) throws -> HTTPServerBuilder {
        guard let certificate = configuration.tlsCertificate, let key = configuration.tlsKey else {
            guard isLoopback(configuration.httpHost) else {
                throw HubAppError(
                    .invalidConfiguration,
                    "refusing plain HTTP on the non-loopback address \(configuration.httpHost)",
                    fix: "set HUITONG_HTTP_TLS_CERTIFICATE and HUITONG_HTTP_TLS_KEY (PEM files), or bind 127.0.0.1"
                )
            }
            return .http1()
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
            return try .tls(.http1(), tlsConfiguration: tls)
        } catch {
            throw HubAppError(
                .invalidConfiguration,
                "the HTTPS certificate or key cannot be loaded (\(HubConfiguration.Key.tlsCertificate), \(HubConfiguration.Key.tlsKey))",
                fix: "point HUITONG_HTTP_TLS_CERTIFICATE and HUITONG_HTTP_TLS_KEY at readable PEM files",
                underlying: error
            )
        }
    }

    /// Whether a bind host is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
    /// - Parameter host: The host.
    /// - Returns: Whether only this machine can connect.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The consumer runtime of every role that has handlers: one publisher and one outbox relay per process, and
    /// for each consumer queue its consumer service and the drainer of its parking queue.
    static func runtimeServices(
        parts: [(role: HubRole, parts: RoleParts)],
        publisher: AMQPPublisher,
        amqp: AMQPConfiguration,
        pool: PostgresPool,
        lanes: Int = 2,
        batchSize: Int = 64,
        batchWait: Duration = .zero,
        logger: Logger
    ) -> [any Service] {
        let consumers = parts.flatMap { role, parts in
            role.consumers.compactMap { consumer in parts.handlers[consumer.queue].map { (consumer, $0) } }
        }
        // A lane holds a connection while its batch runs: a pool smaller than one queue's lanes plus the relay and
        // a drainer makes lanes wait for each other instead of running in parallel.
        if !consumers.isEmpty, lanes + 2 > pool.configuration.poolSize {
            logger.warning(
                "consumer lanes will wait for database connections",
                metadata: [
                    "hub.lanes": "\(lanes)", "db.pool_size": "\(pool.configuration.poolSize)",
                    "hint": "raise pool_size in HUITONG_DATABASE_URL to at least \(lanes + 2), or lower HUITONG_CONSUMER_LANES",
                ])
        }
        var services: [any Service] = [
            PublisherService(publisher),
            OutboxRelay(pool: pool, publisher: publisher, logger: logger),
        ]
        for (consumer, handler) in consumers {
            var consumerConfiguration = amqp
            consumerConfiguration.connectionName = "huitong serve \(consumer.queue)"
            services.append(
                NamedService(
                    name: "drainer \(consumer.queue)",
                    base: ParkingDrainer(consumer: consumer, amqp: consumerConfiguration, pool: pool, logger: logger)))
            services.append(NamedService(name: "consumer \(consumer.queue)", base:
                ConsumerService(
                    configuration: ConsumerService.Configuration(
                        consumer: consumer, batchSize: batchSize, maximumBatchWait: batchWait, lanes: lanes),
                    handler: handler,
                    amqp: consumerConfiguration,
                    pool: pool,
                    publisher: publisher,
                    logger: logger
                )
            ))
        }
        return services
    }

    /// A service's type name without generic arguments (its name in logs unless it was given one).
    static func typeName(of service: any Service) -> String {
        let type = String(describing: Swift.type(of: service))
        return type.split(separator: "<").first.map(String.init) ?? type
    }

    /// The first SIGTERM/SIGINT starts the stop: at once (the group's own signal handling), or after `drainDelay`
    /// with `/readyz` answering 503 meanwhile. The second ends the process immediately, whatever the stop is doing.
    private static func watchSignals(
        group: ServiceGroup, drainDelay: Duration, readiness: Readiness, logger: Logger
    ) async throws {
        var seen = 0
        var drain: Task<Void, Never>?
        defer { drain?.cancel() }
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            seen += 1
            if seen >= 2 {
                FileHandle.standardError.write(Data("huitong: second \(signal) — exiting without waiting\n".utf8))
                // `_exit`, not `exit`: atexit handlers and static destructors would run while every other thread
                // (NIO, libpq, rabbitmq-c) is still working, and can crash the process on its way out — the test saw
                // a signal instead of status 130 once, right after this line was written. Nothing here needs them:
                // uncommitted work rolls back and unacked deliveries are redelivered.
                fflush(nil)
                _exit(130)
            }
            guard drainDelay > .zero else { continue }
            readiness.report("shutdown", .notReady("\(signal) received: draining before the graceful shutdown"))
            logger.notice(
                "stop requested: readiness is 503 now; graceful shutdown starts after the drain delay",
                metadata: ["hub.drain_delay_s": "\(drainDelay.components.seconds)", "signal": "\(signal)"])
            drain = Task {
                guard (try? await Task.sleep(for: drainDelay)) != nil else { return }
                await group.triggerGracefulShutdown()
            }
        }
    }

    private static func runFailure(_ error: any Error, host: String, port: Int) -> HubAppError {
        if let error = error as? HubAppError { return error }
        let text = String(describing: error)
        if text.contains("Address already in use") || text.contains("EADDRINUSE") || text.contains("errno: 98") {
            return HubAppError(
                .portInUse,
                "HTTP port \(port) on \(host) is in use",
                fix: "stop the program using it or set HUITONG_HTTP_PORT (--http-port) to a free port",
                underlying: error
            )
        }
        return HubAppError(.httpFailed, "the hub stopped: \(HubAppError.describe(error))", underlying: error)
    }
}

/// Checks the database every few seconds and reports readiness; the pool replaces broken connections.
struct DatabaseMonitor: Service {
    let pool: PostgresPool
    let readiness: Readiness
    let logger: Logger
    var interval: Duration = .seconds(5)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await pool.query("SELECT 1")
                readiness.report("database", .ready)
            } catch {
                readiness.report("database", .notReady(HubAppError.describe(error)))
                logger.debug("database check failed", metadata: ["error.type": "\(HubAppError.describe(error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// Keeps a broker connection alive (its probe also services heartbeats), re-declares the topology after a
/// reconnect (a broker that lost its state gets it back), and reports readiness.
struct BrokerMonitor: Service {
    let connection: AMQPConnection
    let configuration: AMQPConfiguration
    let topology: Topology
    let readiness: Readiness
    let logger: Logger
    var interval: Duration = .seconds(2)

    func run() async throws {
        var current: AMQPConnection? = connection
        var attempt = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if current == nil {
                    current = try await AMQPConnection.connect(configuration: configuration, logger: logger)
                    try await current?.declare(topology)
                    logger.info("broker reconnected", metadata: ["amqp.url": "\(configuration.redactedURL)"])
                }
                // A passive probe: declaring the exchanges again is idempotent and exercises the connection.
                try await current?.declare(Topology(exchanges: topology.exchanges))
                readiness.report("broker", .ready)
                attempt = 0
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                readiness.report("broker", .notReady(HubAppError.describe(error)))
                logger.debug("broker check failed", metadata: ["error.type": "\(HubAppError.describe(error))"])
                await current?.close()
                current = nil
                let delay = configuration.reconnect.delay(attempt: attempt)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                attempt += 1
            }
        }
        await current?.close()
    }
}
