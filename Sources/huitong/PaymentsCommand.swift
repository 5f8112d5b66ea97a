import ArgumentParser
import HubApp

struct PaymentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payments",
        abstract: "Transfers for operators (read-only; account numbers masked): show, list.",
        subcommands: [Show.self, List.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the transfers with this transfer id, client request id or batch id.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "A transfer id, clientRequestId or batchId.") var reference: String
        @Flag(help: "One JSON object per line instead of a table.") var json = false

        func run() async throws {
            try await connection.run("huitong.payments") { configuration, logger in
                for line in try await HubPayments.show(reference, json: json, configuration: configuration, logger: logger) {
                    print(line)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the most recently changed transfers.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this state: accepted, pendingCompliance, queued, executing, statusUnknown, settled, failed, rejected.")
        var state: String?
        @Option(help: "At most this many (default 50).") var limit: Int = 50
        @Flag(help: "One JSON object per line instead of a table.") var json = false

        func run() async throws {
            try await connection.run("huitong.payments") { configuration, logger in
                let lines = try await HubPayments.list(
                    state: state, limit: limit, json: json, configuration: configuration, logger: logger)
                for line in lines { print(line) }
            }
        }
    }
}
