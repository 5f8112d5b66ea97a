import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time and resident memory of processes, read from `/proc` (Linux).
public enum ProcFS {
    /// One reading of one process.
    public struct Reading: Sendable, Hashable {
        /// user + system CPU time, in clock ticks.
        public var cpuTicks: UInt64
        /// Resident set size in pages.
        public var rssPages: UInt64
    }

    /// Clock ticks per second (`_SC_CLK_TCK`).
    public static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    /// Bytes per page.
    public static let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))

    /// Parses the content of `/proc/<pid>/stat`: utime (field 14), stime (15) and rss (24), counted after the
    /// command name, which may itself contain spaces and parentheses.
    /// - Parameter stat: The file's text.
    /// - Returns: The reading, or nil when the text is not a stat line.
    public static func parseStat(_ stat: String) -> Reading? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field n is fields[n - 3].
        guard fields.count > 21, let utime = UInt64(fields[11]), let stime = UInt64(fields[12]),
            let rss = UInt64(fields[21])
        else { return nil }
        return Reading(cpuTicks: utime + stime, rssPages: rss)
    }

    /// Reads one process.
    /// - Parameter pid: The process.
    /// - Returns: The reading, or nil when it is gone.
    public static func read(_ pid: Int32) -> Reading? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parseStat(text)
    }

    /// The processes whose command name (`/proc/<pid>/comm`) is one of `names`.
    /// - Parameter names: Command names, e.g. `beam.smp`, `postgres`.
    /// - Returns: Their pids.
    public static func pids(named names: Set<String>) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard let pid = Int32(entry),
                let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                names.contains(comm.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return nil }
            return pid
        }
    }
}

/// Measures a group of processes over a window: CPU seconds used and peak resident memory.
///
/// Processes that start during the window count from zero; processes that end during it lose their last part
/// (the kernel keeps no record once they are reaped).
final class ProcessGroupMeter: @unchecked Sendable {
    // @unchecked: used from one task at a time (the runner samples, then finishes); no concurrent access.
    let name: String
    private let pids: @Sendable () -> [Int32]
    private var start: [Int32: UInt64] = [:]
    private var last: [Int32: UInt64] = [:]
    private var peakRSSBytes: UInt64 = 0
    private(set) var processCount = 0

    init(name: String, pids: @escaping @Sendable () -> [Int32]) {
        self.name = name
        self.pids = pids
    }

    /// Starts the window.
    func begin() {
        start = [:]
        for pid in pids() { if let reading = ProcFS.read(pid) { start[pid] = reading.cpuTicks } }
        last = start
        peakRSSBytes = 0
        sample()
    }

    /// Takes a reading (call every few hundred milliseconds for the peak memory).
    func sample() {
        var rss: UInt64 = 0
        let current = pids()
        processCount = max(processCount, current.count)
        for pid in current {
            guard let reading = ProcFS.read(pid) else { continue }
            last[pid] = reading.cpuTicks
            rss += reading.rssPages * ProcFS.pageSize
        }
        peakRSSBytes = max(peakRSSBytes, rss)
    }

    /// Ends the window.
    /// - Parameter seconds: The window's length.
    /// - Returns: The usage.
    func finish(seconds: Double) -> ProcessUsage {
        sample()
        var ticks: UInt64 = 0
        for (pid, value) in last { ticks += value &- (start[pid] ?? 0) }
        let cpu = Double(ticks) / ProcFS.ticksPerSecond
        return ProcessUsage(
            name: name, processes: processCount, cpuSeconds: cpu,
            cpuPercent: seconds > 0 ? 100 * cpu / seconds : 0,
            peakRSSMegabytes: Double(peakRSSBytes) / 1_048_576
        )
    }
}
