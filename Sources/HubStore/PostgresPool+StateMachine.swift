/// The pool's bookkeeping, with no I/O and no locks: events go in, actions come out. `PostgresPool` holds it in
/// a `Mutex` and runs the actions (connect, hand over, close, resume) after releasing the lock.
///
/// Invariants: `open` counts connections that exist or are being opened (idle, leased, connecting) and never
/// exceeds `maximum`; a waiter exists only while no connection is idle and no slot is free; waiters are served
/// first in, first out.
struct PoolStateMachine<Connection> {
    /// What a lease should do.
    enum LeaseAction {
        /// Use this idle connection.
        case use(Connection)
        /// A slot is reserved: open a connection in it.
        case connect
        /// Wait with this waiter id.
        case wait(Int)
        /// The pool is closed.
        case closed
    }

    /// What to do with a connection that came back healthy.
    enum ReturnAction {
        /// Give it to this waiter.
        case handOver(Connection, toWaiter: Int)
        /// It is idle now.
        case pooled
        /// The pool is closed: close it, then report `slotFreed`.
        case close(Connection)
    }

    /// What to do after a slot was freed (a connection discarded or closed, or a connect failed).
    enum SlotAction: Equatable {
        /// This waiter may open a connection in the slot.
        case grantSlot(toWaiter: Int)
        /// Nothing to do.
        case none
        /// The pool is closed and the last connection is gone: resume `close()`.
        case closeCompleted
    }

    let maximum: Int
    private(set) var idle: [Connection] = []
    private(set) var open = 0
    private(set) var waiters: [Int] = []
    private(set) var isClosed = false
    private var nextWaiterID = 0

    init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// Connections leased or being opened.
    var leased: Int { open - idle.count }

    mutating func lease() -> LeaseAction {
        if isClosed { return .closed }
        if let connection = idle.popLast() { return .use(connection) }
        if open < maximum {
            open += 1
            return .connect
        }
        nextWaiterID += 1
        waiters.append(nextWaiterID)
        return .wait(nextWaiterID)
    }

    /// A waiter gave up (timeout or cancellation). Returns whether it was still waiting; if not, it has been or
    /// is being handed a connection or slot, which it must give back.
    mutating func cancelWaiter(_ id: Int) -> Bool {
        guard let index = waiters.firstIndex(of: id) else { return false }
        waiters.remove(at: index)
        return true
    }

    mutating func connectionReturned(_ connection: Connection) -> ReturnAction {
        if isClosed { return .close(connection) }
        if !waiters.isEmpty { return .handOver(connection, toWaiter: waiters.removeFirst()) }
        idle.append(connection)
        return .pooled
    }

    mutating func slotFreed() -> SlotAction {
        if !isClosed, !waiters.isEmpty { return .grantSlot(toWaiter: waiters.removeFirst()) }
        open -= 1
        return isClosed && open == 0 ? .closeCompleted : .none
    }

    /// Closes the pool. Returns the idle connections to close (their slots are already freed), the waiters to
    /// fail, and whether no connection is left (so `close()` need not wait).
    mutating func close() -> (idle: [Connection], waiters: [Int], completed: Bool) {
        isClosed = true
        let idle = self.idle
        let waiters = self.waiters
        self.idle.removeAll()
        self.waiters.removeAll()
        open -= idle.count
        return (idle, waiters, open == 0)
    }
}
