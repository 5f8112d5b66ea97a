/// A declarative description of the broker objects the hub needs: exchanges, queues and bindings.
///
/// The description is pure data. `HubAMQP` declares it on a broker idempotently; `contracts/asyncapi.json`
/// documents the same objects for partners, and a test proves the two agree.
public struct Topology: Sendable, Hashable {
    /// The exchanges, declared first.
    public var exchanges: [Exchange]
    /// The queues, declared after the exchanges.
    public var queues: [Queue]
    /// The bindings, declared last.
    public var bindings: [Binding]

    /// Creates a topology from its parts.
    /// - Parameters:
    ///   - exchanges: Exchanges to declare.
    ///   - queues: Queues to declare.
    ///   - bindings: Queue-to-exchange bindings to declare.
    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    /// Adds another topology's objects to this one, skipping exact duplicates.
    /// - Parameter other: The topology to merge in.
    /// - Returns: The union, in declaration order.
    public func merging(_ other: Topology) -> Topology {
        var result = self
        for exchange in other.exchanges where !result.exchanges.contains(exchange) { result.exchanges.append(exchange) }
        for queue in other.queues where !result.queues.contains(queue) { result.queues.append(queue) }
        for binding in other.bindings where !result.bindings.contains(binding) { result.bindings.append(binding) }
        return result
    }
}

extension Topology {
    /// An exchange.
    public struct Exchange: Sendable, Hashable {
        /// The exchange type.
        public struct Kind: Sendable, Hashable, CustomStringConvertible {
            private enum Base: String, Sendable, Hashable { case topic, direct, fanout, headers }
            private let base: Base
            /// Routes by pattern over dot-separated words (`*` one word, `#` zero or more).
            public static let topic = Kind(base: .topic)
            /// Routes by exact routing key.
            public static let direct = Kind(base: .direct)
            /// Routes to every bound queue.
            public static let fanout = Kind(base: .fanout)
            /// Routes by header values.
            public static let headers = Kind(base: .headers)
            /// The AMQP name of the type.
            public var description: String { base.rawValue }
        }

        /// The exchange name.
        public var name: String
        /// The exchange type.
        public var kind: Kind
        /// Survives a broker restart. Always true for the hub's exchanges.
        public var durable: Bool
        /// Extra `x-` arguments.
        public var arguments: [String: ArgumentValue]

        /// Creates an exchange description.
        /// - Parameters:
        ///   - name: The exchange name.
        ///   - kind: The exchange type.
        ///   - durable: Whether it survives a broker restart (default true).
        ///   - arguments: Extra `x-` arguments (default none).
        public init(name: String, kind: Kind, durable: Bool = true, arguments: [String: ArgumentValue] = [:]) {
            self.name = name
            self.kind = kind
            self.durable = durable
            self.arguments = arguments
        }
    }

    /// A queue.
    public struct Queue: Sendable, Hashable {
        /// The queue type.
        public struct Kind: Sendable, Hashable, CustomStringConvertible {
            private enum Base: String, Sendable, Hashable { case quorum, classic }
            private let base: Base
            /// A replicated Raft queue: the hub's default for every consumer queue.
            public static let quorum = Kind(base: .quorum)
            /// A classic queue (used only where quorum semantics do not fit).
            public static let classic = Kind(base: .classic)
            /// The `x-queue-type` value.
            public var description: String { base.rawValue }
        }

        /// The queue name.
        public var name: String
        /// The queue type.
        public var kind: Kind
        /// After this many redeliveries a quorum queue dead-letters the message (`x-delivery-limit`).
        public var deliveryLimit: Int?
        /// Where rejected or expired messages go (`x-dead-letter-exchange`); `""` is the default exchange.
        public var deadLetterExchange: String?
        /// The routing key dead-lettered messages carry (`x-dead-letter-routing-key`); nil keeps theirs.
        public var deadLetterRoutingKey: String?
        /// Message time-to-live in milliseconds (`x-message-ttl`), used by retry queues.
        public var messageTTLMilliseconds: Int?
        /// Extra `x-` arguments.
        public var extraArguments: [String: ArgumentValue]

        /// Creates a queue description.
        /// - Parameters:
        ///   - name: The queue name.
        ///   - kind: The queue type (default quorum).
        ///   - deliveryLimit: Redeliveries before dead-lettering (default nil: none).
        ///   - deadLetterExchange: Dead-letter exchange (default nil: none).
        ///   - deadLetterRoutingKey: Dead-letter routing key (default nil: the message's own).
        ///   - messageTTLMilliseconds: Message TTL (default nil: none).
        ///   - extraArguments: Extra `x-` arguments (default none).
        public init(
            name: String,
            kind: Kind = .quorum,
            deliveryLimit: Int? = nil,
            deadLetterExchange: String? = nil,
            deadLetterRoutingKey: String? = nil,
            messageTTLMilliseconds: Int? = nil,
            extraArguments: [String: ArgumentValue] = [:]
        ) {
            self.name = name
            self.kind = kind
            self.deliveryLimit = deliveryLimit
            self.deadLetterExchange = deadLetterExchange
            self.deadLetterRoutingKey = deadLetterRoutingKey
            self.messageTTLMilliseconds = messageTTLMilliseconds
            self.extraArguments = extraArguments
        }

