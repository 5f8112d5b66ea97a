import ArgumentParser
import Foundation
import HubApp
import HubBench

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the hub on a reference workload against the machine's own ceilings, and verify it.",
        discussion: """
            Runs the workload's roles (and, with --taps on, audit and compliance) as child 'huitong serve' \
            processes, publishes N commands (3 % duplicate message ids), waits for one completion event per unique \
            command, then reports throughput, latency per hop, CPU and memory per process, and checks correctness \
            (one effect per command, every event published, queues empty, nothing parked). Exits 1 if a check fails. \
            Latency figures come from --rate (open loop); pre-loaded and live runs measure throughput.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("workload"), help: "sample | payments (default sample).")
    var workload: String = "sample"
    @Option(name: [.customShort("n"), .customLong("count")], help: "Messages to publish, duplicates included.")
    var count: Int = 50_000
    @Option(name: .customLong("mode"), help: "preloaded (publish, then start the roles) | live (default preloaded).")
    var mode: String = "preloaded"
    @Option(name: .customLong("rate"), help: "Open loop at this offered rate in msg/s (live; latency figures).")
    var rate: Double?
    @Option(name: .customLong("taps"), help: "on | off: run the audit and compliance taps too (default on).")
    var taps: String = "on"
    @Flag(name: .customLong("ceiling"), help: "Also measure the broker relay and database commit ceilings.")
    var ceiling = false
    @Option(name: .customLong("ceiling-count"), help: "Messages per ceiling (default min(N, 20000)).")
    var ceilingCount: Int?
    @Option(name: .customLong("duplicates"), help: "Share of duplicate message ids (default 0.03).")
    var duplicates: Double = 0.03
    @Option(name: .customLong("body-bytes"), help: "Target command body size where the workload pads (default 512).")
    var bodyBytes: Int = 512
    @Option(name: .customLong("stall-timeout"), help: "Seconds without a completion before the run fails (default 60).")
    var stallTimeout: Double = 60
    @Option(name: .customLong("binary"), help: "The huitong binary that runs the roles (default: this one).")
    var binary: String?
    @Option(name: .customLong("log-dir"), help: "Where the roles' logs go (default .local/bench).")
    var logDirectory: String = ".local/bench"
    @Option(name: .customLong("lanes"), help: "Consumer lanes per queue in the roles (default HUITONG_CONSUMER_LANES, else 2).")
    var lanes: Int?
    @Option(name: .customLong("batch-size"), help: "Deliveries per consumer transaction (default HUITONG_CONSUMER_BATCH_SIZE, else 64).")
    var batchSize: Int?
    @Flag(name: .customLong("json"), help: "Print the report as JSON.")
    var json = false
    @Flag(name: .customLong("no-progress"), help: "No progress bar on standard error.")
    var noProgress = false

    func run() async throws {
        try await connection.run("huitong.bench") { configuration, logger in
            guard let parsedMode = BenchOptions.Mode(rawValue: mode) else {
                throw HubAppError(.invalidConfiguration, "--mode '\(mode)' is not a mode", fix: "use preloaded or live")
            }
            guard taps == "on" || taps == "off" else {
                throw HubAppError(.invalidConfiguration, "--taps '\(taps)' is not on or off", fix: "use --taps on or --taps off")
            }
            guard count > 0 else { throw HubAppError(.invalidConfiguration, "-n must be at least 1", fix: "use -n 200 or more") }
            guard (0...0.5).contains(duplicates) else {
                throw HubAppError(.invalidConfiguration, "--duplicates must be between 0 and 0.5", fix: "use e.g. 0.03")
            }
            if let rate, !(rate > 0) {
                throw HubAppError(.invalidConfiguration, "--rate must be above 0", fix: "use e.g. --rate 250")
            }
            let selected: BenchWorkload
            do { selected = try BenchWorkload.named(workload) } catch let error as BenchError {
                throw HubAppError(.invalidConfiguration, "--workload: \(error.message)", fix: error.fix)
            }
            var options = BenchOptions(
                binary: binary ?? Self.currentExecutable,
                amqpURL: configuration.amqpURL,
                databaseURL: configuration.databaseURL,
                environment: ProcessInfo.processInfo.environment,
                logDirectory: logDirectory
            )
            options.workload = selected
            options.count = count
            options.mode = rate != nil ? .live : parsedMode
            options.rate = rate
            options.taps = taps == "on"
            options.ceiling = ceiling
            options.ceilingCount = ceilingCount
            options.duplicateRatio = duplicates
            options.bodyBytes = bodyBytes
            options.stallTimeout = .milliseconds(Int(stallTimeout * 1_000))
            options.showProgress = !noProgress
            if let lanes, !(1...64).contains(lanes) {
                throw HubAppError(.invalidConfiguration, "--lanes must be from 1 to 64", fix: "use e.g. --lanes 4")
            }
            if let batchSize, !(1...1024).contains(batchSize) {
                throw HubAppError(.invalidConfiguration, "--batch-size must be from 1 to 1024", fix: "use e.g. --batch-size 64")
            }
            options.runtimeLanes = lanes ?? configuration.consumerLanes
            options.runtimeBatchSize = batchSize ?? configuration.consumerBatchSize
            // Every role must exist in the binary that runs them; say which flag avoids a missing one. (With
            // --binary, that other binary answers for itself: a missing role fails its serve with one line.)
            for role in options.roles where binary == nil {
                do { _ = try HubRole.resolve([role]) } catch {
                    let tap = options.tapRoles.contains(role)
                    throw HubAppError(
                        .unknownRole, "bench needs role '\(role)', which this binary does not have built",
                        fix: tap ? "run with --taps off (bare reference workload)" : "build a huitong with the \(role) role")
                }
            }
            let report: BenchReport
            do {
                report = try await BenchRunner(options: options, logger: logger).run()
            } catch let error as BenchError {
                FileHandle.standardError.write(Data("huitong: \(error)\n".utf8))
                throw ExitCode(1)
            }
            print(json ? report.json : report.table)
            if !report.verification.passed {
                let problems = report.verification.problems.joined(separator: "; ")
                FileHandle.standardError.write(Data(
                    "huitong: bench run \(report.runID) is NOT correct: \(problems); fix: see the roles' logs in \(logDirectory)/\(report.runID)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    /// The running binary (so the roles run the same build as the bench).
    static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
