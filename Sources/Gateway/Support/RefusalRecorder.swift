public import Foundation
public import HubAMQP
import HubCore
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Publishes confirmed messages; ``AMQPPublisher`` is one. Tests substitute a publisher that fails.
public protocol EnvelopePublishing: Sendable {
    /// Publishes one message and waits for the broker's confirm.
    /// - Parameter message: The message.
    /// - Throws: When the message was not confirmed.
    func publish(_ message: AMQPMessage) async throws
}

extension AMQPPublisher: EnvelopePublishing {}

/// One refused request, as `gateway.request.refused.v1` reports it: who (the partner, and whether the signature
/// was verified), what (method, path without query, message id and type if known), why (status, reason code, rule).
/// Never the body, a query string or personal data.
public struct Refusal: Sendable, Hashable {
    /// The partner id (claimed, or verified when `authenticated`).
    public var partner: String?
    /// Whether the partner id was verified.
    public var authenticated: Bool
    /// The HTTP status (or 0 for an AMQP message).
    public var status: Int
    /// The bounded reason code, e.g. `signature-invalid`.
    public var reason: String
    /// The rule, e.g. `GW-AUTH-4`.
    public var rule: String
    /// `POST`, `GET`, or `PUBLISH` (AMQP).
    public var method: String
    /// The path without query (AMQP: `/partner.in/<routing key>`).
    public var path: String
    /// The message id, if the body was parsed.
    public var messageID: String?
    /// The message type, if the body was parsed.
    public var messageType: String?
    /// The refused message's flow (its `correlationid`, or its id), if the body was parsed: the refusal event joins
    /// that flow, with the refused message as its cause.
    public var correlationID: UUID?

    /// Creates a refusal.
    /// - Parameters:
    ///   - partner: The partner id.
    ///   - authenticated: Whether it was verified.
    ///   - status: The status.
    ///   - reason: The reason code.
    ///   - rule: The rule.
    ///   - method: The method.
    ///   - path: The path.
    ///   - messageID: The message id.
    ///   - messageType: The message type.
    ///   - correlationID: The refused message's flow.
    public init(
        partner: String?, authenticated: Bool, status: Int, reason: String, rule: String, method: String, path: String,
        messageID: String? = nil, messageType: String? = nil, correlationID: UUID? = nil
    ) {
        self.partner = partner
        self.authenticated = authenticated
        self.status = status
        self.reason = reason
        self.rule = rule
        self.method = method
        self.path = path
        self.messageID = messageID
        self.messageType = messageType
        self.correlationID = correlationID
    }
}

/// Records every refusal in the audit stream as `gateway.request.refused.v1` on `hub.events`, off the request path.
///
/// ``record(_:)`` never blocks and never touches the broker: refusals wait in a bounded buffer and identical ones
/// (same partner, reason, path, no message id — a 429 storm) are coalesced into one event with a `count`. The
/// service publishes the buffer with confirms every `interval`; a failed publish keeps the refusal for the next
/// pass. When the buffer is full, new refusals are dropped and counted (`gateway_refusals_dropped_total`).
public final class RefusalRecorder: Service, Sendable {
    /// The event type.
    public static let eventType = "gateway.request.refused.v1"

    private struct Pending: Sendable {
        var refusal: Refusal
        var count: Int
        var first: Timestamp
        var last: Timestamp
    }

    private let publisher: any EnvelopePublishing
    private let capacity: Int
    private let interval: Duration
    private let logger: Logger
    private let pending = Mutex<[Refusal: Pending]>([:])
    private let dropped = Counter(label: "gateway_refusals_dropped_total")
    private let unroutable = Counter(label: "gateway_refusals_unroutable_total")

    /// Creates a recorder.
    /// - Parameters:
    ///   - publisher: The confirmed publisher.
    ///   - capacity: The most distinct refusals buffered (default 10,000).
    ///   - interval: How often the buffer is published (default 250 ms).
    ///   - logger: The logger.
    public init(publisher: any EnvelopePublishing, capacity: Int = 10_000, interval: Duration = .milliseconds(250), logger: Logger) {
        self.publisher = publisher
        self.capacity = capacity
        self.interval = interval
        self.logger = logger
    }

    /// Buffers a refusal (no I/O).
    /// - Parameter refusal: The refusal.
    public func record(_ refusal: Refusal) {
        Counter(label: "gateway_refusals_total", dimensions: [("reason", refusal.reason)]).increment()
        let now = Timestamp.now
        let accepted = pending.withLock { pending -> Bool in
            if var entry = pending[refusal] {
                entry.count += 1
                entry.last = now
                pending[refusal] = entry
                return true
            }
            guard pending.count < capacity else { return false }
            pending[refusal] = Pending(refusal: refusal, count: 1, first: now, last: now)
            return true
        }
        if !accepted { dropped.increment() }
    }

    /// Publishes buffered refusals until graceful shutdown, then once more.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await flush()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
        await flush()
    }

    /// Publishes what is buffered now.
    public func flush() async {
        let batch = pending.withLock { pending -> [Pending] in
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        for (index, entry) in batch.enumerated() {
            do {
                try await publisher.publish(try message(entry))
            } catch let error as AMQPError where error.code == .unroutable {
                // No queue is bound for refusal events (no audit tap in this deployment): retrying cannot help.
                unroutable.increment()
                logger.info("refusal event has no route; dropped", metadata: ["gateway.reason": "\(entry.refusal.reason)"])
                continue
            } catch {
                logger.debug("refusal event not published", metadata: ["error.type": "\(type(of: error))"])
                requeue(batch[index...])
                return
            }
        }
    }

    private func requeue(_ entries: ArraySlice<Pending>) {
        pending.withLock { pending in
            for entry in entries {
                if var existing = pending[entry.refusal] {
                    existing.count += entry.count
                    existing.first = entry.first
                    pending[entry.refusal] = existing
                } else if pending.count < capacity {
                    pending[entry.refusal] = entry
                } else {
                    dropped.increment()
                }
            }
        }
    }

    private func message(_ entry: Pending) throws -> AMQPMessage {
        let refusal = entry.refusal
        var data: JSONObject = [
            "authenticated": .bool(refusal.authenticated),
            "status": .number(JSONNumber(refusal.status)),
            "reason": .string(refusal.reason),
            "rule": .string(refusal.rule),
            "method": .string(refusal.method),
            "path": .string(refusal.path),
            "count": .number(JSONNumber(entry.count)),
            "firstAt": .string(entry.first.text),
            "lastAt": .string(entry.last.text),
        ]
        if let partner = refusal.partner { data["partnerId"] = .string(partner) }
        if let id = refusal.messageID { data["messageId"] = .string(id) }
        if let type = refusal.messageType { data["messageType"] = .string(type) }
        let type = try MessageType(Self.eventType)
        let envelope = try Envelope(
            source: "urn:huitong:gateway", type: type, time: entry.last,
            dataSchema: ContractValidator.schemaID(for: type), data: data,
            correlationID: refusal.correlationID,
            causationID: refusal.messageID.flatMap { try? MessageID($0) }?.uuid,
            partnerID: refusal.authenticated ? refusal.partner.flatMap { try? PartnerID($0) } : nil)
        return AMQPMessage(envelope: envelope, exchange: Topology.ExchangeName.events)
    }
}
