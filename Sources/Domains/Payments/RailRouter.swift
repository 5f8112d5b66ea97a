public import Foundation
public import HubCore

/// Where a transfer goes next (R-PAY-1).
public enum RoutingDecision: Sendable, Hashable {
    /// Submit now on `rail`, settling on `settlementDate` (Asia/Shanghai).
    case execute(rail: Rail, settlementDate: CalendarDate)
    /// Wait until `until` (the HVPS opening, or the requested execution date), then route again.
    case queue(until: Date)
}

/// Chooses the rail of a transfer from its destination, amount and the time (R-PAY-1). Pure: the clock and the
/// working-day calendar come in.
///
/// - e-CNY wallet → ECNY.
/// - A requested execution date after today → queued until 00:00 that day, then routed again.
/// - HVPS is open on working day D from `hvpsOpens` on D−1 to `hvpsCutoff` on D (value date D).
/// - Amount above the BEPS limit → HVPS if open, else queued until HVPS next opens.
/// - Otherwise → HVPS if open and the amount reaches `hvpsThreshold`, else the low-value rail (BEPS or IBPS, 7×24,
///   value date today).
public struct RailRouter: Sendable {
    /// The settings.
    public let configuration: PaymentsConfiguration

    /// Creates a router.
    /// - Parameter configuration: The settings.
    public init(configuration: PaymentsConfiguration) {
        self.configuration = configuration
    }

    /// Routes a transfer.
    /// - Parameters:
    ///   - toWallet: Whether the payee is an e-CNY wallet.
    ///   - amount: The amount (CNY).
    ///   - requestedExecutionDate: The requested date, if any.
    ///   - now: The current instant.
    /// - Returns: The decision.
    public func route(toWallet: Bool, amount: Money, requestedExecutionDate: CalendarDate?, now: Date)
        -> RoutingDecision
    {
        let today = CalendarDate(containing: now)
        if let requested = requestedExecutionDate, requested > today {
            return .queue(until: requested.at(hour: 0, minute: 0))
        }
        if toWallet { return .execute(rail: .ecny, settlementDate: today) }
        let hvpsDay = hvpsValueDate(at: now)
        let aboveLimit = (try? amount.compare(configuration.bepsLimit)) == .orderedDescending
        if aboveLimit {
            if let hvpsDay { return .execute(rail: .hvps, settlementDate: hvpsDay) }
            return .queue(until: nextHVPSOpening(after: now))
        }
        if let hvpsDay, (try? amount.compare(configuration.hvpsThreshold)) != .orderedAscending {
            return .execute(rail: .hvps, settlementDate: hvpsDay)
        }
        return .execute(rail: configuration.lowValueRail, settlementDate: today)
    }

    /// The working day whose HVPS window contains `now`, if HVPS is open.
    /// - Parameter now: The instant.
    /// - Returns: The value date, or nil when HVPS is closed.
    public func hvpsValueDate(at now: Date) -> CalendarDate? {
        let today = CalendarDate(containing: now)
        let calendar = configuration.calendar
        if calendar.isWorkingDay(today), now < cutoff(on: today), now >= opening(of: today) { return today }
        let tomorrow = today.adding(days: 1)
        if calendar.isWorkingDay(tomorrow), now >= opening(of: tomorrow), now < cutoff(on: tomorrow) { return tomorrow }
        return nil
    }

    /// The next time HVPS opens after `now` (when it is closed at `now`).
    /// - Parameter now: The instant.
    /// - Returns: The opening instant (within the next 60 days; a calendar without working days gives now + 1 day).
    public func nextHVPSOpening(after now: Date) -> Date {
        let today = CalendarDate(containing: now)
        for offset in 0...60 {
            let day = today.adding(days: offset)
            guard configuration.calendar.isWorkingDay(day) else { continue }
            let open = opening(of: day)
            if open > now { return open }
            // Unreachable when HVPS is closed at `now`; never hand back `now` itself (the timer would spin).
            if now < cutoff(on: day) { return now.addingTimeInterval(60) }
        }
        return now.addingTimeInterval(86_400)
    }

    private func opening(of workingDay: CalendarDate) -> Date {
        workingDay.adding(days: -1).at(hour: configuration.hvpsOpens.hour, minute: configuration.hvpsOpens.minute)
    }

    private func cutoff(on workingDay: CalendarDate) -> Date {
        workingDay.at(hour: configuration.hvpsCutoff.hour, minute: configuration.hvpsCutoff.minute)
    }
}
