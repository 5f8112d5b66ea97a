import Foundation
import HubAMQP
import HubCore
import Testing

@testable import HubRuntime

@Suite("Retry and park headers")
struct HeaderTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func firstDeliveryHasNoHistory() {
        let history = FailureHistory.parse(headers: [:], exchange: "hub.commands", routingKey: "a.b.c")
        #expect(history.failedAttempts == 0)
        #expect(history.attempt == 1)
        #expect(history.firstFailure == nil)
        #expect(history.originalExchange == "hub.commands")
        #expect(history.originalRoutingKey == "a.b.c")
    }

    @Test func retryHeadersRoundTripAndKeepTheOriginalRoute() throws {
        let first = FailureHistory.parse(headers: ["custom": .string("kept")], exchange: "hub.commands", routingKey: "a.b.c")
        let headers = FailureRouting.retryHeaders(["custom": .string("kept")], history: first, code: "busy", now: now)
        #expect(headers["custom"] == .string("kept"))
        #expect(headers[RuntimeHeader.errorCode] == .string("busy"))
        // The retry comes back through the default exchange with the queue name as routing key.
        let second = FailureHistory.parse(headers: headers, exchange: "", routingKey: "svc.test")
        #expect(second.failedAttempts == 1)
        #expect(second.attempt == 2)
        #expect(second.originalExchange == "hub.commands")
        #expect(second.originalRoutingKey == "a.b.c")
        #expect(second.firstFailure.map { abs($0.timeIntervalSince(now)) < 0.01 } == true)
        // The first failure's time survives later retries.
        let later = FailureRouting.retryHeaders(headers, history: second, code: "busy", now: now + 60)
        let third = FailureHistory.parse(headers: later, exchange: "", routingKey: "svc.test")
        #expect(third.attempt == 3)
        #expect(third.firstFailure.map { abs($0.timeIntervalSince(now)) < 0.01 } == true)
    }

    @Test func retryTiersThenPark() {
        #expect(FailureRouting.retryTier(afterFailedAttempt: 1, tiers: 2) == 0)
        #expect(FailureRouting.retryTier(afterFailedAttempt: 2, tiers: 2) == 1)
        #expect(FailureRouting.retryTier(afterFailedAttempt: 3, tiers: 2) == nil)
        #expect(FailureRouting.retryTier(afterFailedAttempt: 1, tiers: 0) == nil)
    }

    @Test func parkHeadersParseBackIntoARecord() {
        let history = FailureHistory(
            failedAttempts: 2, firstFailure: now, originalExchange: "hub.commands", originalRoutingKey: "a.b.c")
        let rejection = Rejection(reason: .retriesExhausted, code: "busy", message: "still busy")
        let headers = FailureRouting.parkHeaders([:], history: history, rejection: rejection, now: now + 5)
        let record = ParkRecord.parse(headers: headers, exchange: "hub.dead", routingKey: "svc.test", now: now + 100)
        #expect(record.reason == .retriesExhausted)
        #expect(record.errorCode == "busy")
        #expect(record.attempts == 3)
        #expect(record.originalExchange == "hub.commands")
        #expect(record.originalRoutingKey == "a.b.c")
        #expect(abs(record.firstFailedAt.timeIntervalSince(now)) < 0.01)
        #expect(abs(record.lastFailedAt.timeIntervalSince(now + 5)) < 0.01)
    }

    @Test func brokerDeadLettersMapFromXDeath() {
        let death: [String: AMQPFieldValue] = [
            "reason": .string("delivery_limit"), "queue": .string("svc.test"), "exchange": .string("hub.commands"),
            "routing-keys": .array([.string("a.b.c")]), "count": .int64(1), "time": .timestamp(1_800_000_000),
        ]
        let record = ParkRecord.parse(
            headers: ["x-death": .array([.table(death)]), "x-delivery-count": .int64(21)],
            exchange: "hub.dead", routingKey: "svc.test", now: now + 100)
        #expect(record.reason == .deliveryLimit)
        #expect(record.errorCode == "delivery_limit")
        #expect(record.attempts == 21)
        #expect(record.originalExchange == "hub.commands")
        #expect(record.originalRoutingKey == "a.b.c")
        #expect(record.lastFailedAt == now)

        let rejected = ParkRecord.parse(
            headers: ["x-death": .array([.table(["reason": .string("rejected")])])],
            exchange: "hub.dead", routingKey: "svc.test", now: now)
        #expect(rejected.reason == .rejected)
        #expect(rejected.originalExchange == "hub.dead")
    }

    @Test func headersSurviveTheJSONColumn() {
        let headers: [String: AMQPFieldValue] = [
            "s": .string("text"), "n": .int32(7), "b": .bool(true), "raw": .bytes([0, 1, 255]),
            "t": .timestamp(42), "nested": .table(["k": .array([.string("v"), .int64(-1)])]),
        ]
        let back = HeaderJSON.decode(HeaderJSON.encode(headers))
        #expect(back["s"] == .string("text"))
        #expect(back["n"] == .int64(7))
        #expect(back["b"] == .bool(true))
        #expect(back["raw"] == .bytes([0, 1, 255]))
        #expect(back["t"] == .timestamp(42))
        #expect(back["nested"] == .table(["k": .array([.string("v"), .int64(-1)])]))
    }
}
