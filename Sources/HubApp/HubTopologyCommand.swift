import HubAMQP
import HubCore
public import Logging

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
