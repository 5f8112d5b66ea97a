import Foundation
public import HubCore

/// A rail a transfer executes on.
public enum Rail: String, Sendable, Hashable, Codable, CaseIterable {
    /// 大额实时支付系统: working days, 20:30 (previous day) to 17:15, no amount limit.
    case hvps = "HVPS"
    /// 小额批量支付系统: 7×24, ≤ the BEPS limit per credit.
    case beps = "BEPS"
    /// 超级网银: 7×24, real time, ≤ the limit per item.
    case ibps = "IBPS"
    /// e-CNY wallet transfer through the operator.
    case ecny = "ECNY"
}

/// A time of day in Asia/Shanghai, `HH:MM`.
public struct TimeOfDay: Sendable, Hashable, CustomStringConvertible {
    /// 0–23.
    public let hour: Int
    /// 0–59.
    public let minute: Int

    /// Parses `HH:MM`.
    /// - Parameter text: The time.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]),
              let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        self.hour = hour
        self.minute = minute
    }

    /// `HH:MM`.
    public var description: String {
        (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }
}

/// The payments service's settings. Regulator and bank numbers are configuration, never constants; the role reads
/// them from `huitong.payments.*` (see docs/payments.md for the keys, their environment variables and defaults).
public struct PaymentsConfiguration: Sendable {
    /// `huitong.payments.compliance-gate` (on|off, default on): accepted transfers wait for a compliance verdict.
    public var complianceGate: Bool = true
    /// `huitong.payments.duplicate-window` (seconds, default 86400): the R-PAY-5 window.
    public var duplicateWindow: Duration = .seconds(86_400)
    /// `huitong.payments.adapter-timeout` (seconds, default 30): silence before status unknown (R-PAY-4).
    public var adapterTimeout: Duration = .seconds(30)
    /// `huitong.payments.query-backoff-max` (seconds, default 600): the longest wait between status queries.
    public var queryBackoffMaximum: Duration = .seconds(600)
    /// `huitong.payments.hvps.opens` (HH:MM, default 20:30): HVPS accepts from this time on the previous day.
    public var hvpsOpens: TimeOfDay = TimeOfDay("20:30")!
    /// `huitong.payments.hvps.cutoff` (HH:MM, default 17:15): HVPS cut-off on a working day.
    public var hvpsCutoff: TimeOfDay = TimeOfDay("17:15")!
    /// `huitong.payments.beps-limit` (CNY, default 50000.00): the largest credit on BEPS/IBPS (R-PAY-1).
    public var bepsLimit: Money = Money(minorUnits: 5_000_000, currency: .cny)
    /// `huitong.payments.hvps-threshold` (CNY, default 0.00): within HVPS hours, amounts at or above it use HVPS and
    /// smaller ones the low-value rail.
    public var hvpsThreshold: Money = Money(minorUnits: 0, currency: .cny)
    /// `huitong.payments.low-value-rail` (BEPS|IBPS, default BEPS): the rail for amounts up to the BEPS limit.
    public var lowValueRail: Rail = .beps
    /// `huitong.payments.person-transfer-limit` (CNY, default 50000.00): corporate→person transfers above it need a
    /// documented basis (R-PAY-8).
    public var personTransferLimit: Money = Money(minorUnits: 5_000_000, currency: .cny)
    /// `huitong.payments.maximum-amount` (CNY, default 100000000.00): a larger transfer is refused AM02.
    public var maximumAmount: Money = Money(minorUnits: 10_000_000_000, currency: .cny)
    /// `huitong.payments.ecny.operators` (comma-separated, default the ten designated operators).
    public var walletOperators: Set<String> = [
        "ICBC", "ABC", "BOC", "CCB", "BOCOM", "PSBC", "CMB", "CIB", "WEBANK", "MYBANK",
    ]
    /// `huitong.payments.max-days-ahead` (days, default 30): the furthest requested execution date accepted.
    public var maximumDaysAhead: Int = 30
    /// `huitong.payments.batch-max-lines` (default 5000).
    public var batchMaximumLines: Int = 5_000
    /// `huitong.payments.timer-interval` (seconds, default 1): how often the timer scans due transfers.
    public var timerInterval: Duration = .seconds(1)
    /// `huitong.payments.metrics-interval` (seconds, default 15; 0 = off): how often the state gauges are read.
    public var metricsInterval: Duration? = .seconds(15)
    /// `huitong.payments.holidays` / `huitong.payments.makeup-days`: the HVPS working-day calendar (R-GEN-4).
    public var calendar: any WorkingDayCalendar = ListedWorkingDays()

    /// The defaults.
    public init() {}

    /// The wait before status query number `queries + 1`: the adapter timeout doubled per query, capped.
    /// - Parameter queries: Queries already sent.
    /// - Returns: The wait.
    public func queryBackoff(afterQueries queries: Int) -> Duration {
        var wait = adapterTimeout
        for _ in 0..<min(queries, 20) {
            wait = wait * 2
            if wait >= queryBackoffMaximum { return queryBackoffMaximum }
        }
        return min(wait, queryBackoffMaximum)
    }
}

extension Duration {
    /// The duration in seconds as a `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
