import ArgumentParser
import Foundation
import HubApp

struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Parked (dead-lettered) messages: list, show, redrive, purge. Every redrive and purge is recorded.",
        subcommands: [List.self, Show.self, Redrive.self, Purge.self]
    )

    struct Filters: ParsableArguments {
        @Option(help: "Only this consumer queue, e.g. svc.payments.") var queue: String?
        @Option(help: "Only this message type.") var type: String?
        @Option(help: "Only this park reason, e.g. schemaViolation, retriesExhausted, deliveryLimit.") var reason: String?
        @Option(help: "Parked at or after this RFC 3339 time (with offset).") var since: String?
        @Option(help: "Parked before this RFC 3339 time (with offset).") var until: String?
        @Flag(name: .customLong("include-redriven"), help: "Also messages already redriven.") var includeRedriven = false

        func criteria(limit: Int?) -> HubDeadLetters.Criteria {
            HubDeadLetters.Criteria(
                queue: queue, type: type, reason: reason, since: since, until: until,
                includeRedriven: includeRedriven, limit: limit
            )
        }
    }

    static var actor: String { ProcessInfo.processInfo.environment["USER"] ?? "operator" }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List parked messages (no bodies).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var filters: Filters
        @Option(help: "At most this many (default 100).") var limit: Int = 100
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            try await connection.run("huitong.dlq") { configuration, logger in
                let lines = try await HubDeadLetters.list(
                    filters.criteria(limit: limit), json: json, configuration: configuration,
                    logger: logger
                )
                for line in lines { print(line) }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one parked message, with its headers and body.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The parked message's id (from dlq list).") var id: Int64

        func run() async throws {
            try await connection.run("huitong.dlq") { configuration, logger in
                let message = try await HubDeadLetters.show(
                    id: id, configuration: configuration, logger: logger
                )
                guard let message else {
                    throw HubAppError(.invalidConfiguration, "no parked message with id \(id)", fix: "see huitong dlq list")
                }
                print(message)
            }
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish parked messages back to their original exchange and routing key (with confirms)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var filters: Filters
        @Argument(help: "Ids to redrive; without ids, the filters select (at least --queue is required).") var ids: [Int64] = []
        @Option(help: "Who is acting (recorded; default $USER).") var actor: String?

        func run() async throws {
            try await connection.run("huitong.dlq") { configuration, logger in
                if ids.isEmpty && filters.queue == nil {
                    throw HubAppError(.invalidConfiguration, "redrive needs ids or --queue", fix: "name what to redrive")
                }
                let report = try await HubDeadLetters.redrive(
                    ids: ids, criteria: filters.criteria(limit: nil), actor: actor ?? DLQCommand.actor,
                    configuration: configuration, logger: logger
                )
                print("redriven: \(report.redriven), failed: \(report.failed)")
                if report.failed > 0 {
                    throw HubAppError(
                        .brokerUnavailable,
                        "\(report.failed) message(s) were not confirmed by the broker and stay parked",
                        fix: "run the same redrive again"
                    )
                }
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete parked messages (asks first unless --yes).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var filters: Filters
        @Flag(help: "Do not ask for confirmation.") var yes = false
        @Option(help: "Who is acting (recorded; default $USER).") var actor: String?

        func run() async throws {
            try await connection.run("huitong.dlq") { configuration, logger in
                guard filters.queue != nil else {
                    throw HubAppError(.invalidConfiguration, "purge needs --queue", fix: "name the queue to purge")
                }
                let criteria = filters.criteria(limit: nil)
                let count = try await HubDeadLetters.count(criteria, configuration: configuration, logger: logger)
                if count == 0 {
                    print("nothing to purge")
                    return
                }
                if !yes {
                    guard isatty(STDIN_FILENO) != 0 else {
                        throw HubAppError(
                            .invalidConfiguration,
                            "purge of \(count) message(s) needs confirmation and there is no terminal",
                            fix: "add --yes"
                        )
                    }
                    print("Purge \(count) parked message(s) from \(filters.queue ?? "")? Type 'yes' to confirm: ", terminator: "")
                    guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                        print("not purged")
                        return
                    }
                }
                let purged = try await HubDeadLetters.purge(
                    criteria, actor: actor ?? DLQCommand.actor, configuration: configuration, logger: logger
                )
                print("purged: \(purged)")
            }
        }
    }
}

