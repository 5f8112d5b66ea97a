import Foundation
import HubAMQP
import HubCore

/// The AMQP headers the runtime puts on retried and parked messages.
public enum RuntimeHeader {
    /// Failed attempts so far (on a retried message) or in all (on a parked one).
    public static let attempt = "x-huitong-attempt"
    /// When the first attempt failed (RFC 3339).
    public static let firstFailure = "x-huitong-first-failure"
    /// When the last attempt failed (RFC 3339), on parked messages.
    public static let lastFailure = "x-huitong-last-failure"
    /// The last failure's code.
    public static let errorCode = "x-huitong-error-code"
    /// The park reason (``ParkReason``), on parked messages.
    public static let reason = "x-huitong-reason"
    /// Attempts in all, on parked messages.
    public static let attempts = "x-huitong-attempts"
    /// The exchange the message was first published to.
    public static let originalExchange = "x-huitong-original-exchange"
    /// The routing key it was first published with.
    public static let originalRoutingKey = "x-huitong-original-routing-key"

    /// Every runtime header (stripped when a parked message is redriven).
    static let all: Set<String> = [
        attempt, firstFailure, lastFailure, errorCode, reason, attempts, originalExchange, originalRoutingKey,
    ]
    /// Broker dead-lettering headers (also stripped on redrive).
    static let broker: Set<String> = [
        "x-death", "x-first-death-reason", "x-first-death-queue", "x-first-death-exchange", "x-delivery-count",
        "x-last-death-reason", "x-last-death-queue", "x-last-death-exchange",
    ]
}

/// What the headers of a delivery say about its earlier attempts.
struct FailureHistory: Sendable, Hashable {
    /// Failed attempts before this delivery.
    var failedAttempts: Int
    /// When the first attempt failed, if one did.
    var firstFailure: Date?
    /// The exchange the message was first published to.
    var originalExchange: String
    /// The routing key it was first published with.
    var originalRoutingKey: String

    /// Reads the runtime headers; a first delivery has none, and its own exchange and routing key are the originals.
    static func parse(headers: [String: AMQPFieldValue], exchange: String, routingKey: String) -> FailureHistory {
        let attempts = headers[RuntimeHeader.attempt]?.int64Value.map { Int(clamping: $0) } ?? 0
        let first = headers[RuntimeHeader.firstFailure]?.stringValue.flatMap { try? Timestamp(rfc3339: $0).date }
        return FailureHistory(
            failedAttempts: max(attempts, 0),
            firstFailure: first,
            originalExchange: headers[RuntimeHeader.originalExchange]?.stringValue ?? exchange,
            originalRoutingKey: headers[RuntimeHeader.originalRoutingKey]?.stringValue ?? routingKey
        )
    }

    /// The attempt the current delivery is (from 1).
    var attempt: Int { failedAttempts + 1 }
}

/// Builds retried and parked messages.
enum FailureRouting {
    /// What to do after a transient failure of attempt `attempt` (from 1) with `tiers` retry tiers: retry through
    /// tier `attempt - 1` (0-based), or park when the tiers are used up.
    static func retryTier(afterFailedAttempt attempt: Int, tiers: Int) -> Int? {
        attempt >= 1 && attempt <= tiers ? attempt - 1 : nil
    }

    /// Headers for a retry: the failed attempts so far, the first failure's time, the code and the original route.
    static func retryHeaders(
        _ headers: [String: AMQPFieldValue], history: FailureHistory, code: String, now: Date
    ) -> [String: AMQPFieldValue] {
        var headers = headers
        headers[RuntimeHeader.attempt] = .int64(Int64(history.attempt))
        headers[RuntimeHeader.firstFailure] = .string(Timestamp(history.firstFailure ?? now).text)
        headers[RuntimeHeader.errorCode] = .string(code)
        headers[RuntimeHeader.originalExchange] = .string(history.originalExchange)
        headers[RuntimeHeader.originalRoutingKey] = .string(history.originalRoutingKey)
        return headers
    }

