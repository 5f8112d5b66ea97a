import Foundation
import HubCore
import Testing
@testable import PaymentsService

/// R-PAY-1 with the calendar as data (R-GEN-4). 2026-11-23 is a Monday; 2026-11-28/29 a weekend.
@Suite("Rail routing (R-PAY-1)")
struct RoutingTests {
    let small = Money(minorUnits: 5_000_000, currency: .cny)       // 50,000.00: at the BEPS limit
    let large = Money(minorUnits: 5_000_001, currency: .cny)       // 50,000.01: above it

    func router(_ configure: (inout PaymentsConfiguration) -> Void = { _ in }) -> RailRouter {
        var configuration = PaymentsConfiguration()
        configure(&configuration)
        return RailRouter(configuration: configuration)
    }

    @Test("Above the BEPS limit within HVPS hours on a working day: HVPS, value date today")
    func largeInHours() {
        #expect(router().route(toWallet: false, amount: large, requestedExecutionDate: nil,
                               now: Fixtures.instant("2026-11-23", 10, 0))
                == .execute(rail: .hvps, settlementDate: CalendarDate("2026-11-23")!))
        // Just before the 17:15 cut-off.
        #expect(router().route(toWallet: false, amount: large, requestedExecutionDate: nil,
                               now: Fixtures.instant("2026-11-23", 17, 14))
                == .execute(rail: .hvps, settlementDate: CalendarDate("2026-11-23")!))
    }

    @Test("Above the limit after the cut-off: queued until 20:30, when HVPS accepts for the next working day")
    func largeAfterCutoff() {
        let decision = router().route(toWallet: false, amount: large, requestedExecutionDate: nil,
                                      now: Fixtures.instant("2026-11-23", 17, 15))
        #expect(decision == .queue(until: Fixtures.instant("2026-11-23", 20, 30)))
        // At 20:30 it goes out with Tuesday's value date.
        #expect(router().route(toWallet: false, amount: large, requestedExecutionDate: nil,
                               now: Fixtures.instant("2026-11-23", 20, 30))
                == .execute(rail: .hvps, settlementDate: CalendarDate("2026-11-24")!))
    }

    @Test("Friday evening and the weekend: queued until Sunday 20:30 (Monday's window)")
    func weekend() {
        let sunday = Fixtures.instant("2026-11-29", 20, 30)
        #expect(router().route(toWallet: false, amount: large, requestedExecutionDate: nil,
                               now: Fixtures.instant("2026-11-27", 21, 0)) == .queue(until: sunday))
        #expect(router().route(toWallet: false, amount: large, requestedExecutionDate: nil,
                               now: Fixtures.instant("2026-11-28", 10, 0)) == .queue(until: sunday))
    }

    @Test("Holidays and make-up working days come from data, not the weekday (R-GEN-4)")
    func calendarAsData() {
        let holidayMonday = router {
            $0.calendar = ListedWorkingDays(holidays: [CalendarDate("2026-11-23")!],
                                            makeUpWorkingDays: [CalendarDate("2026-11-28")!])
        }
        // Monday is a holiday: closed at 10:00, next window opens Monday 20:30 for Tuesday.
        #expect(holidayMonday.route(toWallet: false, amount: large, requestedExecutionDate: nil,
                                    now: Fixtures.instant("2026-11-23", 10, 0))
                == .queue(until: Fixtures.instant("2026-11-23", 20, 30)))
        // Saturday is a make-up working day: open at 10:00 with Saturday's value date.
        #expect(holidayMonday.route(toWallet: false, amount: large, requestedExecutionDate: nil,
                                    now: Fixtures.instant("2026-11-28", 10, 0))
                == .execute(rail: .hvps, settlementDate: CalendarDate("2026-11-28")!))
    }

    @Test("Up to the BEPS limit outside HVPS hours: BEPS (7×24), or IBPS when configured")
    func lowValue() {
        let saturday = Fixtures.instant("2026-11-28", 10, 0)
        #expect(router().route(toWallet: false, amount: small, requestedExecutionDate: nil, now: saturday)
                == .execute(rail: .beps, settlementDate: CalendarDate("2026-11-28")!))
        #expect(router { $0.lowValueRail = .ibps }.route(toWallet: false, amount: small, requestedExecutionDate: nil,
                                                         now: saturday)
                == .execute(rail: .ibps, settlementDate: CalendarDate("2026-11-28")!))
    }

    @Test("Within HVPS hours, amounts at or above hvps-threshold use HVPS, smaller ones the low-value rail")
    func threshold() {
        let monday = Fixtures.instant("2026-11-23", 10, 0)
        #expect(router().route(toWallet: false, amount: small, requestedExecutionDate: nil, now: monday)
                == .execute(rail: .hvps, settlementDate: CalendarDate("2026-11-23")!))
        let thresholded = router { $0.hvpsThreshold = Money(minorUnits: 1_000_000, currency: .cny) }
        #expect(thresholded.route(toWallet: false, amount: Money(minorUnits: 999_999, currency: .cny),
                                  requestedExecutionDate: nil, now: monday)
                == .execute(rail: .beps, settlementDate: CalendarDate("2026-11-23")!))
    }

    @Test("e-CNY wallets always go to the e-CNY adapter; a future execution date queues until 00:00 that day")
    func walletAndFutureDate() {
        let saturday = Fixtures.instant("2026-11-28", 23, 0)
        #expect(router().route(toWallet: true, amount: large, requestedExecutionDate: nil, now: saturday)
                == .execute(rail: .ecny, settlementDate: CalendarDate("2026-11-28")!))
        #expect(router().route(toWallet: false, amount: small, requestedExecutionDate: CalendarDate("2026-11-30"),
                               now: saturday)
                == .queue(until: Fixtures.instant("2026-11-30", 0, 0)))
    }

    @Test("The HVPS window is configuration: an earlier bank cut-off")
    func configuredCutoff() {
        let early = router { $0.hvpsCutoff = TimeOfDay("16:00")! }
        #expect(early.route(toWallet: false, amount: large, requestedExecutionDate: nil,
                            now: Fixtures.instant("2026-11-23", 16, 30))
                == .queue(until: Fixtures.instant("2026-11-23", 20, 30)))
    }
}

