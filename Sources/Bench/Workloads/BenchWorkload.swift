public import HubCore
public import HubStore

/// What `huitong bench` sends and what it waits for: a pluggable workload.
///
/// The bench never imports a domain module: a workload describes the roles to run (`huitong serve --roles …`),
/// builds the command envelopes from the published message interface, names the event that completes each
/// command, and checks the domain effect in the database through plain SQL.
public struct BenchWorkload: Sendable {
    /// The name on the command line (`--workload`).
    public var name: String
    /// The hub roles that handle the commands (without the taps).
    public var roles: [String]
    /// The command type, e.g. `sample.counter.increment.v1`.
    public var commandType: String
    /// The event that completes a command: exactly one per unique command, with the command's correlation id.
    public var completionEventType: String
    /// Events that end a command unsuccessfully (counted by reason code and reported as failures).
    public var failureEventTypes: [String]
    /// Environment of the role processes (e.g. `HUITONG_PAYMENTS_COMPLIANCE_GATE=off`).
    public var environment: [String: String]
    /// Builds unique command `index` of run `runID`, padded towards `bodyBytes` where the payload allows.
    public var makeCommand: @Sendable (_ runID: String, _ index: Int, _ bodyBytes: Int) throws -> Envelope
    /// Checks the domain effect of a finished run in the database; returns problems (empty: correct).
    public var checkEffects: @Sendable (_ pool: PostgresPool, _ runID: String, _ unique: Int) async throws -> [String]

    /// Creates a workload.
    /// - Parameters:
    ///   - name: `--workload` name.
    ///   - roles: Roles that handle the commands.
    ///   - commandType: The command type.
    ///   - completionEventType: The completing event type.
    ///   - failureEventTypes: Failure event types (default none).
    ///   - environment: Role environment (default none).
    ///   - makeCommand: Builds a command.
    ///   - checkEffects: Checks the effect (default: nothing beyond the generic checks).
    public init(
        name: String,
        roles: [String],
        commandType: String,
        completionEventType: String,
        failureEventTypes: [String] = [],
        environment: [String: String] = [:],
        makeCommand: @escaping @Sendable (_ runID: String, _ index: Int, _ bodyBytes: Int) throws -> Envelope,
        checkEffects: @escaping @Sendable (_ pool: PostgresPool, _ runID: String, _ unique: Int) async throws -> [String]
            = { _, _, _ in [] }
    ) {
        self.name = name
        self.roles = roles
        self.commandType = commandType
        self.completionEventType = completionEventType
        self.failureEventTypes = failureEventTypes
        self.environment = environment
        self.makeCommand = makeCommand
        self.checkEffects = checkEffects
    }

    /// The workloads this binary knows.
    public static let all: [BenchWorkload] = [.sample, .payments]

    /// Finds a workload by name.
    /// - Parameter name: `sample` or `payments`.
    /// - Returns: The workload.
    /// - Throws: ``BenchError`` naming the known ones.
    public static func named(_ name: String) throws -> BenchWorkload {
        guard let workload = all.first(where: { $0.name == name }) else {
            throw BenchError(
                "unknown workload '\(name)'", fix: "use one of: \(all.map(\.name).joined(separator: ", "))")
        }
        return workload
    }

    /// The routing key of a message type: the type without its version (`a.b.c.v1` → `a.b.c`).
    static func routingKey(of type: String) -> String {
        var parts = type.split(separator: ".")
        if let last = parts.last, last.hasPrefix("v"), Int(last.dropFirst()) != nil { parts.removeLast() }
        return parts.joined(separator: ".")
    }
}

/// The order in which the bench publishes: every unique command once, plus re-publications of earlier ones
/// (same message id) for the duplicate share.
public enum BenchPlan {
    /// How many duplicates `count` messages with `ratio` duplicates hold.
    /// - Parameters:
    ///   - count: Messages published in total.
    ///   - ratio: Share of duplicates (0…0.5).
    /// - Returns: The number of duplicates.
    public static func duplicates(count: Int, ratio: Double) -> Int {
        min(count / 2, max(0, Int((Double(count) * ratio).rounded())))
    }

    /// The publication order as indexes of unique commands: `count` entries, `count − duplicates` distinct
    /// values, each duplicate placed a few positions after its original (so originals and copies usually land in
    /// different batches, sometimes in the same one).
    /// - Parameters:
    ///   - count: Messages in total.
    ///   - ratio: Share of duplicates.
    /// - Returns: The order.
    public static func order(count: Int, ratio: Double) -> [Int] {
        let duplicates = duplicates(count: count, ratio: ratio)
        let unique = count - duplicates
        guard unique > 0 else { return [] }
        // Duplicate j copies original (j * unique / duplicates) and is emitted after original + 1 + j % 97.
        var copiesAfter = [Int: [Int]]()
        for j in 0..<duplicates {
            let original = j * unique / duplicates
            copiesAfter[min(unique - 1, original + 1 + j % 97), default: []].append(original)
        }
        var order: [Int] = []
        order.reserveCapacity(count)
        for index in 0..<unique {
            order.append(index)
            order += copiesAfter[index] ?? []
        }
        return order
    }
}
