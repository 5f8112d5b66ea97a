import Dispatch
import Foundation
import HubAMQP
import HubCore
import HubStore
public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `huitong demo`: sends synthetic partner traffic at a fixed rate and shows a live one-screen summary of what the
/// hub does with it, until Ctrl-C (or `duration`).
///
/// It watches `hub.events` through its own queue (`demo.<id>.events`, bound to `#`, removed at the end and expiring
/// by itself 30 s after the demo is gone), and asks the database for the parked count. Missing roles show as zeros
/// or "no events yet"; unroutable commands (no payments role) are counted, never fatal.
public struct DemoRunner: Sendable {
    /// How the demo runs.
    public struct Options: Sendable {
        /// Commands per second (default 5).
        public var rate: Double = 5
        /// Stop after this long (default: until Ctrl-C).
        public var duration: Duration?
        /// The traffic seed (default 1: the same traffic every time).
        public var seed: UInt64 = 1
        /// Redraw the screen in place with ANSI codes (default true); false prints a summary every 10 s.
        public var screen: Bool = true
        /// Broker URL.
        public var amqpURL: String
        /// Database URL.
        public var databaseURL: String

        /// Creates options.
        /// - Parameters:
        ///   - amqpURL: Broker URL.
        ///   - databaseURL: Database URL.
        public init(amqpURL: String, databaseURL: String) {
            self.amqpURL = amqpURL
            self.databaseURL = databaseURL
        }
    }

    /// The options.
    public let options: Options
    private let logger: Logger

    /// Creates a demo.
    /// - Parameters:
    ///   - options: The options.
    ///   - logger: The logger.
    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs until Ctrl-C / SIGTERM or the duration.
    /// - Returns: The final board.
    /// - Throws: ``BenchError`` when the broker cannot be reached at start.
    public func run() async throws -> DemoBoard {
        let runID = String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8))
        let amqp: AMQPConfiguration
        let postgres: PostgresConfiguration
        do {
            amqp = try AMQPConfiguration(url: options.amqpURL, connectionName: "huitong demo \(runID)")
            postgres = try PostgresConfiguration(url: options.databaseURL)
        } catch {
            throw BenchError("the broker or database URL is not valid: \(error)", fix: "check HUITONG_AMQP_URL and HUITONG_DATABASE_URL")
        }
        let control: AMQPConnection
        let queue = "demo.\(runID).events"
        do {
            control = try await AMQPConnection.connect(configuration: amqp, logger: logger)
            try await control.declare(
                Topology(
                    exchanges: Topology.hubExchanges,
                    queues: [Topology.Queue(name: queue, kind: .classic, extraArguments: ["x-expires": .int(30_000)])],
                    bindings: [Topology.Binding(queue: queue, exchange: Topology.ExchangeName.events, routingKey: "#")]))
        } catch {
            throw BenchError("broker: \(error)", fix: "start it (deploy/local/servers.sh up) or correct HUITONG_AMQP_URL")
        }
        let stop = StopSignal()
        let signals = stop.trap([SIGINT, SIGTERM])
        let board = SharedBoard(DemoBoard(started: Date()))
        let pool = PostgresPool(configuration: postgres, logger: logger)
        let deadline = options.duration.map { ContinuousClock.now + $0 }

        let deliveries = AMQPConsumer(configuration: amqp, pollInterval: .milliseconds(100), drainTimeout: .seconds(1), logger: logger)
            .consume(queue: queue, prefetch: 500)
        let watcher = Task {
            for try await delivery in deliveries {
                if let envelope = try? Envelope.decode(bytes: delivery.body) {
                    board.withLock { $0.apply(envelope, at: Date()) }
                }
                try await delivery.ack()
            }
        }
        let sender = Task { [options, logger] in
            var traffic = DemoTraffic(seed: options.seed, runID: runID)
            var configuration = amqp
            configuration.connectionName = "huitong demo publisher"
            try await AMQPPublisher.withPublisher(configuration: configuration, logger: logger) { publisher in
                let interval = 1 / max(options.rate, 0.01)
                var next = ContinuousClock.now
                while !Task.isCancelled && !stop.isSet {
                    let (kind, envelope) = try traffic.next()
                    var unroutable = false
                    var failed = false
                    do {
                        try await publisher.publish(AMQPMessage(envelope: envelope, exchange: Topology.ExchangeName.commands))
                    } catch let error as AMQPError where error.code == .unroutable {
                        unroutable = true
                    } catch {
                        failed = true
                    }
                    board.withLock { $0.recordSent(kind, unroutable: unroutable, failed: failed, at: Date()) }
                    next += .milliseconds(Int(interval * 1_000))
                    if next > .now { try? await Task.sleep(until: next) } else { next = .now }
                }
            }
        }
        var lastParkedCheck = ContinuousClock.now - .seconds(10)
        var lastPrint = ContinuousClock.now
        if options.screen { write("\u{1B}[2J") }
        while !stop.isSet {
            if let deadline, ContinuousClock.now >= deadline { break }
            if ContinuousClock.now - lastParkedCheck >= .seconds(2) {
                lastParkedCheck = .now
                let parked = try? await pool.query("SELECT count(*)::int8 FROM hub.parked WHERE redriven_at IS NULL")
                    .rows.first?.decode(Int64.self, at: 0)
                board.withLock { $0.parked = parked.map { Int($0) } }
            }
            let lines = board.withLock { $0.render(now: Date()) }
            if options.screen {
                write("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J")
            } else if ContinuousClock.now - lastPrint >= .seconds(10) {
                lastPrint = .now
                write(lines.joined(separator: "\n") + "\n\n")
            }
            try? await Task.sleep(for: .seconds(1))
        }
        // Graceful stop: no more commands, stop watching, remove the queue.
        stop.set()
        sender.cancel()
        _ = try? await sender.value
        await deliveries.stop()
        watcher.cancel()
        _ = try? await control.deleteQueue(queue)
        await control.close()
        await pool.close()
        signals.forEach { $0.cancel() }
        let final = board.withLock { $0 }
        write((options.screen ? "\u{1B}[H\u{1B}[J" : "") + final.render(now: Date()).joined(separator: "\n") + "\n")
        write("demo stopped.\n")
        return final
    }
}

private func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// The board shared by the watcher, the sender and the screen.
final class SharedBoard: Sendable {
    private let state: Mutex<DemoBoard>
    init(_ board: DemoBoard) { state = Mutex(board) }
    func withLock<Result: Sendable>(_ body: (inout DemoBoard) -> Result) -> Result { state.withLock { body(&$0) } }
}

/// A flag set by SIGINT/SIGTERM (or by the demo itself).
final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() { flag.store(true, ordering: .releasing) }

    /// Replaces the signals' default action by setting the flag.
    func trap(_ signals: [Int32]) -> [any DispatchSourceSignal] {
        signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in set() }
            source.resume()
            return source
        }
    }
}
