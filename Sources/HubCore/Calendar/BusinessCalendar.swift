public import Foundation

/// Working days as data: weekends off, plus public holidays off and make-up working weekends (调休) on.
///
/// Chinese holidays move every year by State Council notice, so they are never code: a calendar is loaded from a
/// JSON file (see `config/calendars/`), covers a date range, and says so when asked about a date it does not
/// cover. Outside its coverage it falls back to weekends-only and ``covers(_:)`` is false, so a service can warn
/// (or refuse) before it relies on a guess.
///
/// ```json
/// {"name": "CN", "timeZone": "Asia/Shanghai", "validFrom": "2026-01-01", "validThrough": "2026-12-31",
///  "holidays": ["2026-01-01"], "workingWeekends": ["2026-01-04"], "source": "…"}
/// ```
public struct BusinessCalendar: Sendable, Hashable {
    /// A short name, e.g. `CN`.
    public let name: String
    /// The zone whose dates these are.
    public let timeZone: TimeZone
    /// The first date the holiday data covers.
    public let validFrom: LocalDate?
    /// The last date the holiday data covers.
    public let validThrough: LocalDate?
    /// Non-working weekdays.
    public let holidays: Set<LocalDate>
    /// Working Saturdays and Sundays.
    public let workingWeekends: Set<LocalDate>

    /// Weekends off, nothing else: the calendar of the REFERENCE.md UCP600 vectors.
    public static let weekendsOnly = BusinessCalendar(name: "weekends-only", timeZone: LocalDate.shanghai)

    /// Creates a calendar.
    public init(
        name: String,
        timeZone: TimeZone,
        validFrom: LocalDate? = nil,
        validThrough: LocalDate? = nil,
        holidays: Set<LocalDate> = [],
        workingWeekends: Set<LocalDate> = []
    ) {
        self.name = name
        self.timeZone = timeZone
        self.validFrom = validFrom
        self.validThrough = validThrough
        self.holidays = holidays
        self.workingWeekends = workingWeekends
    }

    /// Whether the holiday data covers a date (a calendar without a range covers nothing beyond weekends).
    public func covers(_ date: LocalDate) -> Bool {
        guard let validFrom, let validThrough else { return false }
        return validFrom <= date && date <= validThrough
    }

    /// Whether a date is a working day.
    public func isWorkingDay(_ date: LocalDate) -> Bool {
        if workingWeekends.contains(date) { return true }
        if holidays.contains(date) { return false }
        return !date.isWeekend
    }

    /// The first working day on or after a date.
    public func workingDay(onOrAfter date: LocalDate) -> LocalDate {
        var day = date
        while !isWorkingDay(day) { day = day.adding(days: 1) }
        return day
    }

    /// The `count`-th working day after a date (the date itself not counted): "within 5 working days" of a
    /// transaction on `date` ends on `addingWorkingDays(5, to: date)`.
    /// - Precondition: `count >= 0`; 0 returns the date itself.
    public func addingWorkingDays(_ count: Int, to date: LocalDate) -> LocalDate {
        precondition(count >= 0, "working days to add must not be negative")
        var day = date
        var remaining = count
        while remaining > 0 {
            day = day.adding(days: 1)
            if isWorkingDay(day) { remaining -= 1 }
        }
        return day
    }

    /// The local date of an instant in this calendar's zone.
    public func date(of instant: Date) -> LocalDate {
        LocalDate(instant, in: timeZone)
    }

    private struct File: Decodable {
        var name: String
        var timeZone: String
        var validFrom: LocalDate
        var validThrough: LocalDate
        var holidays: [LocalDate]
        var workingWeekends: [LocalDate]
        var source: String?
    }

    /// Decodes a calendar file.
    /// - Parameter data: The JSON.
    /// - Throws: `ValidationError` naming what is wrong (unknown zone, a holiday on a weekend, a working weekend
    ///   that is a weekday, a date outside the declared range).
    public static func decode(_ data: Data) throws -> BusinessCalendar {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw ValidationError(.malformedJSON, rule: "calendar", message: "calendar file: \(error)")
        }
        guard let zone = TimeZone(identifier: file.timeZone) else {
            throw ValidationError(.invalidValue, pointer: "/timeZone", rule: "calendar", message: "unknown time zone \(file.timeZone)")
        }
        guard file.validFrom <= file.validThrough else {
            throw ValidationError(.invalidValue, pointer: "/validThrough", rule: "calendar", message: "validThrough is before validFrom")
        }
        for (index, day) in file.holidays.enumerated() {
            guard file.validFrom <= day, day <= file.validThrough else {
                throw ValidationError(.outOfRange, pointer: "/holidays/\(index)", rule: "calendar", message: "\(day) is outside the calendar's range")
            }
        }
        for (index, day) in file.workingWeekends.enumerated() {
            guard day.isWeekend else {
                throw ValidationError(.invalidValue, pointer: "/workingWeekends/\(index)", rule: "calendar", message: "\(day) is not a Saturday or Sunday")
            }
            guard file.validFrom <= day, day <= file.validThrough else {
                throw ValidationError(.outOfRange, pointer: "/workingWeekends/\(index)", rule: "calendar", message: "\(day) is outside the calendar's range")
            }
        }
        return BusinessCalendar(
            name: file.name,
            timeZone: zone,
            validFrom: file.validFrom,
            validThrough: file.validThrough,
            holidays: Set(file.holidays),
            workingWeekends: Set(file.workingWeekends)
        )
    }
}