@Suite("Transfer state machine")
struct StateMachineTests {
    @Test("The happy paths: gate, route, submit, settle or fail")
    func paths() {
        #expect(TransferStateMachine.next(after: .complianceHeld, from: .accepted) == .pendingCompliance)
        #expect(TransferStateMachine.next(after: .complianceCleared, from: .pendingCompliance) == .accepted)
        #expect(TransferStateMachine.next(after: .complianceRejected, from: .pendingCompliance) == .rejected)
        #expect(TransferStateMachine.next(after: .routedToQueue, from: .accepted) == .queued)
        #expect(TransferStateMachine.next(after: .eligible, from: .queued) == .accepted)
        #expect(TransferStateMachine.next(after: .submitted, from: .accepted) == .executing)
        #expect(TransferStateMachine.next(after: .adapterSettled, from: .executing) == .settled)
        #expect(TransferStateMachine.next(after: .adapterFailed, from: .executing) == .failed)
    }

    @Test("R-PAY-4: silence → statusUnknown → queries; a later status resolves it")
    func statusUnknown() {
        #expect(TransferStateMachine.next(after: .adapterSilent, from: .executing) == .statusUnknown)
        #expect(TransferStateMachine.next(after: .queryDue, from: .statusUnknown) == .statusUnknown)
        #expect(TransferStateMachine.next(after: .adapterProgress, from: .statusUnknown) == .executing)
        #expect(TransferStateMachine.next(after: .adapterSettled, from: .statusUnknown) == .settled)
        #expect(TransferStateMachine.next(after: .adapterFailed, from: .statusUnknown) == .failed)
        // Silence is only noticed once; a transfer that is not executing is never "submitted" again.
        #expect(TransferStateMachine.next(after: .adapterSilent, from: .statusUnknown) == nil)
        #expect(TransferStateMachine.next(after: .submitted, from: .statusUnknown) == nil)
        #expect(TransferStateMachine.next(after: .submitted, from: .executing) == nil)
    }

