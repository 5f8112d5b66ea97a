import Synchronization

/// A token bucket: `burst` tokens, refilled at `rate` tokens per second. Pure; the caller passes the time.
public struct TokenBucket: Sendable, Hashable {
    /// Tokens per second.
    public let rate: Double
    /// The bucket's capacity.
    public let burst: Double
    /// Tokens now (as of `updated`).
    public private(set) var tokens: Double
    /// When `tokens` was computed, in seconds on the caller's clock.
    public private(set) var updated: Double

    /// A full bucket.
    /// - Parameters:
    ///   - rate: Tokens per second (> 0).
    ///   - burst: Capacity (≥ 1).
    ///   - now: The caller's clock, in seconds.
    public init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now
    }

    private mutating func refill(now: Double) {
        if now > updated {
            tokens = min(burst, tokens + (now - updated) * rate)
            updated = now
        }
    }

    /// Seconds until one token is available (0: available now), without taking it.
    /// - Parameter now: The time.
    /// - Returns: The wait in seconds.
    public mutating func wait(now: Double) -> Double {
        refill(now: now)
        return tokens >= 1 ? 0 : (1 - tokens) / rate
    }

    /// Takes a token if there is one.
    /// - Parameter now: The time.
    /// - Returns: 0 if taken, else the seconds until one is available.
    public mutating func take(now: Double) -> Double {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return 0
        }
        return (1 - tokens) / rate
    }
}

/// Per-partner token buckets. `peek` is checked before the body is read (the claimed partner id), `take` after
/// the signature verified, so a forger cannot drain another partner's bucket.
public final class RateLimiter: Sendable {
    private let rate: Double
    private let burst: Double
    private let now: @Sendable () -> Double
    private let buckets = Mutex<[String: TokenBucket]>([:])

    /// Creates a limiter.
    /// - Parameters:
    ///   - rate: Requests per second per partner.
    ///   - burst: Bucket capacity.
    ///   - now: A monotonic clock in seconds (default: `ContinuousClock`).
    public init(rate: Double, burst: Int, now: (@Sendable () -> Double)? = nil) {
        self.rate = max(rate, 0.001)
        self.burst = Double(max(burst, 1))
        let clock = ContinuousClock()
        let start = clock.now
        self.now = now ?? {
            let elapsed = clock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
    }

    /// Whole seconds to wait before the partner may send again, or nil if a token is available; takes nothing.
    /// - Parameter partner: The partner id.
    /// - Returns: Retry-After seconds, or nil.
    public func peek(_ partner: String) -> Int? {
        let time = now()
        let wait = buckets.withLock { buckets -> Double in
            guard var bucket = buckets[partner] else { return 0 }
            let wait = bucket.wait(now: time)
            buckets[partner] = bucket
            return wait
        }
        return wait > 0 ? Int(wait.rounded(.up)) : nil
    }

    /// Takes a token for the partner.
    /// - Parameter partner: The partner id.
    /// - Returns: nil if taken, else Retry-After seconds.
    public func take(_ partner: String) -> Int? {
        let time = now()
        let wait = buckets.withLock { buckets -> Double in
            var bucket = buckets[partner] ?? TokenBucket(rate: rate, burst: burst, now: time)
            let wait = bucket.take(now: time)
            buckets[partner] = bucket
            return wait
        }
        return wait > 0 ? max(1, Int(wait.rounded(.up))) : nil
    }
}
