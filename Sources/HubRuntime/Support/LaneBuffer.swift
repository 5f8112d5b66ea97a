import Synchronization

/// The FIFO of one lane: the intake appends, the lane's single task takes batches.
///
/// ``nextBatch(maximumSize:maximumWait:clock:)`` waits for a first element, then up to `maximumWait` for the batch
/// to fill, and returns at most `maximumSize` elements in arrival order. The buffer needs no bound of its own: the
/// AMQP prefetch bounds what can be outstanding.
final class LaneBuffer<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var head = 0
        var finished = false
        /// A wake-up that came while nobody waited (the batch timer can fire before the lane starts waiting).
        var wakePending = false
        var waiter: (needed: Int, continuation: CheckedContinuation<Void, Never>)?

        var count: Int { items.count - head }

        mutating func take(_ maximum: Int) -> [Element] {
            let end = head + min(maximum, count)
            let batch = Array(items[head..<end])
            head = end
            if head > 1_024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return batch
        }
    }

    private let state = Mutex(State())

    init() {}

    /// Adds an element; false when the buffer was finished (the element is not taken).
    @discardableResult
    func append(_ element: Element) -> Bool {
        let (appended, continuation) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.finished else { return (false, nil) }
            state.items.append(element)
            guard let waiter = state.waiter, state.count >= waiter.needed else { return (true, nil) }
            state.waiter = nil
            return (true, waiter.continuation)
        }
        continuation?.resume()
        return appended
    }

    /// Ends intake: waiting and later ``nextBatch`` calls return what is left, then nil.
    func finish() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        continuation?.resume()
    }

    /// Elements waiting.
    var count: Int { state.withLock { $0.count } }

    /// The next batch in arrival order, or nil when the buffer is finished and empty (or the task is cancelled and
    /// nothing is waiting).
    func nextBatch<C: Clock>(maximumSize: Int, maximumWait: C.Duration, clock: C) async -> [Element]? {
        let size = max(maximumSize, 1)
        state.withLock { $0.wakePending = false }
        await waitFor(count: 1)
        if maximumWait > .zero, state.withLock({ !$0.finished && $0.count > 0 && $0.count < size }) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await clock.sleep(for: maximumWait)
                    self.wake()
                }
                await self.waitFor(count: size)
                group.cancelAll()
            }
            // The cancelled timer may have left a wake-up behind: it belongs to this batch only.
            state.withLock { $0.wakePending = false }
        }
        let batch = state.withLock { $0.take(size) }
        return batch.isEmpty ? nil : batch
    }

    private func wake() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.wakePending = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        continuation?.resume()
    }

    private func waitFor(count needed: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.finished || state.count >= needed || state.wakePending || Task.isCancelled {
                        state.wakePending = false
                        return true
                    }
                    state.waiter = (needed, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            wake()
        }
    }
}
