/// How `huitong bench` runs.
///
/// | option | type | default |
/// |---|---|---|
/// | `workload` | ``BenchWorkload`` | `sample` |
/// | `count` | `Int` | 50,000 messages (duplicates included) |
/// | `mode` | ``Mode`` | `preloaded` |
/// | `rate` | `Double?` | nil (closed loop); with a value: open loop at that many msg/s (live) |
/// | `taps` | `Bool` | true: audit and compliance run beside the workload's roles |
/// | `ceiling` | `Bool` | false: also measure the broker relay and database commit ceilings |
/// | `ceilingCount` | `Int` | min(count, 20,000) |
/// | `duplicateRatio` | `Double` | 0.03 |
/// | `bodyBytes` | `Int` | 512 (where the workload can pad its payload) |
/// | `stallTimeout` | `Duration` | 60 s without a new completion event fails the run |
public struct BenchOptions: Sendable {
    /// When the hub roles start relative to publishing.
    public enum Mode: String, Sendable, CaseIterable {
        /// Publish everything, then start the hub roles (throughput of a backlog).
        case preloaded
        /// Start the hub roles, then publish with confirms while they consume.
        case live
    }

    /// The workload.
    public var workload: BenchWorkload = .sample
    /// Messages to publish, duplicates included.
    public var count: Int = 50_000
    /// Pre-loaded or live.
    public var mode: Mode = .preloaded
    /// Open-loop offered rate in msg/s (implies live).
    public var rate: Double?
    /// Run the taps (audit, compliance) too.
    public var taps: Bool = true
    /// The tap roles.
    public var tapRoles: [String] = ["audit", "compliance"]
    /// Measure the ceilings.
    public var ceiling: Bool = false
    /// Messages per ceiling (default min(count, 20,000)).
    public var ceilingCount: Int?
    /// Share of duplicate publications.
    public var duplicateRatio: Double = 0.03
    /// Target body size.
    public var bodyBytes: Int = 512
    /// The `huitong` binary that runs the roles.
    public var binary: String
    /// The broker URL (children get it as `HUITONG_AMQP_URL`).
    public var amqpURL: String
    /// The database URL (children get it as `HUITONG_DATABASE_URL`).
    public var databaseURL: String
    /// The environment the children inherit (the bench adds the URLs and the workload's variables).
    public var environment: [String: String]
    /// Where the children's logs go.
    public var logDirectory: String
    /// The children's log level.
    public var childLogLevel: String = "notice"
    /// A run fails when no completion event arrives for this long.
    public var stallTimeout: Duration = .seconds(60)
    /// Draw a progress bar on standard error.
    public var showProgress: Bool = true
    /// Batch size of the runtime (for the database ceiling).
    public var runtimeBatchSize: Int = 64
    /// Lanes of the runtime (for the database ceiling).
    public var runtimeLanes: Int = 2

    /// Creates options with the required values; set the rest as properties.
    /// - Parameters:
    ///   - binary: The `huitong` binary.
    ///   - amqpURL: Broker URL.
    ///   - databaseURL: Database URL.
    ///   - environment: Inherited environment.
    ///   - logDirectory: Where child logs go.
    public init(binary: String, amqpURL: String, databaseURL: String, environment: [String: String], logDirectory: String) {
        self.binary = binary
        self.amqpURL = amqpURL
        self.databaseURL = databaseURL
        self.environment = environment
        self.logDirectory = logDirectory
    }

    /// The roles to start, one process each.
    public var roles: [String] { workload.roles + (taps ? tapRoles : []) }
}
