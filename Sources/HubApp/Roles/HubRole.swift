public import HubCore
import HubRuntime
import SampleService

/// A role a `huitong serve` process can run: a domain service, an adapter, a tap, the gateway.
///
/// A role names the queues it consumes (its part of the topology). Roles that DESIGN.md plans but that are not
/// built yet are listed so that `--roles payments` says "not built yet" rather than "unknown".
public struct HubRole: Sendable {
    /// The role's name on the command line.
    public let name: String
    /// The consumers (queues and bindings) the role declares and consumes.
    public let consumers: [Topology.Consumer]
    /// Whether this binary can run the role.
    public let isBuilt: Bool
    /// Whether `--roles all` includes it (the reference `sample` role is opt-in).
    public let includedInAll: Bool
    /// Builds the role's handlers, services and routes from configuration, once the database is migrated and
    /// the topology declared. Throw ``HubAppError`` (one line and a fix) for bad role configuration.
    public let build: @Sendable (RoleContext) async throws -> RoleParts

    /// Creates a role.
    /// - Parameters:
    ///   - name: The role's name on the command line.
    ///   - consumers: The queues it declares and consumes.
    ///   - isBuilt: Whether this binary can run it.
    ///   - includedInAll: Whether `--roles all` includes it.
    ///   - build: Builds its parts (handlers by queue, services, routes).
    public init(
        name: String,
        consumers: [Topology.Consumer],
        isBuilt: Bool,
        includedInAll: Bool = true,
        build: @escaping @Sendable (RoleContext) async throws -> RoleParts = { _ in RoleParts() }
    ) {
        self.name = name
        self.consumers = consumers
        self.isBuilt = isBuilt
        self.includedInAll = includedInAll
        self.build = build
    }

    /// The reference service that proves the runtime: counters incremented by `sample.counter.increment.v1`.
    public static let sample = HubRole(
        name: "sample",
        consumers: [SampleCounterHandler.consumer()],
        isBuilt: true,
        includedInAll: false,
        build: { _ in RoleParts(handlers: [SampleCounterHandler.queue: SampleCounterHandler()]) }
    )

    /// Every role this binary knows, built or planned. A new role: a file in `Roles/` with a `static let`, and one
    /// line here.
    public static let known: [HubRole] = [
        sample,
        // The read endpoints read the audit chain (every read is itself an audit record).
        gateway(querying: { context in try AuditFlowQuerying(context: context) }),
        payments,
        audit,
        compliance,
        interbankAdapter,
        ecnyAdapter,
    ]

    /// One line for `--help`.
    public static var helpText: String {
        let built = known.filter(\.isBuilt).map(\.name)
        let planned = known.filter { !$0.isBuilt }.map(\.name)
        return "built: \(built.isEmpty ? "none yet" : built.joined(separator: ", ")) (sample is opt-in); "
            + "planned: \(planned.joined(separator: ", ")). 'all' runs every built role."
    }

    /// Resolves role names from the command line.
    /// - Parameter names: Names, or `["all"]`.
    /// - Returns: The roles, in the order given (`all`: every built role).
    /// - Throws: ``HubAppError`` with code `unknownRole` for a name that is unknown or not built.
    public static func resolve(_ names: [String]) throws -> [HubRole] {
        if names == ["all"] { return known.filter { $0.isBuilt && $0.includedInAll } }
        return try names.map { name in
            guard let role = known.first(where: { $0.name == name }) else {
                throw HubAppError(
                    .unknownRole,
                    "unknown role '\(name)'",
                    fix: "use 'all' or one of: \(known.map(\.name).joined(separator: ", "))"
                )
            }
            guard role.isBuilt else {
                throw HubAppError(
                    .unknownRole,
                    "role '\(name)' is planned but not built yet",
                    fix: "run the roles that exist ('all')"
                )
            }
            return role
        }
    }

    /// The topology a set of roles needs: the hub exchanges plus each role's consumers.
    /// - Parameter roles: The roles.
    /// - Returns: The topology to declare.
    public static func topology(for roles: [HubRole]) -> Topology {
        Topology.hub(consumers: roles.flatMap(\.consumers))
    }
}

/// The version of this build.
public enum HubVersion {
    /// The semantic version.
    public static let current = "0.1.0"
}
