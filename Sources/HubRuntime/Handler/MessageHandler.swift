public import HubCore
public import HubStore
public import Logging

/// A decoded, validated message handed to a ``MessageHandler``.
public struct InboundMessage: Sendable {
    /// The envelope.
    public let envelope: Envelope
    /// The exchange it was first published to (kept across retries).
    public let exchange: String
    /// The routing key it was first published with (kept across retries).
    public let routingKey: String
    /// Whether the broker delivered it before (a crash or lost connection; the handler may have seen it).
    public let redelivered: Bool
    /// Which attempt this is: 1 on first delivery, 2 after the first retry, …
    public let attempt: Int

    /// Creates an inbound message (the runtime does; tests of handlers may too).
    /// - Parameters:
    ///   - envelope: The envelope.
    ///   - exchange: The original exchange.
    ///   - routingKey: The original routing key.
    ///   - redelivered: Whether the broker redelivered it.
    ///   - attempt: The attempt, from 1.
    public init(envelope: Envelope, exchange: String, routingKey: String, redelivered: Bool = false, attempt: Int = 1) {
        self.envelope = envelope
        self.exchange = exchange
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.attempt = attempt
    }
}

/// A message a handler emits: stored in the outbox in the handler's transaction, published by the ``OutboxRelay``.
public struct OutboundMessage: Sendable {
    /// The envelope (published as its canonical bytes, routing key = its type without version).
    public var envelope: Envelope
    /// The exchange (default `hub.events`).
    public var exchange: String
    /// The ordering key: messages with the same key are published in the order they were stored.
    public var aggregateKey: String

    /// Creates an outbound message.
    /// - Parameters:
    ///   - envelope: The envelope.
    ///   - exchange: The exchange (default `hub.events`).
    ///   - aggregateKey: The ordering key.
    public init(envelope: Envelope, exchange: String = Topology.ExchangeName.events, aggregateKey: String) {
        self.envelope = envelope
        self.exchange = exchange
        self.aggregateKey = aggregateKey
    }
}

/// What a handler works with: the batch's transaction (use it for every state change), a logger that carries the
/// message's id and correlation id, and the consumer's name.
public struct HandlerContext: Sendable {
    /// The transaction; the handler's changes commit with the inbox row and the outbox rows, or not at all.
    public let transaction: PostgresTransaction
    /// A logger with `hub.message.id`, `hub.correlation.id` and `amqp.queue` set.
    public let logger: Logger
    /// The consumer (its queue name).
    public let consumer: String

    /// Creates a context (the runtime does).
    /// - Parameters:
    ///   - transaction: The transaction.
    ///   - logger: The message's logger.
    ///   - consumer: The consumer's name.
    public init(transaction: PostgresTransaction, logger: Logger, consumer: String) {
        self.transaction = transaction
        self.logger = logger
        self.consumer = consumer
    }
}

/// A failure a handler reports on purpose: transient (retry later) or permanent (park now).
///
/// Any other error a handler throws counts as transient, except `ValidationError` and `ValidationErrors`, which are
/// permanent (`schemaViolation`).
public struct HandlerFailure: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Whether a retry can succeed.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable { case transient, permanent }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A retry later may succeed (a dependency is down, a lock timed out).
        public static let transient = Kind(.transient)
        /// A retry cannot succeed (a business rule refuses the message).
        public static let permanent = Kind(.permanent)
        /// `transient` or `permanent`.
        public var description: String { base.rawValue }
    }

    /// Transient or permanent.
    public var kind: Kind
    /// A short, bounded error code (a metric label and the parked message's `error_code`), e.g. `ledger-locked`.
    public var code: String
    /// A human message; must not contain personal data (it is logged and stored with the parked message).
    public var message: String

    /// A failure that a later retry may cure.
    /// - Parameters:
    ///   - code: A short, bounded error code.
    ///   - message: What happened, without personal data.
    /// - Returns: The failure.
    public static func transient(code: String, _ message: String) -> HandlerFailure {
        HandlerFailure(kind: .transient, code: code, message: message)
    }

    /// A failure that no retry can cure: the message is parked at once.
    /// - Parameters:
    ///   - code: A short, bounded error code.
    ///   - message: What happened, without personal data.
    /// - Returns: The failure.
    public static func permanent(code: String, _ message: String) -> HandlerFailure {
        HandlerFailure(kind: .permanent, code: code, message: message)
    }

    /// `<kind> handler failure <code>: <message>`.
    public var description: String { "\(kind) handler failure \(code): \(message)" }
    /// The same as ``description``.
    public var debugDescription: String { "HandlerFailure(\(description))" }
}

/// A domain service's message handler. It never sees the broker: the runtime decodes and validates the envelope,
/// deduplicates by message id, runs the handler in a transaction, stores what it returns in the outbox, commits,
/// and only then acknowledges.
///
/// ```swift
/// struct Counter: MessageHandler {
///     let messageTypes: Set<String> = ["sample.counter.increment.v1"]
///     func aggregateKey(for envelope: Envelope) -> String { envelope.data["counter"]?.stringValue ?? "" }
///     func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage] {
///         try await context.transaction.execute("UPDATE sample.counters SET n = n + 1 WHERE …")
///         return []
///     }
/// }
/// ```
public protocol MessageHandler: Sendable {
    /// The full types handled, e.g. `sample.counter.increment.v1`; any other type is parked as `unknownType`.
    var messageTypes: Set<String> { get }

    /// Whether the handler takes messages of every type (a tap bound to `#`, such as the compliance checker):
    /// intake then does not park types outside ``messageTypes`` as `unknownType`. Default false.
    var acceptsEveryMessageType: Bool { get }

    /// The per-key ordering lane: messages with the same key are handled one after the other, in delivery order.
    /// - Parameter envelope: The message.
    /// - Returns: The key (an aggregate id, an account, …).
    func aggregateKey(for envelope: Envelope) -> String

    /// Validates the payload before the message enters a transaction (default: accepts everything).
    /// - Parameter envelope: The message.
    /// - Throws: `ValidationError` or `ValidationErrors`: the message is parked as `schemaViolation`.
    func validate(_ envelope: Envelope) throws

    /// Applies the message through `context.transaction` and returns the messages to emit.
    /// - Parameters:
    ///   - message: The message.
    ///   - context: The transaction, logger and consumer name.
    /// - Returns: Messages to store in the outbox in the same transaction.
    /// - Throws: ``HandlerFailure``; `ValidationError(s)` (permanent); anything else counts as transient.
    func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage]
}

extension MessageHandler {
    /// Only the types in ``messageTypes``.
    public var acceptsEveryMessageType: Bool { false }

    /// Accepts every payload.
    /// - Parameter envelope: The message.
    public func validate(_ envelope: Envelope) throws {}
}
