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
        /// Set by the thread itself, under the lock, when it has run its last job and returned.
        var exited = false
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
        // Jobs are accepted until the thread has exited (a stopped thread still drains its queue), so a job never
        // runs beside one on the dedicated thread.
        let accepted = state.withLock { state -> Bool in
            guard !state.exited else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted {
            wakeUp.signal()
        } else {
            // Only teardown work of the owning actor can arrive after the thread is gone; nothing else can run on
            // this executor any more, so running it here keeps isolation exclusive.
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
            let jobs = state.withLock { state -> [UnownedJob] in
                let jobs = state.jobs
                state.jobs.removeAll(keepingCapacity: true)
                return jobs
            }
            let executor = asUnownedSerialExecutor()
            for job in jobs { job.runSynchronously(on: executor) }
            // Deciding to exit and refusing further jobs happen under one lock, so none is stranded in the queue.
            let exit = state.withLock { state -> Bool in
                guard state.stopped && state.jobs.isEmpty else { return false }
                state.exited = true
                return true
            }
            if exit { return }
        }
    }
}
