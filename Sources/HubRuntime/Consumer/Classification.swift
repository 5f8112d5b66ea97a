import HubCore
import HubStore

/// Why a delivery cannot reach its handler, or why its handler failed for good.
struct Rejection: Error, Sendable, Hashable {
    var reason: ParkReason
    /// A bounded code, e.g. `malformedJSON`, `missingField`, a handler's own code.
    var code: String
    /// A log-safe message (no payload values).
    var message: String
}

/// The result of one message in a batch.
enum Outcome: Sendable, Hashable {
    /// Handled and committed; `emitted` messages went to the outbox.
    case handled(emitted: Int)
    /// Its message id was already in the inbox: nothing done.
    case duplicate
    /// Retry later.
    case transient(code: String, message: String)
    /// Park now.
    case park(Rejection)
}

/// Pure checks that run on each delivery before it enters a lane.
enum Intake {
    /// Size check, envelope decoding, known type, payload validation.
    static func inspect(
        body: [UInt8],
        maximumBodyBytes: Int,
        limits: Envelope.Limits,
        messageTypes: Set<String>,
        acceptsEveryType: Bool = false,
        validate: (Envelope) throws -> Void
    ) -> Result<Envelope, Rejection> {
        guard body.count <= maximumBodyBytes else {
            return .failure(
                Rejection(
                    reason: .tooLarge, code: "tooLarge",
                    message: "the body is larger than the \(maximumBodyBytes)-byte limit"))
        }
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(bytes: body, limits: limits)
        } catch {
            return .failure(rejection(for: error))
        }
        guard acceptsEveryType || messageTypes.contains(envelope.type.value) else {
            return .failure(
                Rejection(reason: .unknownType, code: "unknownType", message: "the consumer does not handle this type"))
        }
        do {
            try validate(envelope)
        } catch {
            return .failure(Classifier.rejection(forValidation: error) ?? Rejection(
                reason: .schemaViolation, code: "validationFailed", message: "the payload failed validation"))
        }
        return .success(envelope)
    }

    /// Maps envelope decoding errors to a park reason.
    static func rejection(for errors: ValidationErrors) -> Rejection {
        let first = errors.first
        if let idError = errors.errors.first(where: { $0.pointer == "/id" }) {
            return idError.code == .missingField
                ? Rejection(reason: .missingMessageID, code: "missingField", message: "the envelope has no id")
                : Rejection(
                    reason: .invalidMessageID, code: idError.code.description, message: "the envelope id is invalid")
        }
        switch first.code {
        case .malformedJSON:
            return Rejection(reason: .notJSON, code: "malformedJSON", message: "the body is not JSON")
        case .tooLarge:
            return Rejection(reason: .tooLarge, code: "tooLarge", message: "the envelope exceeds the size limits")
        default:
            // The pointer and rule name no payload value, so they are safe to log and store.
            return Rejection(
                reason: .invalidEnvelope, code: first.code.description,
                message: "invalid envelope at \(first.pointer.isEmpty ? "/" : first.pointer) (\(first.rule))")
        }
    }
}

/// Classifies what a handler threw.
enum Classifier {
    /// `ValidationError(s)` → `schemaViolation`; nil for other errors.
    static func rejection(forValidation error: any Error) -> Rejection? {
        let first: ValidationError
        if let error = error as? ValidationError {
            first = error
        } else if let errors = error as? ValidationErrors {
            first = errors.first
        } else {
            return nil
        }
        return Rejection(
            reason: .schemaViolation, code: first.code.description,
            message: "payload invalid at \(first.pointer.isEmpty ? "/" : first.pointer) (\(first.rule))")
    }

    /// The outcome of a handler error: permanent for `HandlerFailure.permanent` and validation errors, transient
    /// for everything else.
    static func outcome(for error: any Error) -> Outcome {
        if let failure = error as? HandlerFailure {
            if failure.kind == .permanent {
                return .park(Rejection(reason: .permanentFailure, code: failure.code, message: failure.message))
            }
            return .transient(code: failure.code, message: failure.message)
        }
        if let rejection = rejection(forValidation: error) { return .park(rejection) }
        if let error = error as? PostgresError {
            return .transient(code: "postgres.\(error.code)", message: "a database statement failed")
        }
        return .transient(code: "\(type(of: error))", message: "the handler threw an unexpected error")
    }

    /// Whether a failed batch transaction should be retried with the deliveries held (the database is unreachable
    /// or restarting, or the transaction lost a serialization race), rather than requeued.
    static func isRetryableTransactionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        if [.connectionFailed, .connectionClosed, .timeout, .poolExhausted, .connectionBusy].contains(error.code) {
            return true
        }
        if error.code == .serverError, let state = error.sqlState {
            // 08: connection exception; 57: operator intervention (shutdown); 40: transaction rollback; 53: resources.
            return ["08", "57", "40", "53"].contains(String(state.prefix(2)))
        }
        return false
    }

    /// A connection-level failure inside a savepoint: the whole transaction is lost, so it must not be blamed on the
    /// message.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        if [.connectionFailed, .connectionClosed, .connectionBusy].contains(error.code) { return true }
        if error.code == .serverError, let state = error.sqlState {
            return ["08", "57"].contains(String(state.prefix(2)))
        }
        return false
    }
}

/// Stable hashing for lanes and outbox partitions (never `hashValue`, which changes per process).
enum StableHash {
    /// 64-bit FNV-1a of the UTF-8 bytes.
    static func fnv1a(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The lane (0..<lanes) of an aggregate key.
    static func lane(for key: String, lanes: Int) -> Int {
        Int(fnv1a(key) % UInt64(max(lanes, 1)))
    }
}
