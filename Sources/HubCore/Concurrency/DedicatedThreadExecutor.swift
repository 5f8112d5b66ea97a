import Dispatch
import Foundation
import Synchronization

/// A serial executor that runs every job on one dedicated OS thread.
///
/// rabbitmq-c and libpq block, and neither lets a connection be used from more than one thread. An actor whose
/// `unownedExecutor` is one of these runs all its isolated methods, blocking C calls included, on its own thread:
/// the C handle never leaves that thread, the compiler checks the confinement, and the cooperative pool (two
/// threads on a two-core machine) is never blocked.
///
/// ```swift
/// actor Connection {
///     private let executor = DedicatedThreadExecutor(name: "amqp-connection")
///     nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
///     deinit { executor.shutdown() }
/// }
/// ```
public final class DedicatedThreadExecutor: SerialExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let threadID = Mutex<pthread_t?>(nil)

    /// Starts the thread.
    /// - Parameter name: The thread's name, shown by debuggers and `top -H`.
    public init(name: String) {
        let thread = Thread { [self] in self.runLoop() }
        thread.name = name
        thread.start()
    }

    /// Enqueues a job to run on the dedicated thread, after every job enqueued before it.
    /// - Parameter job: The job.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted {
            wakeUp.signal()
        } else {
            // The owner is gone; the job belongs to an actor that is being torn down. Running it here keeps the
            // program correct (isolation is still exclusive: the dedicated thread has exited).
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }

    /// The executor as an unowned reference, for an actor's `unownedExecutor`.
    /// - Returns: The unowned serial executor.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Whether the caller runs on this executor's thread.
    public var isCurrentThread: Bool {
        threadID.withLock { id in id.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Asserts that the caller runs on this executor's thread (used by the runtime's isolation checks).
    public func checkIsolated() {
        precondition(isCurrentThread, "not on the dedicated thread of this executor")
    }

    /// Lets the thread finish the jobs already enqueued, then exit. Safe to call more than once.
    public func shutdown() {
        state.withLock { $0.stopped = true }
        wakeUp.signal()
    }

    private func runLoop() {
        threadID.withLock { $0 = pthread_self() }
        while true {
            wakeUp.wait()
            let (jobs, stopped) = state.withLock { state -> ([UnownedJob], Bool) in
                let jobs = state.jobs
                state.jobs.removeAll(keepingCapacity: true)
                return (jobs, state.stopped)
            }
            let executor = asUnownedSerialExecutor()
            for job in jobs { job.runSynchronously(on: executor) }
            if stopped && state.withLock({ $0.jobs.isEmpty }) { return }
        }
    }
}
