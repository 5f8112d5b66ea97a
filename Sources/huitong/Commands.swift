import ArgumentParser
import Configuration
import Foundation
import HubApp

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run hub roles until SIGTERM/SIGINT (a second signal forces exit).",
        discussion: """
            Connects to the broker and the database, applies pending migrations, declares the topology of \
            the chosen roles, and serves /healthz, /readyz and /metrics. Roles: \(HubRole.helpText)
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("roles"), help: "Comma-separated roles, or 'all' (env HUITONG_ROLES).")
    var roles: String?

    @Option(name: .customLong("http-host"), help: "HTTP bind host (env HUITONG_HTTP_HOST, default 127.0.0.1).")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "HTTP port, 0 for any free one (env HUITONG_HTTP_PORT, default 8480).")
    var httpPort: Int?

    @Option(name: .customLong("shutdown-timeout"), help: "Seconds graceful shutdown may take (env HUITONG_SHUTDOWN_TIMEOUT, default 30).")
    var shutdownTimeout: Double?

    func run() async throws {
        var extra: [String: ConfigValue] = [:]
        if let roles { extra[HubConfiguration.Key.roles] = .init(.string(roles), isSecret: false) }
        if let httpHost { extra[HubConfiguration.Key.httpHost] = .init(.string(httpHost), isSecret: false) }
        if let httpPort { extra[HubConfiguration.Key.httpPort] = .init(.string(String(httpPort)), isSecret: false) }
        if let shutdownTimeout {
            extra[HubConfiguration.Key.shutdownTimeout] = .init(.string(String(shutdownTimeout)), isSecret: false)
        }
        try await connection.run("huitong.serve", extra: extra) { configuration, logger in
            try await HubServer(configuration: configuration, logger: logger).run()
        }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (idempotent), or show their status."
    )

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .customLong("status"), help: "Only list applied and pending migrations.")
    var statusOnly = false

    func run() async throws {
        try await connection.run("huitong.migrate") { configuration, logger in
            let lines = try await HubMigrate.run(
                configuration: configuration,
                statusOnly: statusOnly,
                logger: logger
            )
            for line in lines { print(line) }
        }
    }
}

struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Work with the broker topology (exchanges, queues, bindings).",
        subcommands: [Declare.self]
    )

    struct Declare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "declare",
            abstract: "Declare the hub's exchanges and the queues of the given roles (idempotent)."
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(name: .customLong("roles"), help: "Comma-separated roles, or 'all' (env HUITONG_ROLES).")
        var roles: String?

        @Flag(name: .customLong("dry-run"), help: "Print what would be declared; do not connect.")
        var dryRun = false

        func run() async throws {
            var extra: [String: ConfigValue] = [:]
            if let roles { extra[HubConfiguration.Key.roles] = .init(.string(roles), isSecret: false) }
            try await connection.run("huitong.topology", extra: extra) { configuration, logger in
                let lines = try await HubTopologyCommand.declare(
                    configuration: configuration,
                    dryRun: dryRun,
                    logger: logger
                )
                for line in lines { print(line) }
            }
        }
    }
}

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the broker and the database: versions, credentials, vhost, pending migrations."
    )

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.run("huitong.doctor") { configuration, logger in
            let report = await Doctor.run(configuration: configuration, logger: logger)
            for line in report.lines { print(line) }
            if !report.isHealthy { throw ExitCode(1) }
        }
    }
}

struct ContractsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contracts",
        abstract: "Work with the message contracts in contracts/.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Load every schema and validate every valid and invalid example."
        )

        @Option(name: .customLong("dir"), help: "The contracts folder (default: ./contracts).")
        var directory: String = "contracts"

        func run() async throws {
            try await runReportingErrors {
                let result = try ContractsCheck.run(directory: directory)
                for line in result.lines { print(line) }
                if !result.isSuccess {
                    throw HubAppError(.contractsInvalid, "contracts check failed", fix: "see the FAIL lines above")
                }
            }
        }
    }
}
