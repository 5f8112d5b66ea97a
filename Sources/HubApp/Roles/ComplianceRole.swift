public import ComplianceChecker
public import Configuration
import Foundation
public import HubCore
import HubRuntime
import Logging
import ServiceLifecycle
import UnixSignals

extension HubRole {
    /// The compliance checker: `tap.compliance` bound to `#` on `hub.commands` and `hub.events`, rules over all
    /// traffic, verdicts for screened commands, reports, holds; plus the hold-expiry timer and the watchlist
    /// reloader.
    ///
    /// | key | environment | type | default |
    /// |---|---|---|---|
    /// | `huitong.compliance.parameters-file` | `HUITONG_COMPLIANCE_PARAMETERS_FILE` | path to JSON | none: REFERENCE.md figures |
    /// | `huitong.compliance.calendar-file` | `HUITONG_COMPLIANCE_CALENDAR_FILE` | path to a calendar JSON | `config/calendars/cn-2026.json` if present, else weekends only (warned) |
    /// | `huitong.compliance.watchlists` | `HUITONG_COMPLIANCE_WATCHLISTS` | comma-separated files or folders | none (warned) |
    /// | `huitong.compliance.watchlist-reload-interval` | `HUITONG_COMPLIANCE_WATCHLIST_RELOAD_INTERVAL` | seconds | 5 |
    /// | `huitong.compliance.screened-types` | `HUITONG_COMPLIANCE_SCREENED_TYPES` | comma-separated types | transfer and batch requests |
    /// | `huitong.compliance.four-eyes` | `HUITONG_COMPLIANCE_FOUR_EYES` | on/off | off |
    /// | `huitong.compliance.hold-expiry` | `HUITONG_COMPLIANCE_HOLD_EXPIRY` | seconds | 259200 (72 h) |
    /// | `huitong.compliance.hold-amount-threshold` | `HUITONG_COMPLIANCE_HOLD_AMOUNT_THRESHOLD` | CNY decimal | none |
    /// | `huitong.compliance.hold-new-counterparty` | `HUITONG_COMPLIANCE_HOLD_NEW_COUNTERPARTY` | on/off | off |
    /// | `huitong.compliance.expiry-interval` | `HUITONG_COMPLIANCE_EXPIRY_INTERVAL` | seconds | 30 |
    ///
    /// Keys override the parameters file.
    public static let compliance = HubRole(
        name: "compliance",
        consumers: [ComplianceRoleConfiguration.consumer()],
        isBuilt: true,
        build: { context in
            let settings = try ComplianceRoleConfiguration(reader: context.reader)
            let watchlists = WatchlistStore(paths: settings.watchlistPaths)
            do {
                try watchlists.reloadIfChanged()
            } catch {
                throw HubAppError(
                    .invalidConfiguration, "compliance watchlist \(error)",
                    fix: "correct the file or HUITONG_COMPLIANCE_WATCHLISTS")
            }
            if settings.watchlistPaths.isEmpty {
                context.logger.warning("no watchlists configured: R-AML-9 screening matches nothing (set huitong.compliance.watchlists)")
            }
            let today = settings.calendar.date(of: Date())
            if !settings.calendar.covers(today) {
                context.logger.warning(
                    "the working-day calendar does not cover today: R-AML-8 deadlines count weekends only",
                    metadata: ["compliance.calendar": "\(settings.calendar.name)"])
            }
            let checker = ComplianceChecker(
                parameters: settings.parameters, watchlists: watchlists, calendar: settings.calendar)
            let holds = ComplianceHolds(pool: context.pool)
            return RoleParts(
                handlers: [ComplianceChecker.queue: checker],
                services: [
                    HoldExpiryService(holds: holds, interval: settings.expiryInterval, logger: context.logger),
                    WatchlistReloader(
                        store: watchlists, interval: settings.watchlistReloadInterval,
                        rescreening: Rescreening(pool: context.pool), logger: context.logger),
                    WatchlistSignalReloader(store: watchlists, rescreening: Rescreening(pool: context.pool), logger: context.logger),
                ]
            )
        }
    )
}

/// The `compliance` role's configuration, validated (one line naming the key for anything wrong).
public struct ComplianceRoleConfiguration: Sendable {
    /// The rule parameters (file, then keys).
    public var parameters = ComplianceParameters()
    /// The working-day calendar.
    public var calendar = BusinessCalendar.weekendsOnly
    /// Watchlist files or folders.
    public var watchlistPaths: [String] = []
    /// Watchlist reload poll.
    public var watchlistReloadInterval: Duration = .seconds(5)
    /// Hold expiry poll.
    public var expiryInterval: Duration = .seconds(30)

