public import Foundation
public import HubCore

/// A calendar date in Asia/Shanghai (R-GEN-4): business dates, value dates and HVPS working days.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The year.
    public let year: Int
    /// The month, 1–12.
    public let month: Int
    /// The day, 1–31.
    public let day: Int

    /// The Asia/Shanghai time zone (UTC+8, no daylight saving since 1991).
    public static let shanghai: TimeZone = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600)!

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = shanghai
        return calendar
    }()

    /// Parses `YYYY-MM-DD` and checks that the date exists.
    /// - Parameter text: The date.
    /// - Returns: The date, or nil.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D,
              let year = Int(text.prefix(4)), let month = Int(text.dropFirst(5).prefix(2)),
              let day = Int(text.suffix(2)),
              bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) })
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// Creates a date if it exists.
    /// - Parameters:
    ///   - year: The year.
    ///   - month: The month.
    ///   - day: The day.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = Self.calendar.date(from: components),
              Self.calendar.component(.day, from: date) == day, Self.calendar.component(.month, from: date) == month
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The Asia/Shanghai calendar date of an instant.
    /// - Parameter instant: The instant.
    public init(containing instant: Date) {
        let components = Self.calendar.dateComponents([.year, .month, .day], from: instant)
        self.year = components.year ?? 1970
        self.month = components.month ?? 1
        self.day = components.day ?? 1
    }

    /// The instant of `hour:minute` on this date in Asia/Shanghai.
    /// - Parameters:
    ///   - hour: The hour, 0–23.
    ///   - minute: The minute, 0–59.
    /// - Returns: The instant.
    public func at(hour: Int, minute: Int) -> Date {
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute)
        return Self.calendar.date(from: components) ?? Date(timeIntervalSince1970: 0)
    }

    /// The date `days` later (or earlier when negative).
    /// - Parameter days: The number of calendar days.
    /// - Returns: The date.
    public func adding(days: Int) -> CalendarDate {
        let noon = at(hour: 12, minute: 0).addingTimeInterval(TimeInterval(days) * 86_400)
        return CalendarDate(containing: noon)
    }

    /// Whether Saturday or Sunday.
    public var isWeekend: Bool {
        let weekday = Self.calendar.component(.weekday, from: at(hour: 12, minute: 0))
        return weekday == 1 || weekday == 7
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Orders dates chronologically.
    /// - Parameters:
    ///   - lhs: A date.
    ///   - rhs: Another date.
    /// - Returns: Whether `lhs` is earlier.
    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

/// Which days the interbank systems work (R-GEN-4: from the State Council calendar, as data, never inferred from the
/// weekday alone).
public protocol WorkingDayCalendar: Sendable {
    /// Whether HVPS works on a date.
    /// - Parameter date: The Asia/Shanghai date.
    /// - Returns: Whether it is a working day.
    func isWorkingDay(_ date: CalendarDate) -> Bool
}

/// A working-day calendar from data: weekdays work unless listed as holidays; weekends rest unless listed as
/// make-up working days (调休).
public struct ListedWorkingDays: WorkingDayCalendar, Hashable {
    /// Weekday holidays.
    public var holidays: Set<CalendarDate>
    /// Weekend make-up working days.
    public var makeUpWorkingDays: Set<CalendarDate>

    /// Creates the calendar.
    /// - Parameters:
    ///   - holidays: Weekday holidays.
    ///   - makeUpWorkingDays: Weekend working days.
    public init(holidays: Set<CalendarDate> = [], makeUpWorkingDays: Set<CalendarDate> = []) {
        self.holidays = holidays
        self.makeUpWorkingDays = makeUpWorkingDays
    }

    /// Whether the date is a working day.
    /// - Parameter date: The date.
    /// - Returns: Whether it works.
    public func isWorkingDay(_ date: CalendarDate) -> Bool {
        if makeUpWorkingDays.contains(date) { return true }
        if holidays.contains(date) { return false }
        return !date.isWeekend
    }
}

extension BusinessCalendar: WorkingDayCalendar {
    /// Whether HVPS works on a date, from the calendar's data (holidays and 调休 make-up days, R-GEN-4).
    /// - Parameter date: The Asia/Shanghai date.
    /// - Returns: Whether it is a working day.
    public func isWorkingDay(_ date: CalendarDate) -> Bool {
        guard let local = try? LocalDate(year: date.year, month: date.month, day: date.day) else { return false }
        return isWorkingDay(local)
    }
}