    @Test("Final states ignore every input: duplicate and out-of-order adapter events apply once",
          arguments: [TransferState.settled, .failed, .rejected])
    func finalIsFinal(_ state: TransferState) {
        let inputs: [TransferInput] = [
            .complianceHeld, .complianceCleared, .complianceRejected, .routedToQueue, .submitted, .eligible,
            .adapterProgress, .adapterSettled, .adapterFailed, .adapterSilent, .queryDue,
        ]
        for input in inputs { #expect(TransferStateMachine.next(after: input, from: state) == nil, "\(input)") }
        #expect(state.isFinal)
    }

    @Test("Adapter events before submission and compliance events after it do not apply")
    func outOfPlace() {
        for state in [TransferState.accepted, .pendingCompliance, .queued] {
            #expect(TransferStateMachine.next(after: .adapterSettled, from: state) == nil)
            #expect(TransferStateMachine.next(after: .adapterProgress, from: state) == nil)
        }
        for state in [TransferState.executing, .statusUnknown] {
            #expect(TransferStateMachine.next(after: .complianceRejected, from: state) == nil)
            #expect(TransferStateMachine.next(after: .complianceCleared, from: state) == nil)
        }
    }

    @Test("Status queries back off: the adapter timeout doubled per query, capped")
    func backoff() {
        var configuration = PaymentsConfiguration()
        configuration.adapterTimeout = .seconds(30)
        configuration.queryBackoffMaximum = .seconds(600)
        #expect(configuration.queryBackoff(afterQueries: 0) == .seconds(30))
        #expect(configuration.queryBackoff(afterQueries: 1) == .seconds(60))
        #expect(configuration.queryBackoff(afterQueries: 4) == .seconds(480))
        #expect(configuration.queryBackoff(afterQueries: 5) == .seconds(600))
        #expect(configuration.queryBackoff(afterQueries: 1_000) == .seconds(600))
    }
}

@Suite("Idempotency fingerprint (R-PAY-3)")
struct FingerprintTests {
    func decode(_ json: String) throws -> TransferRequestPayload {
        try JSONDecoder().decode(TransferRequestPayload.self, from: Data(json.utf8))
    }

    let base = """
        {"clientRequestId":"r1","debtor":{"name":"A","account":"123","agent":"102305000014","kind":"enterprise"},
         "creditor":{"name":"B","kind":"enterprise","account":"456","agent":"104290003019"},
         "amount":{"value":"10.00","currency":"CNY"}}
        """

    @Test("Member order, whitespace and spelled-out defaults do not change the fingerprint")
    func sameMeaning() throws {
        let reordered = """
            {"amount":{"currency":"CNY","value":"10.00"},"channel":"api","crossBorder":false,"duplicateOverride":false,
             "creditor":{"agent":"104290003019","account":"456","kind":"enterprise","name":"B"},
             "debtor":{"kind":"enterprise","agent":"102305000014","account":"123","name":"A"},"clientRequestId":"r1"}
            """
        #expect(RequestFingerprint.canonicalBytes(try decode(base)) == RequestFingerprint.canonicalBytes(try decode(reordered)))
    }

    @Test("Any value that changes the instruction changes the fingerprint", arguments: [
        ("\"10.00\"", "\"10.01\""), ("\"456\"", "\"457\""), ("\"r1\"", "\"r2\""), ("\"B\"", "\"C\""),
    ])
    func differentMeaning(_ from: String, _ to: String) throws {
        let changed = base.replacingOccurrences(of: from, with: to)
        #expect(RequestFingerprint.canonicalBytes(try decode(base)) != RequestFingerprint.canonicalBytes(try decode(changed)))
    }
}
