import Foundation
import HubCore
import Testing

@Suite("Local dates and working-day calendars")
struct BusinessCalendarTests {
    @Test("YYYY-MM-DD parses exactly and refuses dates that do not exist")
    func parsing() throws {
        let date = try LocalDate("2026-02-28")
        #expect(date.year == 2026 && date.month == 2 && date.day == 28)
        #expect(date.description == "2026-02-28")
        #expect(throws: ValidationError.self) { try LocalDate("2026-02-30") }
        #expect(throws: ValidationError.self) { try LocalDate("2026-2-3") }
        #expect(throws: ValidationError.self) { try LocalDate("2026-13-01") }
        #expect(throws: ValidationError.self) { try LocalDate("２０２６-01-01") }
        #expect(try LocalDate("2024-02-29").day == 29)
        #expect(throws: ValidationError.self) { try LocalDate("2100-02-29") }
    }

    @Test("Day arithmetic and weekdays agree with Foundation's Gregorian calendar over 30 years")
    func arithmeticAgreesWithFoundation() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = try LocalDate("2010-01-01")
        for offset in stride(from: 0, to: 365 * 30, by: 7) {
            let date = start.adding(days: offset)
            let instant = calendar.date(byAdding: .day, value: offset, to: start.start(in: calendar.timeZone))!
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: instant)
            #expect((date.year, date.month, date.day) == (parts.year!, parts.month!, parts.day!))
            // Foundation: 1 = Sunday … 7 = Saturday; ISO: 1 = Monday … 7 = Sunday.
            #expect(date.isoWeekday == (parts.weekday! + 5) % 7 + 1)
            #expect(LocalDate(daysSinceEpoch: date.daysSinceEpoch) == date)
        }
    }

    @Test("The local date of an instant depends on the zone, which is always explicit")
    func zones() throws {
        // 2026-11-22T16:30:00Z is already the 23rd in Shanghai (UTC+8).
        let instant = Date(timeIntervalSince1970: 1_795_365_000)
        #expect(LocalDate(instant, in: TimeZone(identifier: "UTC")!).description == "2026-11-22")
        #expect(LocalDate(instant, in: LocalDate.shanghai).description == "2026-11-23")
    }

    @Test("R-FX-7 vector 34: presented Thursday 2026-06-04, weekends-only, five banking days → 2026-06-11")
    func ucp600ExaminationDeadline() throws {
        let deadline = BusinessCalendar.weekendsOnly.addingWorkingDays(5, to: try LocalDate("2026-06-04"))
        #expect(deadline.description == "2026-06-11")
    }

    @Test("R-FX-5,6 vector 33: shipped 2026-03-07 + 21 days falls on a Saturday and moves to 2026-03-30")
    func ucp600LatestPresentation() throws {
        let calendar = BusinessCalendar.weekendsOnly
        let shipped = try LocalDate("2026-03-07")
        let expiry = try LocalDate("2026-04-30")
        let latest = calendar.workingDay(onOrAfter: min(shipped.adding(days: 21), expiry))
        #expect(latest.description == "2026-03-30")
    }

    @Test("Holidays are off and make-up weekends (调休) are on; the file's coverage is reported")
    func chineseCalendarData() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/calendars/cn-2026.json")
        let calendar = try BusinessCalendar.decode(try Data(contentsOf: url))
        #expect(calendar.timeZone.identifier == "Asia/Shanghai")
        #expect(!calendar.isWorkingDay(try LocalDate("2026-10-01")))   // National Day, a Thursday
        #expect(calendar.isWorkingDay(try LocalDate("2026-10-10")))    // a make-up Saturday
        #expect(!calendar.isWorkingDay(try LocalDate("2026-11-22")))   // an ordinary Sunday
        #expect(calendar.isWorkingDay(try LocalDate("2026-11-23")))    // an ordinary Monday
        // Friday 2026-09-30 + 1 working day skips the whole Golden Week to the make-up Saturday.
        #expect(calendar.addingWorkingDays(1, to: try LocalDate("2026-09-30")).description == "2026-10-08")
        #expect(calendar.covers(try LocalDate("2026-12-31")))
        #expect(!calendar.covers(try LocalDate("2027-01-04")))
    }

    @Test("A calendar file with a weekday listed as a working weekend is refused with its pointer")
    func invalidCalendarFile() throws {
        let json = """
            {"name":"X","timeZone":"Asia/Shanghai","validFrom":"2026-01-01","validThrough":"2026-12-31",
             "holidays":[],"workingWeekends":["2026-11-23"]}
            """
        #expect {
            _ = try BusinessCalendar.decode(Data(json.utf8))
        } throws: { error in
            (error as? ValidationError)?.pointer == "/workingWeekends/0"
        }
        let badZone = json.replacingOccurrences(of: "Asia/Shanghai", with: "Mars/Olympus")
        #expect(throws: ValidationError.self) { try BusinessCalendar.decode(Data(badZone.utf8)) }
    }
}
