public import Configuration
import Foundation
import HubCore
public import PaymentsService

extension HubRole {
    /// The payments domain service: `svc.payments` (transfer and batch requests, adapter statuses, compliance
    /// verdicts) and the payments timer (queued releases, adapter timeouts, status queries). Configuration keys:
    /// ``PaymentsRoleConfiguration``.
    public static let payments = HubRole(
        name: "payments",
        consumers: [PaymentsHandler.consumer()],
        isBuilt: true,
        build: { context in
            let configuration = try PaymentsRoleConfiguration.read(context.reader)
            return RoleParts(
                handlers: [PaymentsHandler.queue: PaymentsHandler(configuration: configuration)],
                services: [PaymentsTimer(configuration: configuration, pool: context.pool, logger: context.logger)])
        }
    )
}

/// Reads `huitong.payments.*` (environment `HUITONG_PAYMENTS_*`) into a ``PaymentsConfiguration``.
///
/// | key | type | default |
/// |---|---|---|
/// | `huitong.payments.compliance-gate` | on/off | on |
/// | `huitong.payments.duplicate-window` | seconds | 86400 (R-PAY-5) |
/// | `huitong.payments.adapter-timeout` | seconds | 30 (R-PAY-4) |
/// | `huitong.payments.query-backoff-max` | seconds | 600 |
/// | `huitong.payments.timer-interval` | seconds | 1 |
/// | `huitong.payments.metrics-interval` | seconds, 0 = off | 15 |
/// | `huitong.payments.hvps.opens` | HH:MM, previous day | 20:30 |
/// | `huitong.payments.hvps.cutoff` | HH:MM | 17:15 |
/// | `huitong.payments.beps-limit` | CNY | 50000.00 (R-PAY-1) |
/// | `huitong.payments.hvps-threshold` | CNY | 0.00 |
/// | `huitong.payments.low-value-rail` | BEPS/IBPS | BEPS |
/// | `huitong.payments.person-transfer-limit` | CNY | 50000.00 (R-PAY-8) |
/// | `huitong.payments.maximum-amount` | CNY | 100000000.00 |
/// | `huitong.payments.max-days-ahead` | days | 30 |
/// | `huitong.payments.batch-max-lines` | count | 5000 |
/// | `huitong.payments.ecny.operators` | comma-separated codes | the ten designated operators |
/// | `huitong.payments.calendar` | path of a `BusinessCalendar` JSON file (holidays, 调休 working weekends) | `config/calendars/cn-2026.json` if present, else weekends only |
public enum PaymentsRoleConfiguration {
    /// The calendar used when `huitong.payments.calendar` is not set (relative to the working directory).
    public static let defaultCalendarPath = "config/calendars/cn-2026.json"

    /// Reads and validates every key.
    /// - Parameter reader: The configuration reader.
    /// - Returns: The configuration.
    /// - Throws: ``HubAppError`` naming the key and the problem.
    public static func read(_ reader: ConfigReader) throws -> PaymentsConfiguration {
        var configuration = PaymentsConfiguration()
        func value(_ key: String) -> String? {
            reader.string(forKey: ConfigKey("huitong.payments." + key))?.trimmingCharacters(in: .whitespaces)
        }
        func fail(_ key: String, _ problem: String) -> HubAppError {
            HubAppError.invalidConfiguration(key: "huitong.payments." + key, problem)
        }
        func seconds(_ key: String) throws -> Duration? {
            guard let text = value(key) else { return nil }
            guard let seconds = Int(text), (1...86_400 * 30).contains(seconds) else {
                throw fail(key, "must be a whole number of seconds from 1 to 2592000")
            }
            return .seconds(seconds)
        }
        func money(_ key: String) throws -> Money? {
            guard let text = value(key) else { return nil }
            guard let money = try? Money(string: text, currency: .cny), !money.isNegative else {
                throw fail(key, "must be a CNY amount such as 50000.00")
            }
            return money
        }
        func time(_ key: String) throws -> TimeOfDay? {
            guard let text = value(key) else { return nil }
            guard let time = TimeOfDay(text) else { throw fail(key, "must be a time HH:MM (Asia/Shanghai)") }
            return time
        }
        func count(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = value(key) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw fail(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        if let gate = value("compliance-gate") {
            switch gate.lowercased() {
            case "on", "true", "1": configuration.complianceGate = true
            case "off", "false", "0": configuration.complianceGate = false
            default: throw fail("compliance-gate", "must be on or off")
            }
        }
        configuration.duplicateWindow = try seconds("duplicate-window") ?? configuration.duplicateWindow
        configuration.adapterTimeout = try seconds("adapter-timeout") ?? configuration.adapterTimeout
        configuration.queryBackoffMaximum = try seconds("query-backoff-max") ?? configuration.queryBackoffMaximum
        configuration.timerInterval = try seconds("timer-interval") ?? configuration.timerInterval
        if value("metrics-interval") == "0" {
            configuration.metricsInterval = nil
        } else if let interval = try seconds("metrics-interval") {
            configuration.metricsInterval = interval
        }
        configuration.hvpsOpens = try time("hvps.opens") ?? configuration.hvpsOpens
        configuration.hvpsCutoff = try time("hvps.cutoff") ?? configuration.hvpsCutoff
        configuration.bepsLimit = try money("beps-limit") ?? configuration.bepsLimit
        configuration.hvpsThreshold = try money("hvps-threshold") ?? configuration.hvpsThreshold
        configuration.personTransferLimit = try money("person-transfer-limit") ?? configuration.personTransferLimit
        configuration.maximumAmount = try money("maximum-amount") ?? configuration.maximumAmount
        configuration.maximumDaysAhead = try count("max-days-ahead", 0...366) ?? configuration.maximumDaysAhead
        configuration.batchMaximumLines = try count("batch-max-lines", 1...100_000) ?? configuration.batchMaximumLines
        if let rail = value("low-value-rail") {
            guard let parsed = Rail(rawValue: rail.uppercased()), parsed == .beps || parsed == .ibps else {
                throw fail("low-value-rail", "must be BEPS or IBPS")
            }
            configuration.lowValueRail = parsed
        }
        if let operators = value("ecny.operators") {
            let codes = Set(operators.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            guard !codes.isEmpty else { throw fail("ecny.operators", "must list at least one operator code") }
            configuration.walletOperators = codes
        }
        let calendarPath = value("calendar")
        let path = calendarPath ?? defaultCalendarPath
        if let data = FileManager.default.contents(atPath: path) {
            do {
                configuration.calendar = try BusinessCalendar.decode(data)
            } catch {
                throw fail("calendar", "is not a valid calendar file (\(path))")
            }
        } else if calendarPath != nil {
            throw fail("calendar", "names a file that cannot be read (\(path))")
        } else {
            configuration.calendar = BusinessCalendar.weekendsOnly
        }
        return configuration
    }
}
