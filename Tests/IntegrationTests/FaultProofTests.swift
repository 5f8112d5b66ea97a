import Foundation
import Glibc
import HubAMQP
import HubCore
import HubStore
import Logging
import Synchronization
import Testing

/// Issue #3 item 8: the runtime under faults, end to end, with the real binary, broker and database.
///
/// N commands (default 20,000; `HUITONG_PROOF_MESSAGES` overrides, `deploy/local/chaos.sh` runs 200,000) with 3 %
/// duplicate message ids go to the `sample` role (`huitong serve --roles sample`). While it works, the test kill -9's
/// the serving process three times (restarting it each time), closes its broker connections once from the broker,
/// and restarts PostgreSQL once. Afterwards: exactly one effect per unique command, every event published and seen
/// downstream at least once, nothing left in the queues or the outbox, nothing parked.
@Suite("Runtime fault proof", .serialized)
struct FaultProofTests {
    static let queue = "svc.sample"

    @Test("kill -9 ×3, broker connection closed, PostgreSQL restarted: one effect per unique message, nothing lost")
    func faultProof() async throws {
        let total = Int(ProcessInfo.processInfo.environment["HUITONG_PROOF_MESSAGES"] ?? "") ?? 20_000
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        let keyCount = 64
        let logger = Logger(label: "huitong.test.proof", factory: { _ in SwiftLogNoOpLogHandler() })

        // Schema, topology, and a clean sample queue.
        let migrate = try ProofProcess.run(["migrate"])
        #expect(migrate.status == 0, "\(migrate.output)")
        let topology = try ProofProcess.run(["topology", "declare", "--roles", "sample"])
        #expect(topology.status == 0, "\(topology.output)")
        try await AMQPSupport.withConnection { connection in
            for name in [Self.queue, "\(Self.queue).parked", "\(Self.queue).retry.1", "\(Self.queue).retry.2",
                         "\(Self.queue).retry.3"] {
                _ = try await connection.purgeQueue(name)
            }
        }

        // Downstream observer: a queue bound to the events the sample service emits.
        let observerQueue = "test.proof-events.\(run)"
        let observerTopology = Topology(
            // It expires 10 minutes after its consumer is gone, so an interrupted run cannot leave a queue behind
            // that collects every later sample event.
            queues: [Topology.Queue(name: observerQueue, kind: .classic, extraArguments: ["x-expires": .int(600_000)])],
            bindings: [Topology.Binding(queue: observerQueue, exchange: Topology.ExchangeName.events,
                                        routingKey: "sample.counter.incremented")]
        )
        try await AMQPSupport.withConnection { try await $0.declare(observerTopology) }

        // The commands: unique ones plus 3 % re-sent with the same message id and bytes.
        let uniqueCount = total - total * 3 / 100
        var messages: [AMQPMessage] = []
        var expectedApplied: [String: Int] = [:]
        var uniqueIDs: [UUID] = []
        messages.reserveCapacity(total)
        for index in 0..<uniqueCount {
            let key = "r\(run)-k\(index % keyCount)"
            let envelope = try Envelope(
                source: "urn:huitong:test:proof",
                type: MessageType("sample.counter.increment.v1"),
                dataSchema: "https://huitong.example.com/contracts/schemas/sample/counter-increment.v1.schema.json",
                data: ["key": .string(key), "amount": .number(JSONNumber(1))]
            )
            uniqueIDs.append(envelope.id.uuid)
            expectedApplied[key, default: 0] += 1
            messages.append(Self.command(envelope))
        }
        var generator = SystemRandomNumberGenerator()
        for _ in uniqueCount..<total { messages.append(messages[Int.random(in: 0..<uniqueCount, using: &generator)]) }
        messages.shuffle(using: &generator)

        let publisher = AMQPPublisher(configuration: try AMQPSupport.configuration(name: "proof-\(run)"), logger: logger)
        var pending = messages
        while !pending.isEmpty {
            let outcomes = try await publisher.publish(batch: pending, window: 500)
            pending = zip(pending, outcomes).compactMap { message, outcome in
                if case .failure = outcome { return message } else { return nil }
            }
        }
        await publisher.close()

        // The observer consumes while the service runs.
        // Only this run's events count: the relay may still publish events of an earlier, interrupted run.
        let expectedCauses = Set(uniqueIDs)
        let seen = Mutex<Set<UUID>>([])
        let consumer = AMQPConsumer(configuration: try AMQPSupport.configuration(name: "proof-observer-\(run)"),
                                    logger: logger)
        let deliveries = consumer.consume(queue: observerQueue, prefetch: 500)
        let observer = Task {
            for try await delivery in deliveries {
                if let envelope = try? Envelope.decode(bytes: delivery.body), let cause = envelope.causationID,
                    expectedCauses.contains(cause)
                {
                    _ = seen.withLock { $0.insert(cause) }
                }
                try? await delivery.ack()
            }
        }

        let pool = PostgresPool(configuration: try StoreSupport.configuration(poolSize: 2), logger: logger)
        let prefix = "r\(run)-%"
        func applied() async -> Int {
            let result = try? await pool.query(
                "SELECT COALESCE(sum(applied), 0)::bigint FROM sample.counters WHERE key LIKE \(prefix)"
            )
            return (try? result?.rows.first?.decode(Int.self, at: 0)) ?? -1
        }

        // Chaos at fixed fractions of progress, so the schedule does not depend on the machine's speed.
        var server = try ProofProcess.startServer()
        var kills = 0
        var closedBroker = false
        var restartedDatabase = false
        var supervisorRestarts = 0
        let killPoints = [0.15, 0.35, 0.60]
        let deadline = ContinuousClock.now + .seconds(Double(max(300, total / 100)))
        var lastProgress = (count: -1, at: ContinuousClock.now)
        while ContinuousClock.now < deadline {
            // Act as a process supervisor: `serve` exits non-zero when it cannot reach the database or the
            // broker at start-up (by design: one clear line, then exit), e.g. when it is restarted while
            // PostgreSQL is restarting. A supervisor starts it again after a pause.
            if !server.isRunning {
                supervisorRestarts += 1
                try await Task.sleep(for: .milliseconds(500))
                server = try ProofProcess.startServer()
            }
            let done = await applied()
            if done != lastProgress.count {
                lastProgress = (done, ContinuousClock.now)
            } else if done < uniqueCount && ContinuousClock.now - lastProgress.at > .seconds(90) {
                Issue.record("no progress for 90 s at \(done) of \(uniqueCount) effects; see .build/proof-logs/")
                break
            }
            let progress = Double(max(done, 0)) / Double(uniqueCount)
            if kills < killPoints.count && progress >= killPoints[kills] {
                kill(server.processIdentifier, SIGKILL)
                _ = await server.waitForExit(timeout: .seconds(10))
                kills += 1
                server = try ProofProcess.startServer()
            } else if !closedBroker && progress >= 0.45 {
                let closed = try await Self.closeServerConnections()
                closedBroker = closed > 0
            } else if !restartedDatabase && progress >= 0.75 {
                let restart = try ProofProcess.script(["restart-postgres"])
                #expect(restart.status == 0, "\(restart.output)")
                restartedDatabase = true
            }
            if done == uniqueCount && kills == killPoints.count && closedBroker && restartedDatabase {
                if seen.withLock({ $0.count }) >= uniqueCount { break }
            }
            try await Task.sleep(for: .milliseconds(done >= uniqueCount ? 200 : 20))
        }
        #expect(kills == 3)
        #expect(closedBroker)
        #expect(restartedDatabase)

        // Let the relay finish, then look at everything.
        try await Self.waitUntil(deadline: .seconds(60)) {
            let unsent = try? await pool.query(
                "SELECT count(*)::bigint FROM hub.outbox WHERE sent_at IS NULL AND message_type = 'sample.counter.incremented.v1'"
            ).rows.first?.decode(Int.self, at: 0)
            return unsent == 0 && seen.withLock { $0.count } >= uniqueCount
        }

        // Exactly one effect per unique message, per key.
        let rows = try await pool.query("SELECT key, applied FROM sample.counters WHERE key LIKE \(prefix)").rows
        var appliedByKey: [String: Int] = [:]
        for row in rows { appliedByKey[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1) }
        #expect(appliedByKey == expectedApplied, "effects per key differ from the unique commands per key")
        #expect(appliedByKey.values.reduce(0, +) == uniqueCount)

        // Every event published once committed, and seen downstream at least once. Commands carry no correlation
        // id, so each event's correlation id is its command's id.
        let unique = Set(uniqueIDs)
        var eventsPerCommand: [UUID: Int] = [:]
        var unsentEvents = 0
        for row in try await pool.query(
            "SELECT correlation_id, sent_at IS NULL FROM hub.outbox WHERE message_type = 'sample.counter.incremented.v1'"
        ).rows {
            guard let correlation = try row.decode(UUID?.self, at: 0), unique.contains(correlation) else { continue }
            eventsPerCommand[correlation, default: 0] += 1
            if try row.decode(Bool.self, at: 1) { unsentEvents += 1 }
        }
        #expect(eventsPerCommand.count == uniqueCount, "one event per unique command in the outbox")
        #expect(eventsPerCommand.values.allSatisfy { $0 == 1 }, "no command produced two events")
        #expect(unsentEvents == 0, "every event published")
        let missing = Set(uniqueIDs).subtracting(seen.withLock { $0 })
        #expect(missing.isEmpty, "\(missing.count) events never reached the downstream consumer")

        // Nothing left behind, nothing parked.
        try await AMQPSupport.withConnection { connection in
            let names = [Self.queue, "\(Self.queue).parked"] + (1...3).map { "\(Self.queue).retry.\($0)" }
            for name in names {
                let depth = try await connection.queueStatus(name).messageCount
                #expect(depth == 0, "\(name) still holds \(depth) messages")
            }
        }
        let uniqueText = Set(uniqueIDs.map { $0.uuidString.lowercased() })
        let parked = try await pool.query("SELECT message_id FROM hub.parked WHERE queue = \(Self.queue)").rows
            .filter { row in (try? row.decode(String?.self, at: 0)).flatMap { $0 }.map(uniqueText.contains) ?? false }
            .count
        #expect(parked == 0)

        print(
            "fault proof: \(total) published (\(uniqueCount) unique), \(kills) kill -9, broker connections closed,"
                + " PostgreSQL restarted, \(supervisorRestarts) restart(s) after a failed start; effects \(appliedByKey.values.reduce(0, +)), events seen \(seen.withLock { $0.count })"
        )

        kill(server.processIdentifier, SIGTERM)
        #expect(await server.waitForExit(timeout: .seconds(30)), "serve did not stop after SIGTERM")
        await deliveries.stop()
        observer.cancel()
        await pool.close()
        await AMQPSupport.cleanUp(queues: [observerQueue])
    }

