import Logging
import ServiceLifecycle
import Synchronization

/// Which of `serve`'s services are still running, so that a slow shutdown names its culprits.
///
/// Every service runs inside a ``TrackedService`` that registers it while its `run()` is active and logs (debug)
/// when it returns or throws. When graceful shutdown starts, ``ShutdownWatch`` waits the graceful window
/// and logs (warning) the services still running; shortly before ServiceLifecycle's cancellation deadline (which
/// ends the process with a fatal error) it logs (error) the ones that did not honour cancellation either. Without
/// this, a shutdown that overran said only "Cancellation took longer than allowed".
final class ServiceTracker: Sendable {
    private let running = Mutex<[Int: String]>([:])
    private let next = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    /// Whether shutdown was asked for (a signal started graceful shutdown).
    var shutdownRequested: Bool { stopping.load(ordering: .relaxed) }

    /// Records that graceful shutdown started.
    func requestShutdown() { stopping.store(true, ordering: .relaxed) }

    /// Registers a running service and returns its token.
    func started(_ name: String) -> Int {
        let token = next.add(1, ordering: .relaxed).newValue
        running.withLock { $0[token] = name }
        return token
    }

    /// Unregisters a service.
    func stopped(_ token: Int) {
        _ = running.withLock { $0.removeValue(forKey: token) }
    }

    /// The names of the services still running, sorted.
    var stillRunning: [String] { running.withLock { $0.values.sorted() } }
}

/// A service with the name it should have in logs (`consumer svc.payments`); ``HubServer`` runs its base inside a
/// ``TrackedService`` under that name.
struct NamedService: Service {
    let name: String
    let base: any Service

    func run() async throws { try await base.run() }
}

/// A service with a name for logs, registered with a ``ServiceTracker`` while it runs.
struct TrackedService: Service, CustomStringConvertible {
    let name: String
    let base: any Service
    let tracker: ServiceTracker
    let logger: Logger

    var description: String { name }

    func run() async throws {
        let token = tracker.started(name)
        defer { tracker.stopped(token) }
        do {
            try await base.run()
            logger.debug("service stopped", metadata: ["service": "\(name)"])
        } catch {
            logger.debug(
                "service stopped with an error",
                metadata: ["service": "\(name)", "error.type": "\(String(reflecting: type(of: error)))"])
            throw error
        }
    }
}

/// Waits for graceful shutdown, then reports the services that outlive the graceful window and, later, the
/// cancellation window.
struct ShutdownWatch: Service {
    let tracker: ServiceTracker
    let gracefulWindow: Duration
    let cancellationWindow: Duration
    let logger: Logger

    func run() async throws {
        // Returns when graceful shutdown starts (or when cancelled: then there is nothing to watch).
        do { try await gracefulShutdown() } catch { return }
        tracker.requestShutdown()
        let tracker = self.tracker
        let logger = self.logger
        let graceful = gracefulWindow
        let cancellation = cancellationWindow
        // Unstructured on purpose: the group cancels this service when the graceful window passes, and the report
        // must outlive that.
        Task.detached {
            try? await Task.sleep(for: graceful + .milliseconds(200))
            let slow = tracker.stillRunning
            guard !slow.isEmpty else { return }
            logger.warning(
                "graceful shutdown window passed; cancelling the services still running",
                metadata: ["services": "\(slow.joined(separator: ", "))"])
            try? await Task.sleep(for: cancellation - .seconds(1))
            let stuck = tracker.stillRunning
            guard !stuck.isEmpty else { return }
            logger.error(
                "services did not stop after cancellation; the process is about to abort",
                metadata: ["services": "\(stuck.joined(separator: ", "))"])
        }
    }
}
