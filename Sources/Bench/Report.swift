import Foundation

/// The result of one `huitong bench` run: what ran, how fast, at what latency and cost, and whether it was correct.
public struct BenchReport: Sendable, Codable {
    /// The raw ceilings of the same run and the hub's throughput as a share of each.
    public struct Ceiling: Sendable, Codable {
        /// Broker relay rate: consume + publish with confirms + ack, quorum queues, same body size (msg/s).
        public var relayPerSecond: Double
        /// Database commit rate: inbox-like + outbox-like insert per message, same batch size and lanes (msg/s).
        public var databasePerSecond: Double
        /// Messages used for each ceiling.
        public var messages: Int
        /// Hub throughput / relay ceiling.
        public var hubShareOfRelay: Double
        /// Hub throughput / database ceiling.
        public var hubShareOfDatabase: Double
    }

    /// One latency hop.
    public struct Hop: Sendable, Codable {
        /// `publish → handled`, …
        public var name: String
        /// The figures, in milliseconds.
        public var latency: LatencySummary
    }

    /// The correctness verdict.
    public struct Verification: Sendable, Codable {
        /// True when every check passed.
        public var passed: Bool
        /// What was wrong (empty when passed).
        public var problems: [String]
        /// The checks that ran, with what they found (`inbox rows: 970/970`).
        public var checks: [String]
    }

    /// The machine the run was on.
    public struct Machine: Sendable, Codable {
        /// Online CPUs.
        public var cpus: Int
        /// `model name` from /proc/cpuinfo.
        public var cpuModel: String
        /// Total memory in MiB.
        public var memoryMegabytes: Int
        /// `uname -r`.
        public var kernel: String
        /// The binary that ran the roles (its path says debug or release).
        public var binary: String

        /// Reads /proc.
        static func current(binary: String) -> Machine {
            let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
            let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
            let kilobytes = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
                .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
            let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return Machine(
                cpus: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model,
                memoryMegabytes: kilobytes / 1_024, kernel: kernel, binary: binary)
        }
    }

    /// The machine.
    public var machine: Machine
    /// The run id (part of keys and queue names).
    public var runID: String
    /// The workload.
    public var workload: String
    /// `preloaded`, `live` or `rate`.
    public var mode: String
    /// The hub roles that ran, one process each.
    public var roles: [String]
    /// Whether the taps (audit, compliance) ran.
    public var taps: Bool
    /// Consumer lanes per queue in the roles (`HUITONG_CONSUMER_LANES`).
    public var lanes: Int
    /// Deliveries per consumer transaction (`HUITONG_CONSUMER_BATCH_SIZE`).
    public var batchSize: Int
    /// Messages published (duplicates included).
    public var published: Int
    /// Unique commands.
    public var unique: Int
    /// Duplicate publications (same message id).
    public var duplicates: Int
    /// Mean command body size in bytes.
    public var meanBodyBytes: Int
    /// The offered rate (rate mode), msg/s.
    public var offeredRate: Double?
    /// How fast the bench published (msg/s, with confirms).
    public var publishPerSecond: Double
    /// Unique commands per second, from the first delivery handled to the last completion event received.
    public var throughputPerSecond: Double
    /// That window in seconds.
    public var windowSeconds: Double
    /// Latency end to end and per hop.
    public var hops: [Hop]
    /// CPU and memory per process group during the window.
    public var processes: [ProcessUsage]
    /// Ceilings, with `--ceiling`.
    public var ceiling: Ceiling?
    /// Correctness.
    public var verification: Verification
    /// Notes on how to read the figures.
    public var notes: [String]

    /// The report as pretty JSON (`--json`).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The report as a table for people.
    public var table: String {
        func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func left(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        var lines: [String] = []
        lines.append(
            "huitong bench — workload \(workload), \(mode), taps \(taps ? "on" : "off"), \(lanes) lanes × batch \(batchSize), run \(runID)")
        lines.append(
            "  machine: \(machine.cpus) CPUs (\(machine.cpuModel)), \(machine.memoryMegabytes) MiB, Linux \(machine.kernel); "
                + "binary \(machine.binary)")
        lines.append(
            "  published \(published) (\(unique) unique + \(duplicates) duplicate ids), body ≈ \(meanBodyBytes) B, "
                + "roles: \(roles.joined(separator: ", "))")
        if let offeredRate { lines.append("  offered rate   \(f(offeredRate, 0)) msg/s (open loop)") }
        lines.append("  publish rate   \(f(publishPerSecond, 0)) msg/s (confirmed)")
        lines.append("  throughput     \(f(throughputPerSecond, 0)) msg/s over \(f(windowSeconds, 2)) s (first delivery → last event)")
        if let ceiling {
            lines.append("  relay ceiling  \(f(ceiling.relayPerSecond, 0)) msg/s → hub = \(f(100 * ceiling.hubShareOfRelay)) %")
            lines.append("  db ceiling     \(f(ceiling.databasePerSecond, 0)) msg/s → hub = \(f(100 * ceiling.hubShareOfDatabase)) %")
        }
        if !hops.isEmpty {
            lines.append("")
            lines.append("  " + pad("latency (ms)", 26) + ["p50", "p90", "p99", "max", "n"].map { left($0, 10) }.joined())
            for hop in hops {
                let l = hop.latency
                lines.append(
                    "  " + pad(hop.name, 26) + [f(l.p50, 2), f(l.p90, 2), f(l.p99, 2), f(l.max, 2), "\(l.count)"]
                        .map { left($0, 10) }.joined())
            }
        }
        if !processes.isEmpty {
            lines.append("")
            lines.append("  " + pad("process", 26) + ["cpu s", "cpu %", "rss MiB", "procs"].map { left($0, 10) }.joined())
            for usage in processes {
                lines.append(
                    "  " + pad(usage.name, 26)
                        + [f(usage.cpuSeconds, 2), f(usage.cpuPercent), f(usage.peakRSSMegabytes), "\(usage.processes)"]
                        .map { left($0, 10) }.joined())
            }
        }
        lines.append("")
        lines.append("  correctness: \(verification.passed ? "PASS" : "FAIL")")
        for check in verification.checks { lines.append("    ✓ \(check)") }
        for problem in verification.problems { lines.append("    ✗ \(problem)") }
        for note in notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }
}
