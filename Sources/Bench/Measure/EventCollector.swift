import Foundation
import HubAMQP
import HubCore
import Synchronization

/// What the bench's own event queue saw: the first arrival of each expected completion event (by correlation id
/// = the command's id), duplicates, and failure events by reason code. Thread-safe.
final class EventCollector: Sendable {
    struct State {
        var arrivals: [String: Double] = [:]
        var eventIDs: [String: String] = [:]
        var duplicates = 0
        var failures: [String: Int] = [:]
        var failed: Set<String> = []
        var unrelated = 0
        var lastArrival: Double = 0
    }

    private let expected: Set<String>
    private let completionType: String
    private let failureTypes: Set<String>
    private let state = Mutex(State())

    init(expected: Set<String>, completionType: String, failureTypes: [String]) {
        self.expected = expected
        self.completionType = completionType
        self.failureTypes = Set(failureTypes)
    }

    /// Records a delivery from the event queue at `time` (seconds since 1970).
    func record(_ delivery: Delivery, at time: Double) {
        guard let correlation = delivery.properties.correlationID?.lowercased(), expected.contains(correlation) else {
            state.withLock { $0.unrelated += 1 }
            return
        }
        let type = delivery.properties.type ?? ""
        if failureTypes.contains(type) {
            var reason = "unknown"
            if let envelope = try? Envelope.decode(bytes: delivery.body) {
                reason = envelope.data["reasonCode"]?.stringValue ?? reason
            }
            state.withLock {
                if $0.failed.insert(correlation).inserted { $0.failures["\(type) \(reason)", default: 0] += 1 }
            }
            return
        }
        guard type == completionType else {
            state.withLock { $0.unrelated += 1 }
            return
        }
        state.withLock {
            if $0.arrivals[correlation] == nil {
                $0.arrivals[correlation] = time
                $0.eventIDs[correlation] = delivery.properties.messageID
                $0.lastArrival = max($0.lastArrival, time)
            } else {
                $0.duplicates += 1
            }
        }
    }

    /// Completed commands so far.
    var completed: Int { state.withLock { $0.arrivals.count } }
    /// Commands that ended with a failure event so far.
    var failedCount: Int { state.withLock { $0.failed.count } }
    /// A copy of everything recorded.
    var snapshot: State { state.withLock { $0 } }
}
