import Foundation
import HubAMQP
import HubCore
import Logging
import HubTestSupport
import Glibc
import Testing

/// The `huitong` binary, run as an operator would, against the local servers of `deploy/local`.
@Suite("huitong CLI", .serialized)
struct CLITests {
    let environment = ["HUITONG_AMQP_URL": CLI.amqpURL, "HUITONG_DATABASE_URL": CLI.databaseURL]

    @Test("doctor reports both servers healthy and exits 0")
    func doctorHealthy() async throws {
        _ = try await CLI.run(["migrate"], environment: environment)
        let result = try await CLI.run(["doctor"], environment: environment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("RabbitMQ"))
        #expect(result.stdout.contains("PostgreSQL"))
        #expect(!result.stdout.contains("huitong:huitong@"), "the password must never be printed")
    }

    @Test("doctor: wrong broker password is one line with the fix, exit 1, no password echoed")
    func doctorWrongPassword() async throws {
        var env = environment
        env["HUITONG_AMQP_URL"] = CLI.amqpURL.replacingOccurrences(of: "huitong:huitong@", with: "huitong:not-the-password@")
        let result = try await CLI.run(["doctor"], environment: env)
        #expect(result.status == 1)
        let output = result.stdout + result.stderr
        #expect(output.contains("credentials") || output.contains("authentication"))
        #expect(!output.contains("not-the-password"))
    }

    @Test("doctor: a server that is down is reported with its fix within the timeout")
    func doctorServerDown() async throws {
        var env = environment
        env["HUITONG_DATABASE_URL"] = "postgres://huitong:huitong@127.0.0.1:1/huitong"  // nothing listens on port 1
        env["HUITONG_CONNECT_TIMEOUT"] = "2"
        let result = try await CLI.run(["doctor"], environment: env, timeout: .seconds(30))
        #expect(result.status == 1)
        #expect(result.stdout.contains("servers.sh up") || result.stdout.contains("running"))
    }

