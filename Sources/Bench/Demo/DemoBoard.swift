public import Foundation
public import HubCore

/// The state behind `huitong demo`'s one-screen summary, built only from what the demo sent and the events it saw
/// on `hub.events`. Pure: no I/O, so it can be tested with hand-made events.
public struct DemoBoard: Sendable {
    /// When the demo started.
    public let started: Date
    /// Commands sent, by kind.
    public private(set) var sent: [DemoTraffic.Kind: Int] = [:]
    /// Commands the broker could not route (no queue bound: is the payments role running?).
    public private(set) var unroutable = 0
    /// Publishes that failed.
    public private(set) var publishFailures = 0
    /// Events seen.
    public private(set) var eventsSeen = 0
    /// Transfers by their latest state (`accepted`, `executing`, `settled`, …).
    public private(set) var transferStates: [String: String] = [:]
    /// Batches by their latest state.
    public private(set) var batchStates: [String: String] = [:]
    /// Rejections by reason code (transfers and batches).
    public private(set) var rejections: [String: Int] = [:]
    /// Compliance verdicts by kind (`cleared`, `hold placed`, …).
    public private(set) var compliance: [String: Int] = [:]
    /// Adapter events by type.
    public private(set) var adapterEvents: [String: Int] = [:]
    /// Other events by type (e.g. the sample service's).
    public private(set) var otherEvents: [String: Int] = [:]
    /// Parked messages not redriven (hub.parked), nil when the database could not be asked.
    public var parked: Int?
    /// Round trips executing → settled/failed, in milliseconds (latest 2,000).
    public private(set) var roundTrips: [Double] = []
    private var executingAt: [String: Date] = [:]
    private var sentTimes: [Date] = []
    private var eventTimes: [Date] = []

    /// Creates an empty board.
    /// - Parameter started: The start time.
    public init(started: Date) { self.started = started }

    /// Records a sent command.
    /// - Parameters:
    ///   - kind: Its kind.
    ///   - outcome: `nil` when confirmed, else `unroutable` or `failed`.
    ///   - time: When.
    public mutating func recordSent(_ kind: DemoTraffic.Kind, unroutable isUnroutable: Bool, failed: Bool, at time: Date) {
        sent[kind, default: 0] += 1
        if isUnroutable { unroutable += 1 }
        if failed { publishFailures += 1 }
        sentTimes.append(time)
        prune(&sentTimes, now: time)
    }

    /// Applies an event seen on hub.events.
    /// - Parameters:
    ///   - envelope: The event.
    ///   - time: When it was seen.
    public mutating func apply(_ envelope: Envelope, at time: Date) {
        eventsSeen += 1
        eventTimes.append(time)
        prune(&eventTimes, now: time)
        let type = envelope.type
        let data = envelope.data
        let verb = type.value.split(separator: ".").dropLast().last.map(String.init) ?? type.verb
        switch type.domain {
        case "payments":
            if let reason = data["reasonCode"]?.stringValue, verb == "rejected" || verb == "failed" {
                rejections[reason, default: 0] += 1
            }
            if type.aggregate == "batch" {
                let id = data["batchId"]?.stringValue ?? envelope.correlationID.map { "\($0)" } ?? "\(envelope.id)"
                batchStates[id] = verb
                return
            }
            guard let id = data["transferId"]?.stringValue ?? data["clientRequestId"]?.stringValue else { return }
            transferStates[id] = verb
            if verb == "executing" { executingAt[id] = time }
            if verb == "settled" || verb == "failed", let start = executingAt.removeValue(forKey: id) {
                roundTrips.append(time.timeIntervalSince(start) * 1_000)
                if roundTrips.count > 2_000 { roundTrips.removeFirst(roundTrips.count - 2_000) }
            }
        case "compliance":
            compliance[verb == "placed" || verb == "released" || verb == "rejected" ? "hold \(verb)" : verb, default: 0] += 1
        case "interbank", "ecny":
            adapterEvents[type.routingKey, default: 0] += 1
        default:
            otherEvents[type.routingKey, default: 0] += 1
        }
    }

    private func prune(_ times: inout [Date], now: Date) {
        let cutoff = now.addingTimeInterval(-10)
        if let first = times.firstIndex(where: { $0 >= cutoff }), first > 0 { times.removeFirst(first) }
    }

    /// Rate over the last 10 s.
    static func rate(_ times: [Date], now: Date) -> Double {
        let window = min(10, max(1, now.timeIntervalSince(times.first ?? now)))
        return Double(times.filter { $0 >= now.addingTimeInterval(-10) }.count) / window
    }

    /// Counts of transfers by state.
    public var transfersByState: [String: Int] {
        transferStates.values.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// The screen, one string per line.
    /// - Parameter now: The current time.
    /// - Returns: The lines.
    public func render(now: Date) -> [String] {
        func list(_ counts: [String: Int], empty: String, order: [String] = []) -> String {
            guard !counts.isEmpty else { return empty }
            let ordered = order.filter { counts[$0] != nil } + counts.keys.filter { !order.contains($0) }.sorted()
            return ordered.map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: "  ")
        }
        let elapsed = Int(now.timeIntervalSince(started))
        let clock = String(format: "%02d:%02d:%02d", elapsed / 3600, elapsed / 60 % 60, elapsed % 60)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let totalSent = sent.values.reduce(0, +)
        var lines: [String] = []
        lines.append("Huitong demo — \(formatter.string(from: now)) Asia/Shanghai — running \(clock) — Ctrl-C to stop")
        lines.append(String(repeating: "─", count: 78))
        lines.append(
            String(format: "Sent      %d commands  (%.1f/s)", totalSent, Self.rate(sentTimes, now: now))
                + (unroutable > 0 ? "  — \(unroutable) unroutable: is the payments role running?" : "")
                + (publishFailures > 0 ? "  — \(publishFailures) publish failures" : ""))
        lines.append(
            "          "
                + DemoTraffic.Kind.allCases.map { "\($0.rawValue) \(sent[$0] ?? 0)" }.joined(separator: "  "))
        lines.append(String(format: "Events    %d seen on hub.events  (%.1f/s)", eventsSeen, Self.rate(eventTimes, now: now)))
        lines.append("")
        lines.append(
            "Transfers " + list(
                transfersByState, empty: "no payments events yet",
                order: ["accepted", "pending-compliance", "executing", "settled", "failed", "status-unknown", "rejected"]))
        let batches = batchStates.values.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        lines.append("Batches   " + list(batches, empty: "no batch events yet", order: ["accepted", "completed", "rejected"]))
        lines.append("Rejected  " + list(rejections, empty: "no rejections yet"))
        lines.append("Compliance " + list(compliance, empty: "no verdicts yet", order: ["cleared", "hold placed", "hold released", "hold rejected"]))
        lines.append("Adapters  " + list(adapterEvents, empty: "no adapter events yet"))
        if let summary = LatencySummary(milliseconds: roundTrips) {
            lines.append(
                String(
                    format: "Round trip executing → settled/failed: n=%d  p50 %.0f ms  p90 %.0f ms  max %.0f ms",
                    summary.count, summary.p50, summary.p90, summary.max))
        } else {
            lines.append("Round trip executing → settled/failed: no settlements yet")
        }
        lines.append("Parked    " + (parked.map { "\($0) message(s) in hub.parked (huitong dlq list)" } ?? "n/a (database not reachable)"))
        if !otherEvents.isEmpty { lines.append("Other     " + list(otherEvents, empty: "")) }
        return lines
    }
}
