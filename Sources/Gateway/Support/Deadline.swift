import Synchronization

/// Thrown by ``withDeadline(_:_:)`` when the operation did not finish in time.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    /// "deadline exceeded".
    public var description: String { "deadline exceeded" }
}

/// The one-shot continuation of a deadline race: whichever of the work, the timer or cancellation comes first
/// resumes it; the others find it gone.
private final class DeadlineRace<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)
    private let tasks = Mutex<[Task<Void, Never>]>([])

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func track(_ tasks: [Task<Void, Never>]) {
        self.tasks.withLock { $0 = tasks }
    }

    func finish(_ result: Result<T, any Error>) {
        let continuation = self.continuation.withLock { current -> CheckedContinuation<T, any Error>? in
            defer { current = nil }
            return current
        }
        continuation?.resume(with: result)
    }

    func cancelAll() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}

/// Runs `operation` in its own task and returns its result, or throws ``DeadlineExceeded`` after `timeout`.
///
/// The operation is cancelled on timeout but not awaited: work that ignores cancellation (a publish waiting for
/// its confirm) finishes in the background and its result is dropped. The caller must treat a timeout as
/// "unknown outcome" (the gateway answers 503 and the client retries with the same message id).
/// - Parameters:
///   - timeout: The deadline.
///   - operation: The work.
/// - Returns: The work's result.
/// - Throws: ``DeadlineExceeded`` or what the work throws.
func withDeadline<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.install(continuation)
            let work = Task {
                do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
                race.cancelAll()  // stops the timer (and this finished task, harmlessly)
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled {
                    race.finish(.failure(DeadlineExceeded()))
                    work.cancel()
                }
            }
            race.track([work, timer])
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
        race.cancelAll()
    }
}
