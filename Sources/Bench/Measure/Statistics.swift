/// Percentiles of a latency sample, in milliseconds.
public struct LatencySummary: Sendable, Codable, Hashable {
    /// How many values.
    public var count: Int
    /// Median.
    public var p50: Double
    /// 90th percentile.
    public var p90: Double
    /// 99th percentile.
    public var p99: Double
    /// Largest value.
    public var max: Double
    /// Arithmetic mean.
    public var mean: Double

    /// Summarises values with the nearest-rank method (the smallest value with at least `p` % of the sample at or
    /// below it).
    /// - Parameter milliseconds: The values (any order).
    /// - Returns: The summary, or nil for an empty sample.
    public init?(milliseconds: [Double]) {
        guard !milliseconds.isEmpty else { return nil }
        let sorted = milliseconds.sorted()
        func rank(_ p: Double) -> Double {
            let index = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.min(Swift.max(index, 0), sorted.count - 1)]
        }
        count = sorted.count
        p50 = rank(50)
        p90 = rank(90)
        p99 = rank(99)
        max = sorted[sorted.count - 1]
        mean = sorted.reduce(0, +) / Double(sorted.count)
    }
}

/// CPU and memory of one group of processes over the measured window.
public struct ProcessUsage: Sendable, Codable, Hashable {
    /// The group: `serve sample`, `broker (beam.smp)`, `database (postgres)`, `bench`.
    public var name: String
    /// How many processes the group had (at most) during the window.
    public var processes: Int
    /// user + system CPU seconds used in the window.
    public var cpuSeconds: Double
    /// CPU seconds per wall second, in percent (200 % = both cores of a 2-core machine).
    public var cpuPercent: Double
    /// Peak resident memory of the group (sum over its processes), in MiB.
    public var peakRSSMegabytes: Double
}
