import Foundation
import HubTestSupport
import HubAMQP
import HubCore
import Logging
import Synchronization

/// Shared helpers of the AMQP integration tests: the broker's URL, unique names, rabbitmqctl, cleanup.
enum AMQPSupport {
    /// `HUITONG_AMQP_URL`, default the local test broker of `deploy/local/servers.sh`.
    static var url: String {
        ProcessInfo.processInfo.environment["HUITONG_AMQP_URL"] ?? "amqp://huitong:huitong@127.0.0.1:5673/huitong"
    }

    /// The configuration for `url`, with a connection name and optional URL query.
    static func configuration(name: String, query: String? = nil) throws -> AMQPConfiguration {
        var text = url
        if let query { text += (text.contains("?") ? "&" : "?") + query }
        return try AMQPConfiguration(url: text, connectionName: name)
    }

    /// A name no other test run uses: `test.<label>.<random>`.
    static func uniqueName(_ label: String) -> String {
        "test.\(label).\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// A logger that prints connection events at info level.
    static var logger: Logger {
        var logger = Logger(label: "huitong.test.amqp")
        logger.logLevel = .info
        return logger
    }

    /// The repository root, found from this file's path.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `deploy/local/servers.sh rabbitmqctl ARGS…` and returns its standard output (no pipes, no blocked
    /// thread: ``Command``).
    static func rabbitmqctl(_ arguments: [String]) async throws -> String {
        let result = try await Command.run(
            repositoryRoot.appendingPathComponent("deploy/local/servers.sh").path, ["rabbitmqctl"] + arguments)
        guard result.status == 0 else {
            throw CommandFailed(description: "rabbitmqctl \(arguments.first ?? "") failed: " + result.stderr)
        }
        return result.stdout
    }

    /// The broker-side ids (`pid`) of the connections whose client-provided name is `name`.
    ///
    /// RabbitMQ 3.10's `list_connections` has no `user_provided_name` column; the name is the `connection_name`
    /// entry of `client_properties`. Test names are unique, so a line that contains the name is that connection.
    static func connectionPIDs(named name: String) async throws -> [String] {
        try await rabbitmqctl(["-q", "list_connections", "--no-table-headers", "pid", "client_properties"])
            .split(separator: "\n")
            .compactMap { line -> String? in
                let columns = line.split(separator: "\t", maxSplits: 1)
                guard columns.count == 2, columns[1].contains("\"\(name)\"") || columns[1].contains(">>\(name)<<")
                    || columns[1].contains(name)
                else { return nil }
                return String(columns[0])
            }
    }

    /// Closes, from the broker, every connection named `name`; returns how many.
    @discardableResult
    static func closeConnections(named name: String) async throws -> Int {
        let pids = try await connectionPIDs(named: name)
        for pid in pids { _ = try await rabbitmqctl(["close_connection", pid, "test: broker-side kill"]) }
        return pids.count
    }

    /// Runs `body` with an open connection and closes it afterwards.
    @discardableResult
    static func withConnection<R: Sendable>(
        name: String = "test-admin",
        _ body: (AMQPConnection) async throws -> R
    ) async throws -> R {
        let connection = try await AMQPConnection.connect(
            configuration: configuration(name: uniqueName(name)), logger: logger
        )
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Deletes queues and exchanges, ignoring ones that are already gone.
    static func cleanUp(queues: [String], exchanges: [String] = []) async {
        guard let connection = try? await AMQPConnection.connect(
            configuration: configuration(name: uniqueName("cleanup")), logger: logger
        ) else { return }
        for queue in queues { _ = try? await connection.deleteQueue(queue) }
        for exchange in exchanges { try? await connection.deleteExchange(exchange) }
        await connection.close()
    }

    /// Runs `body`, then deletes the queues and exchanges whatever happened.
    static func withCleanup<R: Sendable>(
        queues: [String],
        exchanges: [String] = [],
        _ body: () async throws -> R
    ) async throws -> R {
        do {
            let result = try await body()
            await cleanUp(queues: queues, exchanges: exchanges)
            return result
        } catch {
            await cleanUp(queues: queues, exchanges: exchanges)
            throw error
        }
    }

    /// A test message with a numbered id.
    static func message(exchange: String, routingKey: String, number: Int) -> AMQPMessage {
        AMQPMessage(
            exchange: exchange,
            routingKey: routingKey,
            body: Array("{\"n\":\(number)}".utf8),
            properties: .init(messageID: "m-\(number)", type: "test.number.v1", contentType: "application/json")
        )
    }

    /// The number in a test message's id.
    static func number(of delivery: Delivery) -> Int? {
        delivery.properties.messageID.flatMap { Int($0.dropFirst(2)) }
    }
}

/// A thread-safe box for test bookkeeping shared between tasks.
final class Box<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withValue<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R {
        mutex.withLock { body(&$0) }
    }

    var get: Value { mutex.withLock { $0 } }
}
