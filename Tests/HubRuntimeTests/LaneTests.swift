import Testing

@testable import HubRuntime

@Suite("Lanes and batches")
struct LaneTests {
    @Test func laneAssignmentIsStableAndInRange() {
        for lanes in [1, 2, 7, 64] {
            for key in ["a", "account-1", "账户", ""] {
                let lane = StableHash.lane(for: key, lanes: lanes)
                #expect((0..<lanes).contains(lane))
                #expect(StableHash.lane(for: key, lanes: lanes) == lane)
            }
        }
        // FNV-1a 64 reference values: the hash must not change between processes or releases (outbox lanes are
        // stored).
        #expect(StableHash.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(StableHash.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
    }

    @Test func keysSpreadOverLanes() {
        var counts = [Int](repeating: 0, count: 4)
        for index in 0..<1_000 { counts[StableHash.lane(for: "key-\(index)", lanes: 4)] += 1 }
        #expect(counts.allSatisfy { $0 > 150 })
    }

    @Test func batchesKeepArrivalOrderAndSize() async {
        let buffer = LaneBuffer<Int>()
        for value in 0..<10 { buffer.append(value) }
        buffer.finish()
        var batches: [[Int]] = []
        while let batch = await buffer.nextBatch(maximumSize: 4, maximumWait: .zero, clock: ContinuousClock()) {
            batches.append(batch)
        }
        #expect(batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    }

    @Test func aPartialBatchIsReturnedAfterTheWait() async {
        let buffer = LaneBuffer<Int>()
        buffer.append(1)
        buffer.append(2)
        let batch = await buffer.nextBatch(maximumSize: 64, maximumWait: .milliseconds(20), clock: ContinuousClock())
        #expect(batch == [1, 2])
        buffer.finish()
        #expect(await buffer.nextBatch(maximumSize: 64, maximumWait: .milliseconds(20), clock: ContinuousClock()) == nil)
    }

    @Test func aWaitingLaneWakesForNewItemsAndEndsOnFinish() async {
        let buffer = LaneBuffer<Int>()
        async let first = buffer.nextBatch(maximumSize: 2, maximumWait: .seconds(60), clock: ContinuousClock())
        buffer.append(1)
        buffer.append(2)  // Fills the batch: no 60 s wait.
        #expect(await first == [1, 2])
        async let end = buffer.nextBatch(maximumSize: 2, maximumWait: .seconds(60), clock: ContinuousClock())
        buffer.finish()
        #expect(await end == nil)
        #expect(buffer.append(3) == false)
    }
}

/// A clock whose sleeps end at once (an injected clock: no real waiting in the test).
struct ImmediateClock: Clock {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }
    var now: Instant { Instant(offset: .zero) }
    var minimumResolution: Duration { .zero }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws { await Task.yield() }
}

@Suite("Lane batch timer")
struct LaneTimerTests {
    /// A partial batch is closed by the injected clock's timer, round after round (the timer's wake-up is never
    /// lost, even when it fires before the lane starts waiting for more).
    @Test func partialBatchesAreClosedByTheInjectedClock() async {
        let buffer = LaneBuffer<Int>()
        for round in 0..<200 {
            buffer.append(round)
            // With an immediate clock the wait for a full batch ends by the timer, never by more items.
            let batch = await buffer.nextBatch(maximumSize: 64, maximumWait: .milliseconds(5), clock: ImmediateClock())
            #expect(batch == [round])
        }
    }
}
