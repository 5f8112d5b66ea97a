import Foundation
import HubCore
import Testing

/// An actor confined to one dedicated thread, as the AMQP and PostgreSQL connections are.
private actor Confined {
    let executor = DedicatedThreadExecutor(name: "test-confined")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private var threads = Set<String>()
    private var order: [Int] = []

    func record(_ value: Int) {
        threads.insert("\(pthread_self())")
        order.append(value)
        executor.checkIsolated()
    }

    var observedThreads: Int { threads.count }
    var observedOrder: [Int] { order }
    var onDedicatedThread: Bool { executor.isCurrentThread }

    deinit { executor.shutdown() }
}

@Suite("DedicatedThreadExecutor")
struct DedicatedThreadExecutorTests {
    @Test("every isolated call runs on the same dedicated thread, never on the caller's")
    func confinement() async {
        let confined = Confined()
        await withTaskGroup(of: Void.self) { group in
            for value in 0..<200 { group.addTask { await confined.record(value) } }
        }
        #expect(await confined.observedThreads == 1)
        #expect(await confined.onDedicatedThread)
        #expect(!confined.executor.isCurrentThread)
        #expect(await confined.observedOrder.sorted() == Array(0..<200))
    }

    @Test("calls from one task run in the order they were made")
    func ordering() async {
        let confined = Confined()
        for value in 0..<100 { await confined.record(value) }
        #expect(await confined.observedOrder == Array(0..<100))
    }
}
