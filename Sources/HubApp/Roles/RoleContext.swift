public import Configuration
public import HubAMQP
public import HubRuntime
public import HubStore
public import Hummingbird
public import Logging
public import ServiceLifecycle

/// What a role gets when `huitong serve` builds it: the process configuration (and the reader behind it, for the
/// role's own keys), the database pool, the broker settings, a publisher, readiness and a logger.
///
/// The database is migrated and the role's topology is declared before any role is built.
public struct RoleContext: Sendable {
    /// The process configuration.
    public let configuration: HubConfiguration
    /// The configuration reader (options, environment, defaults): roles read their own keys, e.g.
    /// `huitong.payments.hvps.cutoff`, with it.
    public let reader: ConfigReader
    /// The process's database pool.
    public let pool: PostgresPool
    /// The broker settings (roles that open their own connections set their own `connectionName`).
    public let amqp: AMQPConfiguration
    /// The process's confirmed publisher (shared with the outbox relay).
    public let publisher: AMQPPublisher
    /// Where components report `/readyz` state.
    public let readiness: Readiness
    /// The role's logger.
    public let logger: Logger

    /// Creates a context (the server does; tests of roles may too).
    public init(
        configuration: HubConfiguration,
        reader: ConfigReader,
        pool: PostgresPool,
        amqp: AMQPConfiguration,
        publisher: AMQPPublisher,
        readiness: Readiness,
        logger: Logger
    ) {
        self.configuration = configuration
        self.reader = reader
        self.pool = pool
        self.amqp = amqp
        self.publisher = publisher
        self.readiness = readiness
        self.logger = logger
    }
}

/// What a built role contributes to the process.
public struct RoleParts: Sendable {
    /// The handler of each of the role's consumer queues, by queue name (the runtime consumes them).
    public var handlers: [String: any MessageHandler]
    /// Long-running services of the role (timers, workers, adapter callback listeners, …), run in the process's
    /// service group and shut down gracefully with it.
    public var services: [any Service]
    /// Adds the role's HTTP routes to the process's server (beside /healthz, /readyz and /metrics).
    public var routes: @Sendable (Router<BasicRequestContext>) -> Void

    /// Creates the parts.
    /// - Parameters:
    ///   - handlers: Handlers by queue name.
    ///   - services: Extra services.
    ///   - routes: Route registration (default: none).
    public init(
        handlers: [String: any MessageHandler] = [:],
        services: [any Service] = [],
        routes: @escaping @Sendable (Router<BasicRequestContext>) -> Void = { _ in }
    ) {
        self.handlers = handlers
        self.services = services
        self.routes = routes
    }
}