    /// The role's queue: bound to `#` on commands and events (not on `hub.dead`: the tap's own parked messages are
    /// routed there under its queue name and would come back to it).
    /// - Returns: The consumer.
    public static func consumer() -> Topology.Consumer {
        Topology.Consumer(
            queue: ComplianceChecker.queue,
            bindings: [(exchange: Topology.ExchangeName.commands, pattern: "#"), (exchange: Topology.ExchangeName.events, pattern: "#")]
        )
    }

    /// Reads and validates the keys.
    /// - Parameter reader: The configuration reader.
    /// - Throws: ``HubAppError`` naming the key.
    public init(reader: ConfigReader) throws {
        func read(_ key: String) -> String? {
            guard let value = reader.string(forKey: ConfigKey("huitong.compliance.\(key)")) else { return nil }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
        func flag(_ key: String) throws -> Bool? {
            guard let value = read(key) else { return nil }
            switch value.lowercased() {
            case "on", "true", "yes", "1": return true
            case "off", "false", "no", "0": return false
            default: throw HubAppError.invalidConfiguration(key: "huitong.compliance.\(key)", "must be on or off")
            }
        }
        func seconds(_ key: String, range: ClosedRange<Int>) throws -> Int? {
            guard let value = read(key) else { return nil }
            guard let seconds = Int(value), range.contains(seconds) else {
                throw HubAppError.invalidConfiguration(
                    key: "huitong.compliance.\(key)", "must be whole seconds from \(range.lowerBound) to \(range.upperBound)")
            }
            return seconds
        }
        if let path = read("parameters-file") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw HubAppError.invalidConfiguration(key: "huitong.compliance.parameters-file", "names a file that cannot be read")
            }
            do {
                parameters = try ComplianceParameters.parse(Array(data))
            } catch {
                throw HubAppError.invalidConfiguration(key: "huitong.compliance.parameters-file", "is invalid: \(error)")
            }
        }
        // The same default as payments: the shipped calendar when run from the checkout, else weekends only (warned).
        if let path = read("calendar-file")
            ?? (FileManager.default.fileExists(atPath: PaymentsRoleConfiguration.defaultCalendarPath)
                ? PaymentsRoleConfiguration.defaultCalendarPath : nil)
        {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw HubAppError.invalidConfiguration(key: "huitong.compliance.calendar-file", "names a file that cannot be read")
            }
            do {
                calendar = try BusinessCalendar.decode(data)
            } catch {
                throw HubAppError.invalidConfiguration(key: "huitong.compliance.calendar-file", "is invalid: \(error)")
            }
        }
        if let value = read("watchlists") {
            watchlistPaths = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let value = try seconds("watchlist-reload-interval", range: 1...3600) { watchlistReloadInterval = .seconds(value) }
        if let value = try seconds("expiry-interval", range: 1...3600) { expiryInterval = .seconds(value) }
        if let value = read("screened-types") {
            var types: Set<String> = []
            for name in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard (try? MessageType(name)) != nil else {
                    throw HubAppError.invalidConfiguration(
                        key: "huitong.compliance.screened-types", "has '\(name)', which is not a message type")
                }
                types.insert(name)
            }
            parameters.screenedTypes = types
        }
        if let value = try flag("four-eyes") { parameters.holds.fourEyes = value }
        if let value = try flag("hold-new-counterparty") { parameters.holds.onNewCounterparty = value }
        if let value = try seconds("hold-expiry", range: 1...(366 * 86_400)) { parameters.holds.expirySeconds = value }
        if let value = read("hold-amount-threshold") {
            guard let amount = try? Money(string: value, currency: .cny), !amount.isNegative else {
                throw HubAppError.invalidConfiguration(
                    key: "huitong.compliance.hold-amount-threshold", "must be a CNY amount such as 5000000.00")
            }
            parameters.holds.amountThreshold = amount.amount
        }
    }
}

/// `kill -HUP <pid>` reloads the watchlists at once (changed or not) and re-screens recent parties.
struct WatchlistSignalReloader: Service {
    let store: WatchlistStore
    let rescreening: Rescreening
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try store.reloadNow()
                logger.info("watchlists reloaded on SIGHUP", metadata: ["compliance.entries": "\(store.index.entries.count)"])
                let raised = try await rescreening.run(index: store.index)
                if raised > 0 { logger.warning("re-screening found new watchlist hits", metadata: ["compliance.hits": "\(raised)"]) }
            } catch {
                logger.error("watchlist reload on SIGHUP failed; the previous lists stay in use", metadata: ["error": "\(error)"])
            }
        }
    }
}
