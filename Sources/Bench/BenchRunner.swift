import Foundation
import HubAMQP
import HubCore
import HubStore
public import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Opens a connection for one piece of control work and closes it.
struct BrokerControl: Sendable {
    let configuration: AMQPConfiguration
    let logger: Logger

    func with<Result: Sendable>(_ body: (AMQPConnection) async throws -> Result) async throws -> Result {
        let connection = try await AMQPConnection.connect(configuration: configuration, logger: logger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }
}

/// Runs one `huitong bench`: migrate, declare, (ceilings), publish, run the hub roles as child processes, wait
/// for every completion event, measure, verify, stop the children, report.
///
/// The hub roles run as `huitong serve --roles <role> --http-port 0`, one process per role, so CPU and memory are
/// per role. Everything the bench creates is named `bench.<run>…` (its event queue, the ceiling queues) or keyed
/// by the run id, and removed at the end; it counts only messages whose correlation id is one of its commands, so
/// it can share a broker and a database with other work.
public struct BenchRunner: Sendable {
    /// The options.
    public let options: BenchOptions
    private let logger: Logger

    /// Creates a runner.
    /// - Parameters:
    ///   - options: What to run.
    ///   - logger: The logger for connection events.
    public init(options: BenchOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    private var wall: Double { Date().timeIntervalSince1970 }

    /// Runs the benchmark.
    /// - Returns: The report; check `verification.passed`.
    /// - Throws: ``BenchError`` when the run could not be carried out at all (servers unreachable, a role that
    ///   does not start, …).
    public func run() async throws -> BenchReport {
        let workload = options.workload
        let runID = String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8))
        let directory = "\(options.logDirectory)/\(runID)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var environment = options.environment
        environment["HUITONG_AMQP_URL"] = options.amqpURL
        environment["HUITONG_DATABASE_URL"] = options.databaseURL
        environment["HUITONG_LOG_LEVEL"] = options.childLogLevel
        // The roles run with the lanes and batch size the database ceiling is measured with.
        environment["HUITONG_CONSUMER_LANES"] = String(options.runtimeLanes)
        environment["HUITONG_CONSUMER_BATCH_SIZE"] = String(options.runtimeBatchSize)
        for (key, value) in workload.environment { environment[key] = value }
        let amqp: AMQPConfiguration
        let postgres: PostgresConfiguration
        do {
            amqp = try AMQPConfiguration(url: options.amqpURL, connectionName: "huitong bench \(runID)")
            postgres = try PostgresConfiguration(url: options.databaseURL)
        } catch {
            throw BenchError("the broker or database URL is not valid: \(error)", fix: "check HUITONG_AMQP_URL and HUITONG_DATABASE_URL")
        }

        // 1. Schema and topology through the binary itself (it knows every role's queues).
        try await runTool(["migrate"], environment: environment, log: "\(directory)/migrate.log")
        let workloadQueues = try Self.queues(
            in: try await runTool(
                ["topology", "declare", "--dry-run", "--roles", workload.roles.joined(separator: ",")],
                environment: environment, log: "\(directory)/topology-dry-run.log"))
        let allQueues = try Self.queues(
            in: try await runTool(
                ["topology", "declare", "--roles", options.roles.joined(separator: ",")],
                environment: environment, log: "\(directory)/topology.log"))
        guard let queue = workloadQueues.first(where: Self.isConsumerQueue) else {
            throw BenchError("the roles \(workload.roles) declare no consumer queue", fix: "check the workload's roles")
        }

