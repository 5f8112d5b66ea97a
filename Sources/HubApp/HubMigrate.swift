import HubAMQP
import HubCore
import HubRuntime
import SampleService
public import HubStore
public import Logging

/// `huitong migrate`: applies pending migrations of every component, or lists them.
public enum HubMigrate {
    /// Every migration this binary ships, in order. Components add theirs here as they land.
    public static let migrations: [Migration] = HubMigrations.all + RuntimeMigrations.all + SampleMigrations.all

    /// Runs the migrations (or only reports their status).
    /// - Parameters:
    ///   - configuration: Where the database is.
    ///   - statusOnly: Only list applied and pending migrations.
    ///   - logger: The logger.
    /// - Returns: Lines to print.
    /// - Throws: ``HubAppError`` when the database is unreachable or a migration fails or was changed.
    public static func run(configuration: HubConfiguration, statusOnly: Bool, logger: Logger) async throws -> [String] {
        let postgres = try Connections.postgres(configuration)
        let pool = PostgresPool(configuration: postgres, logger: logger)
        do {
            let migrator = try Migrator(migrations: migrations, logger: logger)
            let lines: [String]
            if statusOnly {
                lines = describe(try await migrator.status(on: pool))
            } else {
                let applied = try await migrator.migrate(on: pool)
                lines = applied.isEmpty
                    ? ["migrations: up to date (\(migrations.count) applied)"]
                    : applied.map { "applied  \($0.component) \($0.version) \($0.name)" }
                        + ["migrations: \(applied.count) applied now, up to date"]
            }
            await pool.close()
            return lines
        } catch {
            await pool.close()
            throw HubAppError.database(error, configuration: postgres)
        }
    }

    static func describe(_ status: Migrator.Status) -> [String] {
        var lines = status.applied.map { "applied  \($0.component) \($0.version) \($0.name)" }
        lines += status.pending.map { "pending  \($0.component) \($0.version) \($0.name)" }
        lines += status.changed.map { "CHANGED  \($0.component) \($0.version) \($0.name) (checksum differs)" }
        lines += status.unknown.map { "UNKNOWN  \($0.component) \($0.version) \($0.name) (not in this binary)" }
        return lines
    }
}

/// `huitong topology declare`.
public enum HubTopologyCommand {
    /// Declares (or, with `dryRun`, lists) the topology of the configured roles.
    /// - Parameters:
    ///   - configuration: The broker and the roles.
    ///   - dryRun: Only list what would be declared.
    ///   - logger: The logger.
    /// - Returns: Lines to print.
    /// - Throws: ``HubAppError`` for an unknown role, an unreachable broker or a conflicting declaration.
    public static func declare(configuration: HubConfiguration, dryRun: Bool, logger: Logger) async throws -> [String] {
        let roles = try HubRole.resolve(configuration.roles)
        let topology = HubRole.topology(for: roles)
        var lines = topology.exchanges.map { "exchange \($0.name) (\($0.kind))" }
        lines += topology.queues.map { queue in
            let arguments = queue.arguments.keys.sorted().map { "\($0)=\(queue.arguments[$0].map(describe) ?? "")" }
            return "queue    \(queue.name) (\(queue.kind)) \(arguments.joined(separator: " "))"
        }
        lines += topology.bindings.map { "binding  \($0.exchange) --[\($0.routingKey)]--> \($0.queue)" }
        if dryRun { return lines + ["dry run: nothing declared"] }

        let amqp = try Connections.amqp(configuration, name: "huitong topology")
        do {
            let connection = try await AMQPConnection.connect(configuration: amqp, logger: logger)
            do {
                try await connection.declare(topology)
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
        } catch {
            throw HubAppError.broker(error, configuration: amqp)
        }
        return lines + ["declared on \(amqp.redactedURL)"]
    }

    private static func describe(_ value: HubCore.Topology.ArgumentValue) -> String {
        switch value {
        case .string(let string): string
        case .int(let int): String(int)
        case .bool(let bool): String(bool)
        }
    }
}
