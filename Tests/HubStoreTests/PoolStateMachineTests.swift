import Testing

@testable import HubStore

@Suite("PoolStateMachine")
struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String>

    @Test("leases connect lazily up to the maximum, then wait in order")
    func leaseUpToMaximum() {
        var machine = Machine(maximum: 2)
        guard case .connect = machine.lease(), case .connect = machine.lease() else {
            Issue.record("the first two leases should connect")
            return
        }
        guard case .wait(let first) = machine.lease(), case .wait(let second) = machine.lease() else {
            Issue.record("leases past the maximum should wait")
            return
        }
        #expect(first != second)
        #expect(machine.open == 2)
        #expect(machine.waiters == [first, second])

        // A returned connection goes to the first waiter, not to the idle list.
        guard case .handOver(let connection, let waiter) = machine.connectionReturned("c1") else {
            Issue.record("a returned connection should go to a waiter")
            return
        }
        #expect(connection == "c1" && waiter == first)
        // A discarded connection's slot goes to the next waiter, who opens a new one.
        #expect(machine.slotFreed() == .grantSlot(toWaiter: second))
        #expect(machine.open == 2)
        #expect(machine.waiters.isEmpty)
    }

    @Test("idle connections are reused before new ones are opened")
    func reuse() {
        var machine = Machine(maximum: 3)
        _ = machine.lease()
        guard case .pooled = machine.connectionReturned("c1") else {
            Issue.record("with no waiter the connection should be pooled")
            return
        }
        #expect(machine.idle == ["c1"])
        guard case .use(let connection) = machine.lease() else {
            Issue.record("an idle connection should be reused")
            return
        }
        #expect(connection == "c1")
        #expect(machine.open == 1)
    }

    @Test("a failed connect frees its slot")
    func failedConnect() {
        var machine = Machine(maximum: 1)
        _ = machine.lease()
        #expect(machine.slotFreed() == .none)
        #expect(machine.open == 0)
        guard case .connect = machine.lease() else {
            Issue.record("the freed slot should be usable")
            return
        }
    }

    @Test("a cancelled waiter leaves the queue; one already served reports false")
    func cancelWaiter() {
        var machine = Machine(maximum: 1)
        _ = machine.lease()
        guard case .wait(let first) = machine.lease(), case .wait(let second) = machine.lease() else {
            Issue.record("leases should wait")
            return
        }
        let removed = machine.cancelWaiter(first)
        #expect(removed)
        #expect(machine.waiters == [second])
        guard case .handOver(_, let served) = machine.connectionReturned("c1") else {
            Issue.record("the connection should go to the remaining waiter")
            return
        }
        #expect(served == second)
        let removedAfterServing = machine.cancelWaiter(second)
        #expect(!removedAfterServing)
    }

    @Test("close returns idle connections and waiters, then completes when the last lease comes back")
    func close() {
        var machine = Machine(maximum: 3)
        _ = machine.lease()
        _ = machine.lease()
        _ = machine.connectionReturned("idle")
        let (idle, waiters, completed) = machine.close()
        #expect(idle == ["idle"])
        #expect(waiters.isEmpty)
        #expect(!completed)  // one connection is still leased
        guard case .closed = machine.lease() else {
            Issue.record("a closed pool should refuse leases")
            return
        }
        guard case .close(let connection) = machine.connectionReturned("leased") else {
            Issue.record("a connection returned to a closed pool should be closed")
            return
        }
        #expect(connection == "leased")
        #expect(machine.slotFreed() == .closeCompleted)
        #expect(machine.open == 0)
    }
}
