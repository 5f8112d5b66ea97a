import ArgumentParser
import Foundation
import HubApp

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The SM3-chained audit log: verify, checkpoints, query, export, partitions.",
        subcommands: [Verify.self, Checkpoint.self, Query.self, Export.self, Partitions.self]
    )

    static var user: String { ProcessInfo.processInfo.environment["USER"] ?? "operator" }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the chain; report the first broken record and how (exit 2 when broken).")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "First sequence to check (default: the start).") var from: Int64?
        @Option(help: "Last sequence to check (default: the newest).") var to: Int64?
        @Option(help: "An exported checkpoint file: detects truncation of the newest records.") var checkpoint: String?
        @Flag(help: "JSON report.") var json = false

        func run() async throws {
            var intact = true
            try await connection.run("huitong.audit") { configuration, logger in
                let result = try await HubAudit.verify(
                    configuration: configuration, from: from, to: to, checkpointFile: checkpoint, json: json,
                    logger: logger)
                for line in result.lines { print(line) }
                intact = result.intact
            }
            if !intact { throw ExitCode(2) }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SM2-signed checkpoints of the chain head.", subcommands: [Create.self, ExportFile.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "create", abstract: "Sign the head now.")
            @OptionGroup var connection: ConnectionOptions
            func run() async throws {
                try await connection.run("huitong.audit") { configuration, logger in
                    for line in try await HubAudit.createCheckpoint(configuration: configuration, logger: logger) {
                        print(line)
                    }
                }
            }
        }

        struct ExportFile: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "export", abstract: "Write every checkpoint and the public key as signed JSON.")
            @OptionGroup var connection: ConnectionOptions
            @Option(help: "Write to this file (default: standard output).") var out: String?
            func run() async throws {
                try await connection.run("huitong.audit") { configuration, logger in
                    let data = try await HubAudit.exportCheckpoints(configuration: configuration, logger: logger)
                    if let out {
                        guard FileManager.default.createFile(atPath: out, contents: data) else {
                            throw HubAppError(.invalidConfiguration, "cannot write \(out)")
                        }
                    } else {
                        FileHandle.standardOutput.write(data + Data("\n".utf8))
                    }
                }
            }
        }
    }

    struct Filters: ParsableArguments {
        @Option(name: .customLong("correlation-id"), help: "A business flow.") var correlationID: String?
        @Option(name: .customLong("enterprise-id"), help: "An enterprise (USCC).") var enterpriseID: String?
        @Option(help: "A message type.") var type: String?
        @Option(help: "Received at or after (RFC 3339 with offset).") var from: String?
        @Option(help: "Received before (RFC 3339 with offset).") var to: String?
        @Flag(name: .customLong("include-repeats"), help: "Also broker-redelivered copies.") var includeRepeats = false
        @Flag(help: "Reveal sensitive fields (needs audit:unmask; recorded).") var unmask = false
        @Option(name: .customLong("as"), help: "Who is reading (recorded; default $USER).") var reader: String?

        func filters(cursor: String?, limit: Int) -> HubAudit.Filters {
            HubAudit.Filters(
                correlationID: correlationID, enterpriseID: enterpriseID, messageType: type, from: from, to: to,
                cursor: cursor, limit: limit, includeRepeats: includeRepeats)
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One page of records in chain order (masked unless --unmask); the query is recorded.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var filters: Filters
        @Option(help: "Continue from a previous page.") var cursor: String?
        @Option(help: "Records per page (1–1000, default 100).") var limit: Int = 100
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            try await connection.run("huitong.audit") { configuration, logger in
                let lines = try await HubAudit.query(
                    configuration: configuration, filters: filters.filters(cursor: cursor, limit: limit),
                    readerName: filters.reader ?? AuditCommand.user, unmask: filters.unmask, json: json,
                    logger: logger)
                for line in lines { print(line) }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every matching record as JSON Lines (progress on stderr); the export is recorded.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var filters: Filters
        @Option(help: "Write to this file (default: standard output).") var out: String?

        func run() async throws {
            try await connection.run("huitong.audit") { configuration, logger in
                let handle: FileHandle
                if let out {
                    guard FileManager.default.createFile(atPath: out, contents: nil),
                        let file = FileHandle(forWritingAtPath: out)
                    else { throw HubAppError(.invalidConfiguration, "cannot write \(out)") }
                    handle = file
                } else {
                    handle = FileHandle.standardOutput
                }
                let count = try await HubAudit.export(
                    configuration: configuration, filters: filters.filters(cursor: nil, limit: 1000),
                    readerName: filters.reader ?? AuditCommand.user, unmask: filters.unmask, output: handle,
                    progress: { FileHandle.standardError.write(Data("\rexported \($0) record(s)".utf8)) },
                    logger: logger)
                FileHandle.standardError.write(Data("\rexported \(count) record(s)\n".utf8))
                if out != nil { try? handle.close() }
            }
        }
    }

    struct Partitions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Monthly partitions of the audit log and their retention.", subcommands: [List.self, Drop.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List partitions with their retention status.")
            @OptionGroup var connection: ConnectionOptions
            func run() async throws {
                try await connection.run("huitong.audit") { configuration, logger in
                    for line in try await HubAudit.listPartitions(configuration: configuration, logger: logger) {
                        print(line)
                    }
                }
            }
        }

        struct Drop: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Drop one expired month (refused within retention); recorded in the chain.")
            @OptionGroup var connection: ConnectionOptions
            @Argument(help: "The month, YYYY-MM (UTC).") var month: String
            @Flag(help: "Required: confirms the drop.") var confirm = false
            @Option(help: "Who is acting (recorded; default $USER).") var actor: String?
            func run() async throws {
                try await connection.run("huitong.audit") { configuration, logger in
                    guard confirm else {
                        throw HubAppError(.invalidConfiguration, "dropping a partition needs --confirm", fix: "add --confirm")
                    }
                    for line in try await HubAudit.dropPartition(
                        configuration: configuration, month: month, actor: actor ?? AuditCommand.user, logger: logger)
                    {
                        print(line)
                    }
                }
            }
        }
    }
}