        let pool = PostgresPool(configuration: postgres, logger: logger)
        // Short-lived connections for control work: a connection left idle during a long run would miss its
        // heartbeats (rabbitmq-c sends them only inside library calls).
        let control = BrokerControl(configuration: amqp, logger: logger)
        do {
            try await control.with { _ in }
        } catch {
            await pool.close()
            throw BenchError("broker: \(error)", fix: "start it (deploy/local/servers.sh up) or correct HUITONG_AMQP_URL")
        }
        // Queues of roles this run does not start still receive its messages when they exist in the vhost (a tap
        // bound to `#` from an earlier full run, an adapter's command queue): the broker's work for them is then in
        // the figures, and their backlog grows. Say so in the report.
        let everyQueue = try Self.queues(
            in: try await runTool(
                ["topology", "declare", "--dry-run", "--roles", "all"],
                environment: environment, log: "\(directory)/topology-all-dry-run.log"))
        let bystanders = await Self.existingQueues(
            everyQueue.filter { Self.isConsumerQueue($0) && !allQueues.contains($0) }, control: control)
        var children: [ChildProcess] = []
        let eventQueue = "bench.\(runID).events"
        do {
            var report = try await measure(
                runID: runID, directory: directory, environment: environment, amqp: amqp, pool: pool,
                control: control, queue: queue, allQueues: allQueues, eventQueue: eventQueue, children: &children)
            if !bystanders.isEmpty {
                let list = bystanders.map { "\($0.name) (\($0.messages) messages before the run)" }.joined(separator: ", ")
                report.notes.insert(
                    "queues of roles not in this run exist in this vhost and received its messages: \(list); the "
                        + "broker's work for them is in the figures — measure in a vhost of its own "
                        + "(deploy/local/servers.sh scratch NAME)", at: 0)
            }
            await stop(children)
            _ = try? await control.with { try await $0.deleteQueue(eventQueue) }
            await pool.close()
            return try await withChildExitChecks(report, children: children)
        } catch {
            await stop(children)
            _ = try? await control.with { try await $0.deleteQueue(eventQueue) }
            await pool.close()
            throw error
        }
    }

    private func stop(_ children: [ChildProcess]) async {
        await withTaskGroup(of: Void.self) { group in
            for child in children { group.addTask { await child.terminate(timeout: .seconds(40)) } }
        }
    }

    private func withChildExitChecks(_ report: BenchReport, children: [ChildProcess]) async throws -> BenchReport {
        var report = report
        for child in children {
            let status = child.exitStatus ?? -1
            if status == 0 {
                report.verification.checks.append("\(child.name) stopped gracefully (exit 0)")
            } else {
                report.verification.problems.append("\(child.name) exited with status \(status); see \(child.logPath)")
            }
        }
        report.verification.passed = report.verification.problems.isEmpty
        return report
    }

    // MARK: The measured part

