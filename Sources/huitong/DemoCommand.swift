import ArgumentParser
import Foundation
import HubApp
import HubBench

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Send synthetic partner traffic and show a live summary of the hub at work (Ctrl-C stops).",
        discussion: """
            A realistic mix of payments commands (transfers to other banks, e-CNY wallet payments, payroll batches, \
            large-value transfers, duplicates, invalid requests, corporate-to-person above 50,000) at --rate per \
            second, deterministic for --seed. The screen refreshes every second: rates, transfers by state, \
            rejections by reason code, compliance verdicts, adapter events and round trips, parked messages. Roles \
            that are not running show as zeros or 'no events yet'.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("rate"), help: "Commands per second (default 5).")
    var rate: Double = 5
    @Option(name: .customLong("duration"), help: "Stop after this many seconds (default: until Ctrl-C).")
    var duration: Double?
    @Option(name: .customLong("seed"), help: "Traffic seed: the same seed sends the same traffic (default 1).")
    var seed: UInt64 = 1
    @Flag(name: .customLong("no-screen"), help: "Print a summary every 10 s instead of redrawing the screen.")
    var noScreen = false

    func run() async throws {
        try await connection.run("huitong.demo") { configuration, logger in
            guard rate > 0, rate <= 10_000 else {
                throw HubAppError(.invalidConfiguration, "--rate must be above 0 and at most 10000", fix: "use e.g. --rate 5")
            }
            if let duration, !(duration > 0) {
                throw HubAppError(.invalidConfiguration, "--duration must be above 0", fix: "use e.g. --duration 60")
            }
            var options = DemoRunner.Options(amqpURL: configuration.amqpURL, databaseURL: configuration.databaseURL)
            options.rate = rate
            options.duration = duration.map { .milliseconds(Int($0 * 1_000)) }
            options.seed = seed
            options.screen = !noScreen && isatty(STDOUT_FILENO) == 1
            do {
                _ = try await DemoRunner(options: options, logger: logger).run()
            } catch let error as BenchError {
                FileHandle.standardError.write(Data("huitong: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
