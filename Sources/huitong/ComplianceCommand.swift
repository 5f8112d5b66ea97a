import ArgumentParser
import Foundation
import HubApp

struct ComplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compliance",
        abstract: "Compliance reviewers' tools.",
        subcommands: [Holds.self, Reports.self]
    )

    struct Reports: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Large-value reports (R-AML-8) by filing deadline; person IDs masked.",
            subcommands: [ReportsList.self]
        )
    }

    struct ReportsList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List reports, soonest deadline first.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only reports due on or before this date (YYYY-MM-DD).") var due: String?
        @Option(help: "At most this many (default 100).") var limit: Int = 100
        @Flag(help: "JSON lines instead of a table.") var json = false

        func run() async throws {
            try await connection.run("huitong.compliance") { configuration, logger in
                for line in try await HubCompliance.listReports(
                    dueOnOrBefore: due, limit: limit, json: json, configuration: configuration, logger: logger)
                {
                    print(line)
                }
            }
        }
    }

    struct Holds: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Held commands: list, release, reject. Every decision is a message (audited).",
            subcommands: [List.self, Release.self, Reject.self]
        )
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List holds (default: open ones, newest first).")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "open, released, rejected, expired or all.") var status: String = "open"
        @Option(name: .customLong("correlation-id"), help: "Only this business flow.") var correlationID: String?
        @Option(help: "At most this many (default 100).") var limit: Int = 100
        @Flag(help: "JSON lines instead of a table.") var json = false

        func run() async throws {
            try await connection.run("huitong.compliance") { configuration, logger in
                for line in try await HubCompliance.listHolds(
                    status: status, correlationID: correlationID, limit: limit, json: json,
                    configuration: configuration, logger: logger)
                {
                    print(line)
                }
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release a hold (four-eyes mode: the second different reviewer's approval releases it).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The hold id (from holds list).") var id: String
        @Option(help: "Why (recorded and sent).") var reason: String
        @Option(name: .customLong("as"), help: "The reviewer's name (recorded and sent).") var reviewer: String

        func run() async throws {
            try await connection.run("huitong.compliance") { configuration, logger in
                print(try await HubCompliance.decide(
                    holdID: id, release: true, reviewer: reviewer, reason: reason, configuration: configuration, logger: logger))
            }
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a hold (one reviewer suffices).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The hold id (from holds list).") var id: String
        @Option(help: "Why (recorded and sent).") var reason: String
        @Option(name: .customLong("as"), help: "The reviewer's name (recorded and sent).") var reviewer: String

        func run() async throws {
            try await connection.run("huitong.compliance") { configuration, logger in
                print(try await HubCompliance.decide(
                    holdID: id, release: false, reviewer: reviewer, reason: reason, configuration: configuration, logger: logger))
            }
        }
    }
}
