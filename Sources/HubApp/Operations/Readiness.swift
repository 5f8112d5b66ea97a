import Synchronization

/// What each long-running component of a process says about itself, for `/readyz` and `doctor`.
///
/// Components report `ready` or `notReady(reason)` under their own name; the process is ready when every
/// registered component is. Reasons are log-safe one-liners.
public final class Readiness: Sendable {
    /// One component's state.
    public enum State: Sendable, Equatable {
        /// Working.
        case ready
        /// Not working, and why.
        case notReady(String)
    }

    private let states = Mutex<[String: State]>([:])

    /// Creates an empty registry.
    public init() {}

    /// Records a component's state.
    /// - Parameters:
    ///   - component: The component's name, e.g. `broker`, `database`.
    ///   - state: Its state.
    public func report(_ component: String, _ state: State) {
        states.withLock { $0[component] = state }
    }

    /// The components and their states, sorted by name.
    public var snapshot: [(component: String, state: State)] {
        states.withLock { $0.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// Whether every registered component is ready (and at least one is registered).
    public var isReady: Bool {
        let snapshot = self.snapshot
        return !snapshot.isEmpty && snapshot.allSatisfy { $0.state == .ready }
    }
}
