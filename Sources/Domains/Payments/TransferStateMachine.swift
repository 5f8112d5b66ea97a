/// The persisted states of a transfer.
///
/// ```
/// accepted ─┬─▶ pendingCompliance ─(cleared/released)─▶ accepted ─▶ …
///           │           └─(hold rejected)─▶ rejected
///           ├─▶ queued ─(eligible)─▶ accepted ─▶ …
///           └─▶ executing ─┬─▶ settled
///                 ▲        ├─▶ failed
///                 │        └─(adapter silent)─▶ statusUnknown ─┬─▶ settled | failed
///                 └──────────(progress status)─────────────────┘  (status queries with back-off, R-PAY-4)
/// ```
/// `settled`, `failed` and `rejected` are final: every later input is stale and ignored.
public enum TransferState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Validated and recorded; about to be gated or routed.
    case accepted
    /// Waiting for a compliance verdict (or a reviewer, under a hold).
    case pendingCompliance
    /// Waiting until `eligible_at` (HVPS closed, or a future execution date).
    case queued
    /// Submitted to the adapter; waiting for a final status.
    case executing
    /// No final status within the adapter timeout: querying (never resubmitting under a new id, R-PAY-4).
    case statusUnknown
    /// Final: the money moved.
    case settled
    /// Final: the rail refused it.
    case failed
    /// Final: payments or compliance refused it.
    case rejected

    /// Whether the state is final.
    public var isFinal: Bool { self == .settled || self == .failed || self == .rejected }
}

/// What happens to a transfer.
public enum TransferInput: Sendable, Hashable {
    /// Compliance placed (or confirmed) a hold.
    case complianceHeld
    /// Compliance cleared it, or a reviewer released the hold.
    case complianceCleared
    /// A reviewer rejected it.
    case complianceRejected
    /// The router queued it.
    case routedToQueue
    /// The router chose a rail and it was submitted.
    case submitted
    /// A queued transfer became eligible.
    case eligible
    /// The adapter reported a non-final status (ACSP, ACTC, PDNG, …; e-CNY accepted).
    case adapterProgress
    /// The adapter reported settlement.
    case adapterSettled
    /// The adapter reported a rejection.
    case adapterFailed
    /// The adapter timeout passed without a final status.
    case adapterSilent
    /// A status query is due again.
    case queryDue
}

/// The transfer state machine: pure, no I/O. The handler and the timer persist what it returns.
public enum TransferStateMachine {
    /// The next state for an input, or nil when the input does not apply (stale, duplicate or out of order) and
    /// must be ignored.
    /// - Parameters:
    ///   - input: What happened.
    ///   - state: The current state.
    /// - Returns: The next state, or nil.
    public static func next(after input: TransferInput, from state: TransferState) -> TransferState? {
        switch (state, input) {
        case (.accepted, .complianceHeld), (.pendingCompliance, .complianceHeld): .pendingCompliance
        case (.accepted, .complianceCleared), (.pendingCompliance, .complianceCleared): .accepted
        case (.accepted, .complianceRejected), (.pendingCompliance, .complianceRejected): .rejected
        case (.accepted, .routedToQueue): .queued
        case (.accepted, .submitted): .executing
        case (.queued, .eligible): .accepted
        case (.executing, .adapterProgress), (.statusUnknown, .adapterProgress): .executing
        case (.executing, .adapterSettled), (.statusUnknown, .adapterSettled): .settled
        case (.executing, .adapterFailed), (.statusUnknown, .adapterFailed): .failed
        case (.executing, .adapterSilent): .statusUnknown
        case (.statusUnknown, .queryDue): .statusUnknown
        default: nil
        }
    }
}