    /// Headers for a park: reason, code, attempts, original route, first and last failure.
    static func parkHeaders(
        _ headers: [String: AMQPFieldValue], history: FailureHistory, rejection: Rejection, now: Date
    ) -> [String: AMQPFieldValue] {
        var headers = headers
        headers[RuntimeHeader.reason] = .string(rejection.reason.description)
        headers[RuntimeHeader.errorCode] = .string(rejection.code)
        headers[RuntimeHeader.attempts] = .int64(Int64(history.attempt))
        headers[RuntimeHeader.attempt] = .int64(Int64(history.attempt))
        headers[RuntimeHeader.originalExchange] = .string(history.originalExchange)
        headers[RuntimeHeader.originalRoutingKey] = .string(history.originalRoutingKey)
        headers[RuntimeHeader.firstFailure] = .string(Timestamp(history.firstFailure ?? now).text)
        headers[RuntimeHeader.lastFailure] = .string(Timestamp(now).text)
        return headers
    }
}

/// A parked message as the drainer reads it from the parking queue.
struct ParkRecord: Sendable, Hashable {
    var reason: ParkReason
    var errorCode: String
    var attempts: Int
    var originalExchange: String
    var originalRoutingKey: String
    var firstFailedAt: Date
    var lastFailedAt: Date

    /// Reads the runtime's park headers, or else the broker's `x-death` (delivery limit, rejection, expiry).
    static func parse(
        headers: [String: AMQPFieldValue], exchange: String, routingKey: String, now: Date
    ) -> ParkRecord {
        func date(_ name: String) -> Date? {
            headers[name]?.stringValue.flatMap { try? Timestamp(rfc3339: $0).date }
        }
        if let reasonName = headers[RuntimeHeader.reason]?.stringValue {
            let last = date(RuntimeHeader.lastFailure) ?? now
            return ParkRecord(
                reason: ParkReason(name: reasonName) ?? .unknown,
                errorCode: headers[RuntimeHeader.errorCode]?.stringValue ?? "unknown",
                attempts: Int(clamping: headers[RuntimeHeader.attempts]?.int64Value ?? 1),
                originalExchange: headers[RuntimeHeader.originalExchange]?.stringValue ?? exchange,
                originalRoutingKey: headers[RuntimeHeader.originalRoutingKey]?.stringValue ?? routingKey,
                firstFailedAt: date(RuntimeHeader.firstFailure) ?? last,
                lastFailedAt: last
            )
        }
        // Dead-lettered by the broker: the most recent x-death entry comes first.
        let death = headers["x-death"]?.arrayValue?.first?.tableValue ?? [:]
        let brokerReason = death["reason"]?.stringValue ?? headers["x-first-death-reason"]?.stringValue ?? ""
        let reason: ParkReason =
            switch brokerReason {
            case "delivery_limit": .deliveryLimit
            case "rejected": .rejected
            case "expired": .expired
            default: .unknown
            }
        let deathTime: Date? =
            if case .timestamp(let seconds) = death["time"] { Date(timeIntervalSince1970: TimeInterval(seconds)) }
            else { nil }
        let deathExchange = death["exchange"]?.stringValue ?? headers["x-first-death-exchange"]?.stringValue
        let deathRoutingKey = death["routing-keys"]?.arrayValue?.first?.stringValue
        // A message that went through retry tiers before it hit the limit still knows its original route.
        let history = FailureHistory.parse(
            headers: headers, exchange: deathExchange ?? exchange, routingKey: deathRoutingKey ?? routingKey)
        let deliveries = headers["x-delivery-count"]?.int64Value ?? death["count"]?.int64Value ?? 1
        let last = deathTime ?? now
        return ParkRecord(
            reason: reason,
            errorCode: brokerReason.isEmpty ? "unknown" : brokerReason,
            attempts: max(Int(clamping: deliveries), history.attempt),
            originalExchange: history.originalExchange,
            originalRoutingKey: history.originalRoutingKey,
            firstFailedAt: history.firstFailure ?? last,
            lastFailedAt: last
        )
    }
}