    static func command(_ envelope: Envelope) -> AMQPMessage {
        AMQPMessage(envelope: envelope, exchange: Topology.ExchangeName.commands)
    }

    /// Closes, from the broker, every connection of the serving process (their names start with `huitong serve`).
    static func closeServerConnections() async throws -> Int {
        let listing = try await AMQPSupport.rabbitmqctl(["-q", "list_connections", "--no-table-headers", "pid", "client_properties"])
        var closed = 0
        for line in listing.split(separator: "\n") where line.contains("huitong serve") {
            guard let pid = line.split(separator: "\t").first else { continue }
            _ = try? await AMQPSupport.rabbitmqctl(["close_connection", String(pid), "test: broker-side close"])
            closed += 1
        }
        return closed
    }

    static func waitUntil(deadline: Duration, _ condition: () async -> Bool) async throws {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// The `huitong` binary and `deploy/local/servers.sh`, run from the test.
enum ProofProcess {
    struct Result {
        var status: Int32
        var output: String
    }

    static var binary: URL { AMQPSupport.repositoryRoot.appending(path: ".build/debug/huitong") }

    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HUITONG_AMQP_URL"] = AMQPSupport.url
        environment["HUITONG_DATABASE_URL"] = StoreSupport.databaseURL
        environment["HUITONG_LOG_LEVEL"] = "info"
        return environment
    }

    static func run(_ arguments: [String]) throws -> Result {
        try wait(executable: binary, arguments: arguments)
    }

    static func script(_ arguments: [String]) throws -> Result {
        try wait(executable: AMQPSupport.repositoryRoot.appending(path: "deploy/local/servers.sh"), arguments: arguments)
    }

    static func startServer() throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--roles", "sample", "--http-port", "0", "--shutdown-timeout", "10"]
        process.environment = environment
        process.currentDirectoryURL = AMQPSupport.repositoryRoot
        // Each server's log goes to .build/proof-logs/ for the post-mortem of a failed run.
        let directory = AMQPSupport.repositoryRoot.appending(path: ".build/proof-logs")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let logURL = directory.appending(path: "serve-\(Date().timeIntervalSince1970).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        return process
    }

    /// Runs to completion with output in a temporary file, spawning and reaping the child itself.
    ///
    /// Two things went wrong with Foundation's `Process` here: a pipe can be held open by a daemon the child starts
    /// (pg_ctl's postmaster), so reading it to its end never returns; and after `restart-postgres` the exit of the
    /// script was not noticed (the child stayed a zombie and `waitUntilExit` never returned). `posix_spawn` plus
    /// our own `waitpid` avoids both.
    private static func wait(executable: URL, arguments: [String]) throws -> Result {
        let outputPath = FileManager.default.temporaryDirectory.appending(path: "huitong-proof-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable.path, &actions, nil, argv, envp)
        guard spawned == 0 else { throw CLIProofError("posix_spawn \(executable.lastPathComponent) failed: \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Result(status: exitStatus, output: text)
    }
}

struct CLIProofError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Process {
    /// Waits for exit by polling, at most `timeout`; true if it exited.
    func waitForExit(timeout: Duration) async -> Bool {
        let end = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
        return !isRunning
    }
}
