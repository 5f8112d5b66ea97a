import ArgumentParser
import HubApp

/// `huitong`: one binary, many roles. Argument parsing and wiring only; the work is in HubApp.
@main
struct Huitong: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "huitong",
        abstract: "Huitong (汇通): a message-driven integration hub for enterprise financial services.",
        version: HubVersion.current,
        subcommands: [
            ServeCommand.self, MigrateCommand.self, TopologyCommand.self, DoctorCommand.self,
            ContractsCommand.self, DLQCommand.self, PaymentsCommand.self, SimulateCommand.self, ComplianceCommand.self,
            AuditCommand.self, PartnersCommand.self, BenchCommand.self, DemoCommand.self,
        ]
    )
}
