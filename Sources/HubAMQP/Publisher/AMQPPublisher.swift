public import HubCore
public import Logging

/// Publishes persistent messages with publisher confirms on its own connection, and survives connection loss.
///
/// ``publish(_:)`` returns only after the broker's `basic.ack`. When the connection dies, every unconfirmed publish
/// fails with `connectionLost` (the caller republishes: at-least-once, never a silent drop); the next publish
/// reconnects after a backoff (≥ 0.5 s), re-declares the topology and goes on. A `basic.nack` fails with `nacked`
/// and the channel is reopened. Run ``run()`` (or use ``withPublisher(configuration:topology:logger:_:)``) so that
/// heartbeats are sent while the publisher is idle.
public actor AMQPPublisher {
    private let configuration: AMQPConfiguration
    private let topology: Topology
    private let logger: Logger
    private var connection: AMQPConnection?
    private var connecting: Task<AMQPConnection, any Error>?
    private var failedAttempts = 0
    private var lastFailure: ContinuousClock.Instant?
    private var closed = false

    /// Creates a publisher; it connects on first use.
    /// - Parameters:
    ///   - configuration: The broker to publish to.
    ///   - topology: Declared on every (re)connection before publishing (default: nothing).
    ///   - logger: The logger for connection events.
    public init(configuration: AMQPConfiguration, topology: Topology = Topology(), logger: Logger) {
        self.configuration = configuration
        self.topology = topology
        self.logger = logger
    }

    /// Runs a publisher for the duration of `body`, with heartbeats serviced, and closes it afterwards.
    /// - Parameters:
    ///   - configuration: The broker.
    ///   - topology: The topology to declare on every connection (default: nothing).
    ///   - logger: The logger.
    ///   - body: The work that publishes.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    public static func withPublisher<Result: Sendable>(
        configuration: AMQPConfiguration,
        topology: Topology = Topology(),
        logger: Logger,
        _ body: (AMQPPublisher) async throws -> Result
    ) async throws -> Result {
        let publisher = AMQPPublisher(configuration: configuration, topology: topology, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await publisher.run() }
            do {
                let result = try await body(publisher)
                group.cancelAll()
                await publisher.close()
                return result
            } catch {
                group.cancelAll()
                await publisher.close()
                throw error
            }
        }
    }

    /// Services heartbeats while idle (and notices a dead connection early) until the task is cancelled, then
    /// closes the connection.
    /// - Throws: Never in practice: connection errors are logged at debug level and lead to a reconnect on next use.
    public func run() async throws {
        while !Task.isCancelled && !closed {
            let interval: Duration = configuration.heartbeatSeconds > 0
                ? .milliseconds(min(1_000, configuration.heartbeatSeconds * 1_000 / 4)) : .seconds(1)
            try? await Task.sleep(for: interval)
            guard let connection, !Task.isCancelled else { continue }
            do {
                try await connection.tick()
            } catch {
                logger.debug("amqp publisher connection lost while idle", metadata: ["error.type": "\(error.amqpErrorType)"])
                await drop(connection)
            }
        }
        await close()
    }

    /// Closes the connection; later publishes fail with `connectionLost`.
    public func close() async {
        closed = true
        connecting?.cancel()
        if let connection {
            self.connection = nil
            await connection.close()
        }
    }

    /// Publishes one message and waits for the broker's confirm.
    /// - Parameter message: The message (published persistent; mandatory unless the message says otherwise).
    /// - Throws: ``AMQPError``: `nacked`, `unroutable`, `connectionLost` (republish), `timeout` (republish),
    ///   `channelClosed` (e.g. the exchange does not exist), or a connection error (`brokerUnreachable`,
    ///   `authenticationFailed`, …) when reconnecting failed.
    public func publish(_ message: AMQPMessage) async throws {
        let outcomes = try await publish(batch: [message], window: 1)
        if case .failure(let error) = outcomes[0] { throw error }
    }

    /// Publishes messages in windows of `window` unconfirmed messages and reports each one's outcome.
    /// - Parameters:
    ///   - batch: The messages, published in order.
    ///   - window: How many unconfirmed messages may be in flight (default 256).
    /// - Returns: One result per message, in order; success means confirmed by the broker.
    /// - Throws: ``AMQPError`` only when no connection could be opened (then nothing was published).
    public func publish(batch: [AMQPMessage], window: Int = 256) async throws -> [Result<Void, AMQPError>] {
        guard !batch.isEmpty else { return [] }
        let connection = try await currentConnection()
        let outcomes = await connection.publish(batch, window: window)
        if !(await connection.isOpen) {
            let lost = outcomes.filter { if case .failure = $0 { true } else { false } }.count
            logger.info("amqp publisher connection lost", metadata: ["amqp.unconfirmed": "\(lost)"])
            await drop(connection)
        }
        return outcomes
    }

    /// Declares more topology on the publisher's connection (and on every later reconnection it is not repeated).
    /// - Parameter topology: The objects.
    /// - Throws: ``AMQPError`` as ``AMQPConnection/declare(_:)``.
    public func declare(_ topology: Topology) async throws {
        try await currentConnection().declare(topology)
    }

    private func drop(_ dead: AMQPConnection) async {
        if connection === dead { connection = nil }
        lastFailure = .now
        failedAttempts = max(failedAttempts, 1)
        await dead.close()
    }

    private func currentConnection() async throws -> AMQPConnection {
        if closed { throw AMQPError(.connectionLost, "the publisher is closed") }
        if let connection { return connection }
        if let connecting { return try await connecting.value }
        let task = Task { [configuration, topology, logger, failedAttempts, lastFailure] in
            if failedAttempts > 0, let lastFailure {
                let wait = configuration.reconnect.delay(attempt: failedAttempts) - (ContinuousClock.now - lastFailure)
                if wait > .zero { try await Task.sleep(for: wait) }
            }
            let connection = try await AMQPConnection.connect(configuration: configuration, logger: logger)
            do {
                try await connection.declare(topology)
                try await connection.enableConfirms()
            } catch {
                await connection.close()
                throw error
            }
            return connection
        }
        connecting = task
        defer { connecting = nil }
        do {
            let connection = try await task.value
            if failedAttempts > 0 {
                logger.info("amqp publisher reconnected", metadata: ["amqp.attempts": "\(failedAttempts)"])
            }
            failedAttempts = 0
            if closed {
                await connection.close()
                throw AMQPError(.connectionLost, "the publisher is closed")
            }
            self.connection = connection
            return connection
        } catch {
            failedAttempts += 1
            lastFailure = .now
            throw error
        }
    }
}

extension Error {
    /// A bounded label for logs: the AMQP error code, or the error's type.
    var amqpErrorType: String { (self as? AMQPError)?.code.description ?? "\(type(of: self))" }
}