        /// The full `x-` argument table to declare the queue with.
        ///
        /// A quorum queue that dead-letters uses `x-dead-letter-strategy: at-least-once` with
        /// `x-overflow: reject-publish`, because the default (at-most-once) republishes without confirms.
        public var arguments: [String: ArgumentValue] {
            var arguments = extraArguments
            arguments["x-queue-type"] = .string(kind.description)
            if let deliveryLimit { arguments["x-delivery-limit"] = .int(Int64(deliveryLimit)) }
            if let deadLetterExchange {
                arguments["x-dead-letter-exchange"] = .string(deadLetterExchange)
                if kind == .quorum {
                    arguments["x-dead-letter-strategy"] = .string("at-least-once")
                    arguments["x-overflow"] = .string("reject-publish")
                }
            }
            if let deadLetterRoutingKey { arguments["x-dead-letter-routing-key"] = .string(deadLetterRoutingKey) }
            if let messageTTLMilliseconds { arguments["x-message-ttl"] = .int(Int64(messageTTLMilliseconds)) }
            return arguments
        }
    }

    /// A binding of a queue to an exchange under a routing-key pattern.
    public struct Binding: Sendable, Hashable {
        /// The bound queue.
        public var queue: String
        /// The source exchange.
        public var exchange: String
        /// The routing key or topic pattern.
        public var routingKey: String

        /// Creates a binding description.
        /// - Parameters:
        ///   - queue: The bound queue.
        ///   - exchange: The source exchange.
        ///   - routingKey: The routing key or topic pattern.
        public init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    /// A value in an AMQP argument table.
    public enum ArgumentValue: Sendable, Hashable {
        /// A UTF-8 string (`longstr`).
        case string(String)
        /// A signed 64-bit integer (`long-long`).
        case int(Int64)
        /// A boolean.
        case bool(Bool)
    }
}

// MARK: - The hub's topology (DESIGN.md "Topology")

extension Topology {
    /// The names of the hub's exchanges.
    public enum ExchangeName {
        /// Commands from partners and services (topic).
        public static let commands = "hub.commands"
        /// Events emitted by services through their outbox (topic).
        public static let events = "hub.events"
        /// Delayed redelivery: routes to a consumer's retry queues by exact key (direct).
        public static let retry = "hub.retry"
        /// Dead letters and parked messages (topic; routing key = the consumer queue's name).
        public static let dead = "hub.dead"
    }

    /// One consumer of the hub: a service, an adapter or a tap, with its queue and bindings.
    public struct Consumer: Sendable, Hashable {
        /// The consumer queue's name, e.g. `svc.payments`, `adp.interbank`, `tap.audit`.
        public var queue: String
        /// (exchange, routing-key pattern) pairs the queue is bound with.
        public var bindings: [Binding]
        /// Redeliveries before the broker dead-letters a message that keeps failing (the crash backstop).
        public var deliveryLimit: Int
        /// Retry tiers, in order: each a delay in milliseconds.
        public var retryDelaysMilliseconds: [Int]

        /// Creates a consumer description.
        /// - Parameters:
        ///   - queue: The consumer queue's name.
        ///   - bindings: (exchange, pattern) bindings; the queue field of each is ignored and set to `queue`.
        ///   - deliveryLimit: Redeliveries before dead-lettering (default 20).
        ///   - retryDelaysMilliseconds: Retry tiers in milliseconds (default 1 s, 10 s, 1 min, 10 min).
        public init(
            queue: String,
            bindings: [(exchange: String, pattern: String)],
            deliveryLimit: Int = 20,
            retryDelaysMilliseconds: [Int] = [1_000, 10_000, 60_000, 600_000]
        ) {
            self.queue = queue
            self.bindings = bindings.map { Binding(queue: queue, exchange: $0.exchange, routingKey: $0.pattern) }
            self.deliveryLimit = deliveryLimit
            self.retryDelaysMilliseconds = retryDelaysMilliseconds
        }

        /// The name of retry tier `tier` (0-based) of this consumer.
        /// - Parameter tier: The tier index.
        /// - Returns: The retry queue's name, which is also its routing key on `hub.retry`.
        public func retryQueueName(tier: Int) -> String { "\(queue).retry.\(tier + 1)" }

        /// The queue where this consumer's dead letters are parked for an operator.
        public var parkingQueueName: String { "\(queue).parked" }
    }

    /// The exchanges every hub process declares.
    public static let hubExchanges: [Exchange] = [
        Exchange(name: ExchangeName.commands, kind: .topic),
        Exchange(name: ExchangeName.events, kind: .topic),
        Exchange(name: ExchangeName.retry, kind: .direct),
        Exchange(name: ExchangeName.dead, kind: .topic),
    ]

    /// The hub's topology for a set of consumers.
    ///
    /// For each consumer: its quorum queue (delivery limit, dead-lettering at-least-once to `hub.dead` under
    /// the queue's own name), its retry queues (TTL, dead-lettering back to the consumer queue through the
    /// default exchange) bound to `hub.retry`, and its parking queue bound to `hub.dead`.
    /// - Parameter consumers: The consumers to declare.
    /// - Returns: The topology.
    public static func hub(consumers: [Consumer]) -> Topology {
        var topology = Topology(exchanges: hubExchanges)
        for consumer in consumers {
            topology.queues.append(
                Queue(
                    name: consumer.queue,
                    deliveryLimit: consumer.deliveryLimit,
                    deadLetterExchange: ExchangeName.dead,
                    deadLetterRoutingKey: consumer.queue
                )
            )
            topology.bindings += consumer.bindings
            for (tier, delay) in consumer.retryDelaysMilliseconds.enumerated() {
                let name = consumer.retryQueueName(tier: tier)
                topology.queues.append(
                    Queue(
                        name: name,
                        deadLetterExchange: "",
                        deadLetterRoutingKey: consumer.queue,
                        messageTTLMilliseconds: delay
                    )
                )
                topology.bindings.append(Binding(queue: name, exchange: ExchangeName.retry, routingKey: name))
            }
            topology.queues.append(Queue(name: consumer.parkingQueueName))
            topology.bindings.append(
                Binding(queue: consumer.parkingQueueName, exchange: ExchangeName.dead, routingKey: consumer.queue)
            )
        }
        return topology
    }
}
