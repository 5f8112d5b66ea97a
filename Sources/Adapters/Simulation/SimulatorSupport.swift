import Foundation

/// SplitMix64: a tiny deterministic generator, so a simulator's choices depend only on its seed and the request's
/// identity (never on arrival order or wall time).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Seeds the generator.
    /// - Parameter seed: The seed.
    public init(seed: UInt64) { state = seed }

    /// Seeds the generator from a seed and a key (e.g. a UETR).
    /// - Parameters:
    ///   - seed: The simulator's seed.
    ///   - key: The request's identity.
    public init(seed: UInt64, key: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        state = seed ^ hash
    }

    /// The next value.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Faults a simulator injects, parsed from `--faults latency=50ms,timeout=0.1,5xx=0.05,reject=0.1,…`.
///
/// | key | meaning |
/// |---|---|
/// | `latency` | added to every answer, e.g. `50ms`, `1s` |
/// | `timeout` | share of first requests that get no answer (the connection is held for `hang`) |
/// | `hang` | how long a "timed-out" request is held, e.g. `30s` (default 60 s) |
/// | `5xx` | share of first requests answered 503 without being processed |
/// | `lost` | share of first requests processed but answered 503 (the answer is lost) |
/// | `reject` | share of transfers rejected with a realistic reason code |
/// | `pending` | share of transfers answered ACSP first, settled on a later status query |
/// | `duplicate` | interbank: share of in-progress transfers whose status is repeated once by a query; e-CNY: share of settlements whose callback is delivered twice or more |
/// | `reorder` | share of e-CNY settlements whose callbacks arrive out of order (a stale PROCESSING after SETTLED) |
public struct SimulatorFaults: Sendable, Hashable, CustomStringConvertible {
    /// Added latency per answer.
    public var latency: Duration = .zero
    /// Share of first requests not answered.
    public var timeoutRate: Double = 0
    /// How long an unanswered request is held.
    public var hang: Duration = .seconds(60)
    /// Share of first requests answered 503, unprocessed.
    public var errorRate: Double = 0
    /// Share of first requests processed, answered 503.
    public var lostRate: Double = 0
    /// Share of rejections.
    public var rejectRate: Double = 0
    /// Share of delayed settlements.
    public var pendingRate: Double = 0
    /// Share of duplicated callbacks.
    public var duplicateRate: Double = 0
    /// Share of reordered callbacks.
    public var reorderRate: Double = 0

    /// No faults.
    public init() {}

    /// Parses `key=value,…`.
    /// - Parameter text: The fault list; empty for none.
    /// - Throws: ``SimulatorError`` naming the bad entry.
    public init(parsing text: String) throws {
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SimulatorError("fault '\(item)' is not key=value") }
            let (key, value) = (parts[0], parts[1])
            func rate() throws -> Double {
                guard let rate = Double(value), (0...1).contains(rate) else {
                    throw SimulatorError("fault \(key) needs a share from 0 to 1, got '\(value)'")
                }
                return rate
            }
            switch key {
            case "latency": latency = try Self.duration(value, key: key)
            case "hang": hang = try Self.duration(value, key: key)
            case "timeout": timeoutRate = try rate()
            case "5xx": errorRate = try rate()
            case "lost": lostRate = try rate()
            case "reject": rejectRate = try rate()
            case "pending": pendingRate = try rate()
            case "duplicate": duplicateRate = try rate()
            case "reorder": reorderRate = try rate()
            default:
                throw SimulatorError("unknown fault '\(key)' (known: latency, hang, timeout, 5xx, lost, reject, pending, duplicate, reorder)")
            }
        }
    }

    static func duration(_ text: String, key: String) throws -> Duration {
        if text.hasSuffix("ms"), let value = Int(text.dropLast(2)), value >= 0 { return .milliseconds(value) }
        if text.hasSuffix("s"), let value = Int(text.dropLast()), value >= 0 { return .seconds(value) }
        throw SimulatorError("fault \(key) needs a duration such as 50ms or 2s, got '\(text)'")
    }

    /// `key=value` pairs of the faults switched on.
    public var description: String {
        var parts: [String] = []
        if latency != .zero { parts.append("latency=\(latency)") }
        if timeoutRate > 0 { parts.append("timeout=\(timeoutRate)") }
        if errorRate > 0 { parts.append("5xx=\(errorRate)") }
        if lostRate > 0 { parts.append("lost=\(lostRate)") }
        if rejectRate > 0 { parts.append("reject=\(rejectRate)") }
        if pendingRate > 0 { parts.append("pending=\(pendingRate)") }
        if duplicateRate > 0 { parts.append("duplicate=\(duplicateRate)") }
        if reorderRate > 0 { parts.append("reorder=\(reorderRate)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}

/// A bad simulator setting (one line, for the CLI).
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
