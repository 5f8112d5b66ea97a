public import HubCore
public import HubRuntime
public import HubStore

/// The reference domain service: counters incremented by commands, one event per effect.
///
/// It exists to prove the runtime (`huitong serve --roles sample`, the kill -9 fault test, `huitong bench`) with
/// the smallest business rule that still makes double effects visible: `sample.counters.applied` counts the
/// increments applied, so a redelivered command applied twice would show up as one too many. It is not part of
/// `--roles all`.
///
/// - Command `sample.counter.increment.v1`, data `{"key": "<1–64 of [a-z0-9-]>", "amount": <1…1000000>}`.
/// - Event `sample.counter.incremented.v1`, data `{"key": …, "amount": …}`, caused by the command.
public struct SampleCounterHandler: MessageHandler {
    /// The command type.
    public static let incrementType = "sample.counter.increment.v1"
    /// The event type.
    public static let incrementedType = "sample.counter.incremented.v1"
    /// The consumer queue of the `sample` role.
    public static let queue = "svc.sample"

    /// The topology consumer of the `sample` role: `svc.sample` bound to `sample.counter.*` on `hub.commands`.
    /// - Parameter retryDelaysMilliseconds: Retry tiers (default 1 s, 10 s, 1 min).
    /// - Returns: The consumer description.
    public static func consumer(retryDelaysMilliseconds: [Int] = [1_000, 10_000, 60_000]) -> Topology.Consumer {
        Topology.Consumer(
            queue: queue,
            bindings: [(exchange: Topology.ExchangeName.commands, pattern: "sample.counter.*")],
            retryDelaysMilliseconds: retryDelaysMilliseconds
        )
    }

    struct Increment: Codable, Sendable {
        var key: String
        var amount: Int
    }

    /// Creates the handler.
    public init() {}

    /// The command types handled.
    public var messageTypes: Set<String> { [Self.incrementType] }

    /// Increments of one counter are applied in order.
    /// - Parameter envelope: The command.
    /// - Returns: The counter key.
    public func aggregateKey(for envelope: Envelope) -> String {
        envelope.data["key"]?.stringValue ?? ""
    }

    /// Checks the payload before any transaction is opened.
    /// - Parameter envelope: The command.
    /// - Throws: `ValidationError` naming the field.
    public func validate(_ envelope: Envelope) throws {
        _ = try Self.increment(from: envelope)
    }

    /// Applies the increment and emits its event, both in the runtime's transaction.
    /// - Parameters:
    ///   - message: The command.
    ///   - context: The transaction and logger.
    /// - Returns: The `incremented` event.
    /// - Throws: `ValidationError` (permanent) or a database error (transient).
    public func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage] {
        let increment = try Self.increment(from: message.envelope)
        try await context.transaction.execute(
            """
            INSERT INTO sample.counters (key, total, applied) VALUES (\(increment.key), \(increment.amount), 1)
            ON CONFLICT (key) DO UPDATE
            SET total = sample.counters.total + EXCLUDED.total, applied = sample.counters.applied + 1
            """
        )
        let event = try Envelope(
            causedBy: message.envelope,
            source: "urn:huitong:svc:sample",
            type: MessageType(Self.incrementedType),
            dataSchema: "https://huitong.example.com/contracts/schemas/sample/counter-incremented.v1.schema.json",
            data: ["key": .string(increment.key), "amount": .number(JSONNumber(increment.amount))]
        )
        return [OutboundMessage(envelope: event, aggregateKey: increment.key)]
    }

    static func increment(from envelope: Envelope) throws(ValidationError) -> Increment {
        let increment = try envelope.decodeData(as: Increment.self)
        let keyIsValid = (1...64).contains(increment.key.utf8.count)
            && increment.key.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
        guard keyIsValid else {
            throw ValidationError(.invalidFormat, pointer: "/data/key", rule: "pattern", message: "key must be 1–64 of [a-z0-9-]")
        }
        guard (1...1_000_000).contains(increment.amount) else {
            throw ValidationError(.outOfRange, pointer: "/data/amount", rule: "range", message: "amount must be 1…1000000")
        }
        return increment
    }
}

/// The `sample` schema.
public enum SampleMigrations {
    /// Component `sample`.
    public static let all: [Migration] = [
        Migration(
            component: "sample",
            version: 1,
            name: "create sample counters",
            sql: """
                CREATE SCHEMA IF NOT EXISTS sample;
                CREATE TABLE sample.counters (
                    key     text   PRIMARY KEY,
                    total   bigint NOT NULL,
                    applied bigint NOT NULL
                );
                """
        )
    ]
}
