public import Configuration
public import Logging

/// Everything a `huitong` process needs to know to run: where the broker and database are, where to serve HTTP,
/// which roles to run, and how long to wait for things.
///
/// Values come from, in order: command-line options, environment variables, then the defaults below
/// (see ``HubConfiguration/init(reader:)``).
public struct HubConfiguration: Sendable {
    /// The local RabbitMQ that `deploy/local/servers.sh` starts.
    public static let defaultAMQPURL = "amqp://huitong:huitong@127.0.0.1:5673/huitong"
    /// The local PostgreSQL that `deploy/local/servers.sh` starts.
    public static let defaultDatabaseURL = "postgres://huitong:huitong@127.0.0.1:5433/huitong"

    /// The broker URL (`amqp://` or `amqps://`). Secret: it carries a password.
    public var amqpURL: String
    /// The database URL (`postgres://`). Secret: it carries a password.
    public var databaseURL: String
    /// The address the operations (and, later, gateway) HTTP server binds to.
    public var httpHost: String
    /// The HTTP port; 0 picks a free one.
    public var httpPort: Int
    /// The roles to run (`serve --roles`).
    public var roles: [String]
    /// How long graceful shutdown may take before in-flight work is cancelled.
    public var shutdownTimeout: Duration
    /// How long `serve` keeps working after SIGTERM/SIGINT with `/readyz` answering 503, before graceful shutdown
    /// starts: time for a load balancer or orchestrator to stop sending it traffic. Zero (the default) starts at once.
    public var shutdownDrainDelay: Duration = .zero
    /// How long to wait for the broker or the database to answer a connection attempt.
    public var connectTimeout: Duration
    /// The log level.
    public var logLevel: Logger.Level
    /// How long consumers remember a handled message id (`hub.inbox` rows older than this are pruned).
    public var inboxRetention: Duration = .seconds(30 * 86_400)
    /// Parallel lanes of every consumer queue (a key's messages stay in one lane, in order). Each lane holds one
    /// database connection while its batch runs, so lanes × consumer queues + 2 should fit the pool.
    public var consumerLanes: Int = 2
    /// Deliveries per consumer transaction.
    public var consumerBatchSize: Int = 64
    /// How long a lane waits for a batch to fill after its first delivery (zero: take what is buffered).
    public var consumerBatchWait: Duration = .zero
    /// The PEM certificate chain for HTTPS (with ``tlsKey``); nil serves plain HTTP, which is allowed on loopback only.
    public var tlsCertificate: String?
    /// The PEM private key for HTTPS.
    public var tlsKey: String?
    /// Where the values came from (options, then environment): roles read their own keys through it.
    /// A configuration made in code reads the environment only.
    public var reader: ConfigReader = ConfigReader(providers: [EnvironmentVariablesProvider()])

    /// Creates a configuration.
    /// - Parameters:
    ///   - amqpURL: Broker URL (default ``defaultAMQPURL``).
    ///   - databaseURL: Database URL (default ``defaultDatabaseURL``).
    ///   - httpHost: HTTP bind host (default `127.0.0.1`).
    ///   - httpPort: HTTP port (default 8480).
    ///   - roles: Roles to run (default `["all"]`).
    ///   - shutdownTimeout: Graceful shutdown deadline (default 30 s).
    ///   - connectTimeout: Connection timeout (default 5 s).
    ///   - logLevel: Log level (default info).
    public init(
        amqpURL: String = HubConfiguration.defaultAMQPURL,
        databaseURL: String = HubConfiguration.defaultDatabaseURL,
        httpHost: String = "127.0.0.1",
        httpPort: Int = 8480,
        roles: [String] = ["all"],
        shutdownTimeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(5),
        logLevel: Logger.Level = .info
    ) {
        self.amqpURL = amqpURL
        self.databaseURL = databaseURL
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.roles = roles
        self.shutdownTimeout = shutdownTimeout
        self.connectTimeout = connectTimeout
        self.logLevel = logLevel
    }
}
