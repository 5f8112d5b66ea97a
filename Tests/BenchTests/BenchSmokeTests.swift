import Foundation
import HubAMQP
import HubStore
import HubTestSupport
import Logging
import Testing

/// `huitong bench` end to end on a tiny N: the real binary runs `huitong serve --roles sample` as a child against
/// the real broker and database. It checks correctness only — never timing (a benchmark is not a test).
@Suite("bench smoke (real broker and database)", .serialized)
struct BenchSmokeTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        let candidates = [".build/debug/huitong", ".build/release/huitong"].map { repositoryRoot.appending(path: $0).path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    static var environment: [String: String] {
        let current = ProcessInfo.processInfo.environment
        return [
            "PATH": current["PATH"] ?? "/usr/bin:/bin",
            "HUITONG_AMQP_URL": current["HUITONG_AMQP_URL"] ?? "amqp://huitong:huitong@127.0.0.1:5673/huitong",
            "HUITONG_DATABASE_URL": current["HUITONG_DATABASE_URL"] ?? "postgres://huitong:huitong@127.0.0.1:5433/huitong",
        ]
    }

    struct Report: Decodable {
        struct Verification: Decodable {
            var passed: Bool
            var problems: [String]
            var checks: [String]
        }
        var runID: String
        var published: Int
        var unique: Int
        var duplicates: Int
        var lanes: Int
        var batchSize: Int
        var verification: Verification
    }

    /// Runs the binary with output in files (no pipes: a grandchild could hold them open), waiting at most `timeout`.
    static func run(_ arguments: [String], timeout: Duration = .seconds(300)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let directory = FileManager.default.temporaryDirectory.appending(path: "bench-smoke-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appending(path: "out")
        let err = directory.appending(path: "err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = repositoryRoot
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                Issue.record("huitong \(arguments.joined(separator: " ")) did not finish within \(timeout)")
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.waitUntilExit()
        return (
            process.terminationStatus,
            (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        )
    }

    @Test("200 sample commands, 3 % duplicate ids, taps off: one effect per unique command, all events, nothing left over")
    func sampleSmoke() async throws {
        let result = try await Self.run([
            "bench", "--workload", "sample", "-n", "200", "--taps", "off", "--json", "--no-progress", "--mode", "live",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.published == 200)
        #expect(report.duplicates == 6)
        #expect(report.unique == 194)
        #expect(report.verification.passed, "\(report.verification.problems)")
        #expect(report.verification.problems.isEmpty)

        // Independently of the bench's own verdict: the counters of this run were incremented exactly once per
        // unique command, and the inbox holds exactly the unique ids.
        var logger = Logger(label: "bench.smoke")
        logger.logLevel = .error
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: Self.environment["HUITONG_DATABASE_URL"]!), logger: logger)
        let applied = try await pool.query(
            "SELECT coalesce(sum(applied), 0)::int8 FROM sample.counters WHERE key LIKE \("bench-\(report.runID)-%")"
        ).rows.first?.decode(Int64.self, at: 0)
        await pool.close()
        #expect(applied == 194)
    }

    @Test("pre-loaded mode on 4 lanes × batches of 16: the backlog is published first, then the role drains it correctly")
    func preloadedSmoke() async throws {
        let result = try await Self.run([
            "bench", "--workload", "sample", "-n", "150", "--taps", "off", "--json", "--no-progress",
            "--lanes", "4", "--batch-size", "16",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.lanes == 4)
        #expect(report.batchSize == 16)
        #expect(report.unique + report.duplicates == 150)
        #expect(report.verification.passed, "\(report.verification.problems)")
    }

    @Test("open loop (--rate): every command is published and completed once; hops are reported for each")
    func rateSmoke() async throws {
        let result = try await Self.run([
            "bench", "--workload", "sample", "-n", "120", "--rate", "60", "--taps", "off", "--json", "--no-progress",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        struct RateReport: Decodable {
            struct Hop: Decodable {
                struct Latency: Decodable { var count: Int }
                var name: String
                var latency: Latency
            }
            var mode: String
            var unique: Int
            var offeredRate: Double?
            var hops: [Hop]
        }
        let report = try JSONDecoder().decode(RateReport.self, from: Data(result.stdout.utf8))
        #expect(report.mode == "rate")
        #expect(report.offeredRate == 60)
        #expect(Set(report.hops.map(\.name)) == ["end to end", "publish → handled", "handled → event received"])
        for hop in report.hops { #expect(hop.latency.count == report.unique, "\(hop.name)") }
    }

    @Test("a workload queue that something else consumes is refused before anything is published")
    func refusesASharedWorkloadQueue() async throws {
        let env = Self.environment
        let declared = try await Command.run(Self.binary, ["topology", "declare", "--roles", "sample"], environment: env)
        try #require(declared.status == 0, "\(declared.stderr)")
        let amqp = try AMQPConfiguration(url: env["HUITONG_AMQP_URL"] ?? "", connectionName: "bench-test-intruder")
        let intruder = AMQPConsumer(configuration: amqp, logger: Logger(label: "bench-test"))
        let deliveries = intruder.consume(queue: "svc.sample", prefetch: 1)
        // Subscribed once the broker counts a consumer on the queue (bounded wait, not a timing assertion).
        let connection = try await AMQPConnection.connect(configuration: amqp, logger: Logger(label: "bench-test"))
        var subscribed = false
        for _ in 0..<200 where !subscribed {
            subscribed = try await connection.queueStatus("svc.sample").consumerCount > 0
            if !subscribed { try await Task.sleep(for: .milliseconds(50)) }
        }
        await connection.close()
        try #require(subscribed)
        let result = try await Self.run(["bench", "--workload", "sample", "-n", "20", "--taps", "off", "--no-progress"])
        await deliveries.stop()
        #expect(result.status == 1)
        #expect(result.stderr.contains("svc.sample already has 1 consumer(s)"), "\(result.stderr)")
    }

    @Test("bad options are one line naming the option")
    func badOptions() async throws {
        let workload = try await Self.run(["bench", "--workload", "nope", "--taps", "off"])
        #expect(workload.status == 1)
        #expect(workload.stderr.contains("unknown workload 'nope'"))
        #expect(workload.stderr.contains("sample, payments"))
        let taps = try await Self.run(["bench", "--taps", "maybe"])
        #expect(taps.status == 1)
        #expect(taps.stderr.contains("--taps"))
        let lanes = try await Self.run(["bench", "--taps", "off", "--lanes", "0"])
        #expect(lanes.status == 1)
        #expect(lanes.stderr.contains("--lanes must be from 1 to 64"))
    }
}