    @Test("doctor: servers that accept TCP but never answer fail within the connect timeout, not hang")
    func doctorSilentServer() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        var env = environment
        env["HUITONG_AMQP_URL"] = "amqp://u:p@127.0.0.1:\(listener.port)/"
        env["HUITONG_DATABASE_URL"] = "postgres://u:p@127.0.0.1:\(listener.port)/db"
        env["HUITONG_CONNECT_TIMEOUT"] = "1"
        let result = try await CLI.run(["doctor"], environment: env, timeout: .seconds(30))
        #expect(result.status == 1)
        #expect(result.stdout.contains("broker at 127.0.0.1:\(listener.port) accepted the connection but did not answer"))
        #expect(result.stdout.contains("database at 127.0.0.1:\(listener.port) did not answer"))
    }

    @Test("doctor: a missing vhost is named")
    func doctorMissingVhost() async throws {
        var env = environment
        env["HUITONG_AMQP_URL"] = CLI.amqpURL.replacingOccurrences(of: "/huitong", with: "/no-such-vhost")
        let result = try await CLI.run(["doctor"], environment: env)
        #expect(result.status == 1)
        #expect(result.stdout.contains("vhost"))
    }

    @Test("a malformed URL is one clear line on stderr and exit 1, not a crash")
    func malformedURL() async throws {
        var env = environment
        env["HUITONG_AMQP_URL"] = "http//nonsense"
        let result = try await CLI.run(["topology", "declare"], environment: env)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("huitong: "))
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test("a malformed configuration value names its variable")
    func malformedPort() async throws {
        var env = environment
        env["HUITONG_HTTP_PORT"] = "eighty"
        let result = try await CLI.run(["serve"], environment: env)
        #expect(result.status == 1)
        #expect(result.stderr.contains("HUITONG_HTTP_PORT"))
    }

    @Test("consumer tuning and the drain delay out of range name their variable and the range")
    func malformedConsumerTuning() async throws {
        for (variable, value, range) in [
            ("HUITONG_CONSUMER_LANES", "0", "from 1 to 64"), ("HUITONG_CONSUMER_BATCH_SIZE", "many", "from 1 to 1024"),
            ("HUITONG_CONSUMER_BATCH_WAIT_MS", "1001", "from 0 to 1000"),
            ("HUITONG_SHUTDOWN_DRAIN_DELAY", "3601", "from 0 to 3600"),
        ] {
            var env = environment
            env[variable] = value
            let result = try await CLI.run(["serve"], environment: env)
            #expect(result.status == 1)
            #expect(result.stderr.contains(variable), "\(result.stderr)")
            #expect(result.stderr.contains(range), "\(result.stderr)")
        }
    }

    @Test("migrate twice: the second run applies nothing")
    func migrateTwice() async throws {
        let first = try await CLI.run(["migrate"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await CLI.run(["migrate"], environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("up to date"))
        let status = try await CLI.run(["migrate", "--status"], environment: environment)
        #expect(status.stdout.contains("applied"))
        #expect(!status.stdout.contains("pending  "))
    }

    @Test("topology declare --dry-run prints the four hub exchanges without connecting")
    func topologyDryRun() async throws {
        var env = environment
        env["HUITONG_AMQP_URL"] = "amqp://huitong:huitong@127.0.0.1:1/huitong"
        let result = try await CLI.run(["topology", "declare", "--dry-run"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        for exchange in ["hub.commands", "hub.events", "hub.retry", "hub.dead"] {
            #expect(result.stdout.contains(exchange))
        }
    }

    @Test("an unknown role is refused with the list of roles")
    func unknownRole() async throws {
        let result = try await CLI.run(["serve", "--roles", "teleport"], environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr.contains("unknown role 'teleport'"))
    }

    @Test("contracts check passes on the shipped contracts")
    func contractsCheck() async throws {
        let result = try await CLI.run(["contracts", "check"], environment: environment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("PASS"))
        #expect(!result.stdout.contains("FAIL"))
    }

    @Test("serve answers /healthz, /readyz and /metrics, and exits 0 on SIGTERM")
    func serveAndShutDown() async throws {
        // Every role runs, and on a loaded machine draining their in-flight batches can take a while: 30 s of graceful
        // shutdown keeps this test on the graceful path (forcedShutdownExitsCleanly covers the cancellation path).
        // serve's log: on failure, the shutdown watch's lines name the services that would not stop.
        let serve = try ServeChild(["--shutdown-timeout", "30"], environment: environment, logName: "sigterm")
        defer { serve.cleanUp() }
        let process = serve.process

        // serve prints "listening on http://HOST:PORT" once the HTTP server is bound.
        let port = try await serve.port()
        let base = "http://127.0.0.1:\(port)"
        let health = try await Self.get("\(base)/healthz")
        #expect(health.status == 200)
        let ready = try await Self.get("\(base)/readyz")
        #expect(ready.status == 200, "\(ready.body)")
        let metrics = try await Self.get("\(base)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("# TYPE"))

        kill(process.processIdentifier, SIGTERM)
        // A bound, not a timing assertion: graceful shutdown (30 s here) plus the cancellation allowance (10 s) plus
        // margin for a loaded machine, where every role finishes its in-flight batch first.
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "serve did not stop after SIGTERM")
        if !process.isRunning {
            #expect(process.terminationReason == .exit && process.terminationStatus == 0,
                    """
                    serve ended with \(process.terminationReason == .exit ? "exit status" : "signal") \
                    \(process.terminationStatus); its shutdown lines: \(Self.shutdownLines(serve.log))
                    """)
        }
    }

    @Test("forced shutdown: with a 1 ms graceful window every role still honours cancellation and serve exits 0")
    func forcedShutdownExitsCleanly() async throws {
        // Before the fix, the audit sink waited 10 s for deliveries nobody would settle once cancelled, and
        // ServiceLifecycle's cancellation deadline then aborted the process (SIGILL) — 6 runs out of 6 under load.
        // A backlog on hub.commands, so that the taps (audit, compliance: bound to '#') are mid-work at SIGTERM and
        // the 1 ms graceful window runs out: the cancellation path is what this test is about.
        let amqp = try AMQPConfiguration(url: CLI.amqpURL, connectionName: "cli-test-backlog")
        try await AMQPPublisher.withPublisher(
            configuration: amqp, topology: Topology(exchanges: Topology.hubExchanges), logger: Logger(label: "cli-test")
        ) { publisher in
            let pings = try (0..<3_000).map { _ in
                AMQPMessage(
                    envelope: try Envelope(
                        source: "/cli-tests/forced-shutdown", type: MessageType("hub.heartbeat.ping.v1"),
                        dataSchema: "https://huitong.example.com/contracts/schemas/hub/heartbeat-ping.v1.schema.json",
                        data: JSONObject()),
                    exchange: Topology.ExchangeName.commands)
            }
            for result in try await publisher.publish(batch: pings) { try result.get() }
        }
        var env = environment
        env["HUITONG_LOG_LEVEL"] = "info"
        let serve = try ServeChild(["--shutdown-timeout", "0.001"], environment: env, logName: "forced")
        defer { serve.cleanUp() }
        let process = serve.process
        _ = try await serve.port()
        kill(process.processIdentifier, SIGTERM)
        // A bound, not a timing assertion: 1 ms graceful + 10 s of cancellation allowance + a loaded machine.
        let deadline = ContinuousClock.now + .seconds(45)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "serve did not stop after SIGTERM")
        let log = serve.logText
        #expect(!log.contains("about to abort"), "\(log.split(separator: "\n").filter { $0.contains("services") })")
        if !process.isRunning {
            #expect(process.terminationReason == .exit && process.terminationStatus == 0,
                    "serve ended with \(process.terminationReason == .exit ? "exit status" : "signal") \(process.terminationStatus)")
        }
    }

    @Test("SIGTERM with a drain delay turns /readyz 503 while serve keeps running; a second SIGTERM ends it at once with status 130")
    func secondSignalExitsAtOnce() async throws {
        // A drain of 600 s: the stop cannot finish by itself within the test's bound (a graceful shutdown with
        // nothing in flight can finish before a second signal arrives), only the second signal can end it.
        var env = environment
        env["HUITONG_SHUTDOWN_DRAIN_DELAY"] = "600"
        let serve = try ServeChild(["--shutdown-timeout", "600"], environment: env, logName: "second")
        defer { serve.cleanUp() }
        let process = serve.process
        let port = try await serve.port()
        #expect(try await Self.readyStatus(port: port) == 200)
        kill(process.processIdentifier, SIGTERM)
        // Draining: not ready any more, still running.
        var status = 200
        let drainDeadline = ContinuousClock.now + .seconds(20)
        while status == 200 && ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(50))
            status = try await Self.readyStatus(port: port)
        }
        #expect(status == 503, "/readyz during the drain delay")
        #expect(process.isRunning, "serve stopped during its drain delay")
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning, "serve did not exit after the second SIGTERM")
        if !process.isRunning {
            #expect(process.terminationReason == .exit && process.terminationStatus == 130,
                    "serve ended with \(process.terminationReason == .exit ? "exit status" : "signal") \(process.terminationStatus)")
            let log = serve.logText
            #expect(log.contains("second SIGTERM — exiting without waiting"))
        }
    }

    /// The lines of a serve log that say what shutdown waited for (ShutdownWatch, ServiceLifecycle, fatal errors).
    static func shutdownLines(_ log: URL) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n")
            .filter { $0.contains("services") || $0.contains("Fatal error") || $0.contains("stopped") }
            .joined(separator: "\n")
    }

    static func readListeningPort(_ handle: FileHandle, timeout: Duration) async throws -> Int {
        let task = Task.detached { () -> Int? in
            var buffer = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { return nil }
                buffer += String(decoding: data, as: UTF8.self)
                if let range = buffer.range(of: #"listening on http://[^:]+:(\d+)"#, options: .regularExpression) {
                    let match = buffer[range]
                    if let colon = match.lastIndex(of: ":"), let port = Int(match[match.index(after: colon)...]) {
                        return port
                    }
                }
            }
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            task.cancel()
        }
        defer { timer.cancel() }
        guard let port = await task.value else {
            throw CLIError("serve exited or closed stdout before it was listening")
        }
        return port
    }

    static func readyStatus(port: Int) async throws -> Int {
        try await get("http://127.0.0.1:\(port)/readyz").status
    }

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let result = try await Command.run(
            "/usr/bin/env", ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", url])
        let text = result.stdout
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last ?? "") ?? 0
        return (status, lines.dropLast().joined(separator: "\n"))
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A TCP listener that completes handshakes (the kernel does) but never reads or writes: a hung server.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("socket() failed") }
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw CLIError("bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}

/// `huitong serve --http-port 0 ARGS…` as a child process: standard output piped (for the "listening on" line),
/// standard error to a temporary log file that the test can read. Call ``cleanUp()`` when done.
final class ServeChild {
    let process = Process()
    let log: URL
    private let out = Pipe()

    init(_ arguments: [String], environment: [String: String], logName: String) throws {
        log = FileManager.default.temporaryDirectory.appending(path: "serve-\(logName)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = CLI.binary
        process.arguments = ["serve", "--http-port", "0"] + arguments
        var environment = environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        process.environment = environment
        process.currentDirectoryURL = CLI.repositoryRoot
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
    }

    /// The HTTP port serve reports once it is listening.
    func port() async throws -> Int {
        try await CLITests.readListeningPort(out.fileHandleForReading, timeout: .seconds(60))
    }

    /// What serve has logged so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Kills serve if it is still running and removes its log.
    func cleanUp() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: log)
    }
}