    private func measure(
        runID: String, directory: String, environment: [String: String], amqp: AMQPConfiguration, pool: PostgresPool,
        control: BrokerControl, queue: String, allQueues: [String], eventQueue: String, children: inout [ChildProcess]
    ) async throws -> BenchReport {
        let workload = options.workload
        var notes: [String] = []

        // 2. Commands, in publication order.
        let order = BenchPlan.order(count: options.count, ratio: options.duplicateRatio)
        let unique = (order.max() ?? -1) + 1
        guard unique > 0 else { throw BenchError("nothing to publish", fix: "use -n 1 or more") }
        var envelopes: [Envelope] = []
        envelopes.reserveCapacity(unique)
        for index in 0..<unique { envelopes.append(try workload.makeCommand(runID, index, options.bodyBytes)) }
        let messages = envelopes.map { AMQPMessage(envelope: $0, exchange: Topology.ExchangeName.commands) }
        let meanBody = messages.reduce(0) { $0 + $1.body.count } / unique
        let ids = envelopes.map { "\($0.id)".lowercased() }

        // 3. Ceilings first, so they do not compete with the hub.
        var ceilingRates: (relay: Double, database: Double, count: Int)?
        if options.ceiling {
            let count = options.ceilingCount ?? min(options.count, 20_000)
            progress("ceiling: broker relay, \(count) messages…")
            let relay = try await Ceiling.relay(
                amqp: amqp, runID: runID, count: count, bodyBytes: meanBody, batchSize: options.runtimeBatchSize,
                logger: logger)
            progress("ceiling: database commits, \(count) messages…")
            let database = try await Ceiling.database(
                pool: pool, runID: runID, count: count, bodyBytes: meanBody, batchSize: options.runtimeBatchSize,
                lanes: options.runtimeLanes)
            ceilingRates = (relay, database, count)
        }

        // 4. The bench's own event queue: the completion and failure events of this run.
        let eventTypes = [workload.completionEventType] + workload.failureEventTypes
        try await control.with { connection in
            try await connection.declare(
            Topology(
                queues: [Topology.Queue(name: eventQueue, kind: .classic, extraArguments: ["x-expires": .int(600_000)])],
                bindings: eventTypes.map {
                    Topology.Binding(
                        queue: eventQueue, exchange: Topology.ExchangeName.events,
                        routingKey: BenchWorkload.routingKey(of: $0))
                }))
        }
        let collector = EventCollector(
            expected: Set(ids), completionType: workload.completionEventType,
            failureTypes: workload.failureEventTypes)
        let deliveries = AMQPConsumer(
            configuration: amqp, pollInterval: .milliseconds(50), drainTimeout: .seconds(2), logger: logger
        ).consume(queue: eventQueue, prefetch: 2_000)
        let listener = Task {
            var count = 0
            for try await delivery in deliveries {
                collector.record(delivery, at: Date().timeIntervalSince1970)
                count += 1
                if count % 200 == 0 { try await delivery.ack(multiple: true) }
            }
        }
        defer { listener.cancel() }

        // 5. Publish and run the roles — alone: another consumer of the workload queue (another bench, a `make run`
        // hub) would take some of the commands and the run would fail its checks for a reason that is not the hub's.
        try await refuseIfConsumed(queue: queue, control: control)
        var meters = makeMeters()
        var publishing: Task<PublishResult, any Error>?
        var meterStart = wall
        let mode = options.rate != nil ? "rate" : options.mode.rawValue
        if options.mode == .preloaded && options.rate == nil {
            progress("publishing \(order.count) commands…")
            publishing = Task { [self] in try await publish(messages, order: order, unique: unique, amqp: amqp) }
            _ = try await publishing?.value
            for meter in meters { meter.begin() }
            meterStart = wall
            try await startRoles(environment: environment, directory: directory, into: &children)
            meters.insert(contentsOf: children.map { child in
                let pid = child.pid
                let meter = ProcessGroupMeter(name: child.name, pids: { [pid] })
                meter.begin()
                return meter
            }, at: 0)
        } else {
            try await startRoles(environment: environment, directory: directory, into: &children)
            try await waitForConsumer(queue: queue, control: control)
            meters.insert(contentsOf: children.map { child in
                let pid = child.pid
                return ProcessGroupMeter(name: child.name, pids: { [pid] })
            }, at: 0)
            for meter in meters { meter.begin() }
            meterStart = wall
            publishing = Task { [self] in try await publish(messages, order: order, unique: unique, amqp: amqp) }
        }

        // 6. Wait for every command's completion (or failure), watching for stalls and dead children.
        var problems: [String] = []
        var lastDone = 0
        var lastChange = ContinuousClock.now
        var lastSample = ContinuousClock.now
        while true {
            let done = collector.completed + collector.failedCount
            if done >= unique { break }
            if done != lastDone {
                lastDone = done
                lastChange = .now
            }
            if let dead = children.first(where: { $0.exitStatus != nil }) {
                problems.append("\(dead.name) exited during the run (status \(dead.exitStatus ?? -1)): \(dead.logTail(lines: 2))")
                break
            }
            if ContinuousClock.now - lastChange > options.stallTimeout {
                problems.append("no completion event for \(options.stallTimeout); \(unique - done) of \(unique) commands unfinished")
                break
            }
            if ContinuousClock.now - lastSample > .milliseconds(500) {
                for meter in meters { meter.sample() }
                lastSample = .now
                drawProgress(done: done, total: unique, since: meterStart)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let meterEnd = wall
        drawProgress(done: collector.completed + collector.failedCount, total: unique, since: meterStart, final: true)
        let published = try await publishing?.value ?? PublishResult(times: [], seconds: 0)
        let usages = meters.map { $0.finish(seconds: meterEnd - meterStart) }
        await deliveries.stop()
        listener.cancel()

        // 7. Timings from the database: when each command was handled (hub.inbox.received_at).
        let snapshot = collector.snapshot
        let handled = try await handledTimes(pool: pool, queue: queue, ids: ids)
        var publishToHandled: [Double] = []
        var handledToEvent: [Double] = []
        var endToEnd: [Double] = []
        for (index, id) in ids.enumerated() {
            let sent = index < published.times.count ? published.times[index] : 0
            if let handledAt = handled[id] {
                if sent > 0 { publishToHandled.append(max(0, handledAt - sent) * 1_000) }
                if let arrived = snapshot.arrivals[id] { handledToEvent.append(max(0, arrived - handledAt) * 1_000) }
            }
            if sent > 0, let arrived = snapshot.arrivals[id] { endToEnd.append((arrived - sent) * 1_000) }
        }
        var hops: [BenchReport.Hop] = []
        func hop(_ name: String, _ values: [Double]) {
            if let summary = LatencySummary(milliseconds: values) { hops.append(.init(name: name, latency: summary)) }
        }
        hop("end to end", endToEnd)
        hop("publish → handled", publishToHandled)
        hop("handled → event received", handledToEvent)
        // The taps may lag behind the completion events: let every queue of the roles drain (as long as it makes
        // progress) before the audit read and the checks, and say how long that took.
        let drainStarted = ContinuousClock.now
        _ = try await drainQueues(allQueues, control: control)
        let drainSeconds = (ContinuousClock.now - drainStarted).seconds
        if drainSeconds >= 1 {
            notes.append(String(format: "the roles' queues drained %.1f s after the last completion event (taps lagging)", drainSeconds))
        }
        if options.taps {
            let audited = try await auditTimes(pool: pool, eventIDs: snapshot.eventIDs)
            if let audited {
                var eventToAudit: [Double] = []
                for (correlation, arrived) in snapshot.arrivals {
                    if let at = audited[correlation] { eventToAudit.append((at - arrived) * 1_000) }
                }
                hop("event → audited", eventToAudit)
                notes.append("event → audited compares audit.records time with the bench's receipt of the event (may be negative)")
            } else {
                notes.append("no audit.records table with message_id and a time column: the audit hop is not measured")
            }
        }
        if mode == "preloaded" {
            notes.append("pre-loaded: latencies include the time commands waited in the queue before the roles started; use --rate for latency")
        }
        if mode == "live" {
            notes.append("live closed loop: the bench publishes as fast as confirms allow, so latencies include queueing; use --rate for latency")
        }
        notes.append("broker and database CPU include every other client of those servers during the window")

        let firstHandled = handled.values.min() ?? meterStart
        let window = max(1e-9, snapshot.lastArrival - firstHandled)
        let throughput = snapshot.lastArrival > 0 ? Double(snapshot.arrivals.count) / window : 0

        // 8. Correctness.
        var checks: [String] = []
        problems += try await verify(
            runID: runID, pool: pool, control: control, queue: queue, allQueues: allQueues, ids: ids, snapshot: snapshot,
            handledCount: handled.count, checks: &checks)

        var ceiling: BenchReport.Ceiling?
        if let ceilingRates {
            ceiling = BenchReport.Ceiling(
                relayPerSecond: ceilingRates.relay, databasePerSecond: ceilingRates.database,
                messages: ceilingRates.count, hubShareOfRelay: throughput / ceilingRates.relay,
                hubShareOfDatabase: throughput / ceilingRates.database)
        }
        return BenchReport(
            machine: .current(binary: options.binary), runID: runID, workload: workload.name, mode: mode, roles: options.roles, taps: options.taps,
            lanes: options.runtimeLanes, batchSize: options.runtimeBatchSize,
            published: order.count, unique: unique, duplicates: order.count - unique, meanBodyBytes: meanBody,
            offeredRate: options.rate,
            publishPerSecond: published.seconds > 0 ? Double(order.count) / published.seconds : 0,
            throughputPerSecond: throughput, windowSeconds: snapshot.lastArrival > 0 ? window : 0, hops: hops,
            processes: usages, ceiling: ceiling,
            verification: .init(passed: problems.isEmpty, problems: problems, checks: checks), notes: notes)
    }

    private func makeMeters() -> [ProcessGroupMeter] {
        let me = getpid()
        return [
            ProcessGroupMeter(name: "broker (beam.smp)", pids: { ProcFS.pids(named: ["beam.smp"]) }),
            ProcessGroupMeter(name: "database (postgres)", pids: { ProcFS.pids(named: ["postgres"]) }),
            ProcessGroupMeter(name: "bench (this process)", pids: { [me] }),
        ]
    }

    // MARK: Publishing

    struct PublishResult: Sendable {
        /// Per unique command: when it was (first) published, or, in rate mode, when it was scheduled to be.
        var times: [Double]
        /// How long publishing took.
        var seconds: Double
    }

    /// Publishes in order with confirms. Closed loop: chunks of 256 as fast as confirms come back. Open loop
    /// (`rate`): each message has an intended send time `start + i / rate`; whatever is due is published at once,
    /// and latency counts from the intended time, so a publisher that falls behind shows up as latency instead of
    /// lowering the offered load (no coordinated omission).
    private func publish(_ messages: [AMQPMessage], order: [Int], unique: Int, amqp: AMQPConfiguration) async throws
        -> PublishResult
    {
        var configuration = amqp
        configuration.connectionName = "huitong bench publisher"
        return try await AMQPPublisher.withPublisher(configuration: configuration, logger: logger) { publisher in
            var times = [Double](repeating: 0, count: unique)
            let started = Date().timeIntervalSince1970
            var position = 0
            while position < order.count {
                let end: Int
                var stamp = Date().timeIntervalSince1970
                if let rate = options.rate {
                    let next = started + 0.05 + Double(position) / rate
                    if next > stamp { try await Task.sleep(for: .microseconds(Int((next - stamp) * 1_000_000))) }
                    stamp = Date().timeIntervalSince1970
                    let due = Int(((stamp - started - 0.05) * rate).rounded(.down)) + 1
                    end = min(order.count, max(position + 1, due))
                } else {
                    end = min(order.count, position + 256)
                }
                let slice = order[position..<end]
                for (offset, index) in slice.enumerated() where times[index] == 0 {
                    times[index] = options.rate.map { started + 0.05 + Double(position + offset) / $0 } ?? stamp
                }
                var batch = slice.map { messages[$0] }
                for attempt in 1...5 {
                    let outcomes = try await publisher.publish(batch: batch, window: 256)
                    batch = zip(batch, outcomes).compactMap { message, outcome in
                        if case .failure = outcome { message } else { nil }
                    }
                    if batch.isEmpty { break }
                    if attempt == 5 {
                        throw BenchError("the broker did not confirm \(batch.count) commands after 5 attempts")
                    }
                }
                position = end
            }
            return PublishResult(times: times, seconds: Date().timeIntervalSince1970 - started)
        }
    }

    // MARK: Roles

    private func startRoles(environment: [String: String], directory: String, into children: inout [ChildProcess])
        async throws
    {
        for role in options.roles {
            let child = try ChildProcess.spawn(
                executable: options.binary,
                arguments: ["serve", "--roles", role, "--http-port", "0", "--shutdown-timeout", "30"],
                environment: environment, logPath: "\(directory)/serve-\(role).log", name: "serve \(role)")
            children.append(child)
        }
        progress("waiting for \(options.roles.joined(separator: ", ")) to be ready…")
        for child in children {
            let deadline = ContinuousClock.now + .seconds(120)
            var ready = false
            while ContinuousClock.now < deadline {
                if let status = child.exitStatus {
                    throw BenchError(
                        "\(child.name) exited at start-up (status \(status)): \(child.logTail(lines: 2))",
                        fix: "see \(child.logPath)")
                }
                let log = (try? String(contentsOfFile: child.logPath, encoding: .utf8)) ?? ""
                if let port = HTTPProbe.listeningPort(in: log), HTTPProbe.status(port: port, path: "/readyz") == 200 {
                    ready = true
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            guard ready else {
                throw BenchError("\(child.name) was not ready within 120 s", fix: "see \(child.logPath)")
            }
        }
    }

    /// Fails when something already consumes the workload queue.
    private func refuseIfConsumed(queue: String, control: BrokerControl) async throws {
        let consumers = try await control.with { connection in try await connection.queueStatus(queue).consumerCount }
        guard consumers == 0 else {
            throw BenchError(
                "\(queue) already has \(consumers) consumer(s): another bench or a running hub would take part of the run",
                fix: "stop the other consumer (huitong serve, make run, another bench), or run on a vhost of its own")
        }
    }

    /// /readyz does not cover consumers: wait until the workload queue has one.
    private func waitForConsumer(queue: String, control: BrokerControl) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        let found = try await control.with { connection in
            while ContinuousClock.now < deadline {
                if try await connection.queueStatus(queue).consumerCount > 0 { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        if found { return }
        throw BenchError("no consumer on \(queue) 30 s after the roles were ready", fix: "see the serve logs")
    }

    // MARK: Database reads

    /// hub.inbox.received_at (the handling transaction's start) per command id, seconds since 1970.
    private func handledTimes(pool: PostgresPool, queue: String, ids: [String]) async throws -> [String: Double] {
        var result: [String: Double] = [:]
        for chunk in stride(from: 0, to: ids.count, by: 5_000).map({ ids[$0..<min($0 + 5_000, ids.count)] }) {
            let list = chunk.joined(separator: ",")
            let rows = try await pool.query(
                """
                SELECT message_id::text, (extract(epoch FROM received_at) * 1000000)::int8 FROM hub.inbox \
                WHERE consumer = \(queue) AND message_id = ANY(string_to_array(\(list), ',')::uuid[])
                """
            ).rows
            for row in rows {
                result[try row.decode(String.self, at: 0).lowercased()] = Double(try row.decode(Int64.self, at: 1)) / 1e6
            }
        }
        return result
    }

    /// The audit time of each completion event, by the command's correlation id, if the audit tap's table exists
    /// (`audit.records` with `message_id` and one of `recorded_at`, `received_at`, `created_at`, `appended_at`).
    private func auditTimes(pool: PostgresPool, eventIDs: [String: String]) async throws -> [String: Double]? {
        let columns = try await pool.query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'audit' AND table_name = 'records'"
        ).rows.map { try $0.decode(String.self, at: 0) }
        guard columns.contains("message_id"),
            let timeColumn = ["recorded_at", "received_at", "created_at", "appended_at"].first(where: columns.contains)
        else { return nil }
        let column = try SQLIdentifier(timeColumn)
        var byEvent: [String: String] = [:]
        for (correlation, event) in eventIDs { byEvent[event.lowercased()] = correlation }
        var result: [String: Double] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        let events = Array(byEvent.keys)
        repeat {
            for chunk in stride(from: 0, to: events.count, by: 5_000).map({ events[$0..<min($0 + 5_000, events.count)] }) {
                let list = chunk.joined(separator: ",")
                var sql = PostgresQuery.StringInterpolation(literalCapacity: 200, interpolationCount: 2)
                sql.appendLiteral("SELECT message_id::text, (extract(epoch FROM min(")
                sql.appendInterpolation(column)
                sql.appendLiteral(")) * 1000000)::int8 FROM audit.records WHERE message_id::text = ANY(string_to_array(")
                sql.appendInterpolation(list)
                sql.appendLiteral(", ',')) GROUP BY message_id")
                for row in try await pool.query(PostgresQuery(stringInterpolation: sql)).rows {
                    if let correlation = byEvent[try row.decode(String.self, at: 0).lowercased()] {
                        result[correlation] = Double(try row.decode(Int64.self, at: 1)) / 1e6
                    }
                }
            }
            if result.count >= events.count { break }
            try await Task.sleep(for: .seconds(1))
        } while ContinuousClock.now < deadline
        return result
    }

    // MARK: Verification

    private func verify(
        runID: String, pool: PostgresPool, control: BrokerControl, queue: String, allQueues: [String], ids: [String],
        snapshot: EventCollector.State, handledCount: Int, checks: inout [String]
    ) async throws -> [String] {
        let workload = options.workload
        let unique = ids.count
        var problems: [String] = []
        func check(_ ok: Bool, _ passed: String, _ failed: @autoclosure () -> String) {
            if ok { checks.append(passed) } else { problems.append(failed()) }
        }
        check(
            snapshot.arrivals.count == unique,
            "\(unique)/\(unique) commands completed by one \(workload.completionEventType)",
            "\(unique - snapshot.arrivals.count) of \(unique) commands have no \(workload.completionEventType)")
        if !snapshot.failures.isEmpty {
            let reasons = snapshot.failures.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
            problems.append("\(snapshot.failed.count) commands failed: \(reasons.joined(separator: ", "))")
        }
        check(
            handledCount == unique, "hub.inbox has \(unique)/\(unique) command ids for \(queue)",
            "hub.inbox has \(handledCount) of \(unique) command ids for \(queue)")
        if snapshot.duplicates > 0 {
            checks.append("\(snapshot.duplicates) completion events arrived twice (at-least-once relay; effects checked below)")
        }
        // Outbox: every event of the run published, and exactly one completion event per command (one effect).
        let list = ids.joined(separator: ",")
        let deadline = ContinuousClock.now + .seconds(15)
        var unsent: Int64 = 0
        var completions: Int64 = 0
        repeat {
            let row = try await pool.query(
                """
                SELECT count(*) FILTER (WHERE sent_at IS NULL)::int8, \
                count(*) FILTER (WHERE message_type = \(workload.completionEventType))::int8 \
                FROM hub.outbox WHERE correlation_id = ANY(string_to_array(\(list), ',')::uuid[])
                """
            ).rows.first
            unsent = try row?.decode(Int64.self, at: 0) ?? 0
            completions = try row?.decode(Int64.self, at: 1) ?? 0
            if unsent == 0 { break }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        check(unsent == 0, "hub.outbox: every event of the run sent", "hub.outbox: \(unsent) events of the run not sent")
        check(
            completions == Int64(unique), "hub.outbox: \(completions) \(workload.completionEventType) for \(unique) commands",
            "hub.outbox: \(completions) \(workload.completionEventType) for \(unique) commands (expected exactly one each)")
        let parked = try await pool.query(
            """
            SELECT count(*)::int8 FROM hub.parked \
            WHERE correlation_id = ANY(string_to_array(\(list), ',')) OR message_id = ANY(string_to_array(\(list), ','))
            """
        ).rows.first?.decode(Int64.self, at: 0) ?? 0
        check(parked == 0, "hub.parked: nothing of the run parked", "hub.parked: \(parked) messages of the run parked")
        // Queues: the roles' queues (consumer, retry, parking) drained (waited for before the checks).
        let busy = try await drainQueues(allQueues, control: control, patience: .seconds(5))
        check(
            busy.isEmpty, "queues empty: \(allQueues.count) queues of \(options.roles.joined(separator: ", "))",
            "queues not empty: \(busy.joined(separator: ", "))")
        let effects = try await workload.checkEffects(pool, runID, unique)
        check(effects.isEmpty, "\(workload.name): one effect per unique command", effects.joined(separator: "; "))
        return problems
    }

    /// Waits until every queue is empty, as long as their total depth keeps falling within `patience`
    /// (default: the stall timeout). Returns the queues still holding messages (`name: count`).
    private func drainQueues(_ queues: [String], control: BrokerControl, patience: Duration? = nil) async throws
        -> [String]
    {
        let patience = patience ?? options.stallTimeout
        var best = Int.max
        var lastProgress = ContinuousClock.now
        while true {
            let depths = try await control.with { connection in
                var depths: [(String, Int)] = []
                for name in queues { depths.append((name, Int(try await connection.queueStatus(name).messageCount))) }
                return depths
            }
            let total = depths.reduce(0) { $0 + $1.1 }
            if total == 0 { return [] }
            if total < best {
                best = total
                lastProgress = .now
            }
            if ContinuousClock.now - lastProgress > patience {
                return depths.filter { $0.1 > 0 }.map { "\($0.0): \($0.1)" }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    // MARK: Tools

    @discardableResult
    private func runTool(_ arguments: [String], environment: [String: String], log: String) async throws -> String {
        let result = try await ChildProcess.run(
            executable: options.binary, arguments: arguments, environment: environment, logPath: log)
        guard result.status == 0 else {
            let last = result.output.split(separator: "\n").last.map(String.init) ?? ""
            throw BenchError("huitong \(arguments.prefix(2).joined(separator: " ")) failed: \(last)", fix: "see \(log)")
        }
        return result.output
    }

    /// The queue names in `topology declare` output (`queue    NAME (kind) …`).
    static func queues(in output: String) throws -> [String] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            return words.count >= 2 && words[0] == "queue" ? String(words[1]) : nil
        }
    }

    static func isConsumerQueue(_ name: String) -> Bool { !name.contains(".retry.") && !name.hasSuffix(".parked") }

    /// Those of `names` that exist, with their ready messages (a passive declare each, on its own connection,
    /// because the broker closes the channel of a passive declare that finds nothing).
    static func existingQueues(_ names: [String], control: BrokerControl) async -> [(name: String, messages: UInt32)] {
        var found: [(name: String, messages: UInt32)] = []
        for name in names {
            if let status = try? await control.with({ try await $0.queueStatus(name) }) {
                found.append((name, status.messageCount))
            }
        }
        return found
    }

    // MARK: Progress

    private func progress(_ text: String) {
        guard options.showProgress else { return }
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }

    private func drawProgress(done: Int, total: Int, since start: Double, final: Bool = false) {
        guard options.showProgress else { return }
        let width = 30
        let filled = total > 0 ? min(width, done * width / total) : width
        let elapsed = max(0.001, Date().timeIntervalSince1970 - start)
        let line = "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] "
            + "\(done)/\(total) completed  \(Int(Double(done) / elapsed)) msg/s  \(String(format: "%.1f", elapsed)) s"
        FileHandle.standardError.write(Data((line + (final ? "\n" : "")).utf8))
    }
}
