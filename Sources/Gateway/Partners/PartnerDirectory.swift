public import Foundation
public import HubCore
import Synchronization

/// Where the gateway looks partners up.
public protocol PartnerLookup: Sendable {
    /// The partner, or nil if unknown.
    /// - Parameter id: The partner id.
    /// - Returns: The partner with its valid credentials.
    /// - Throws: Store errors.
    func partner(_ id: PartnerID) async throws -> Partner?
    /// Records a nonce; false for a replay.
    /// - Parameters:
    ///   - partner: The partner id.
    ///   - nonce: The nonce.
    ///   - expiresAt: When it may be forgotten.
    /// - Returns: Whether it was new.
    /// - Throws: Store errors.
    func useNonce(partner: String, nonce: String, expiresAt: Date) async throws -> Bool
}

extension PartnerStore: PartnerLookup {
    /// Loads the partner from the database.
    /// - Parameter id: The partner id.
    /// - Returns: The partner.
    /// - Throws: Store errors.
    public func partner(_ id: PartnerID) async throws -> Partner? { try await load(id: id) }
}

/// Caches partner look-ups for a short time (`huitong.gateway.partner-cache-seconds`), so that authenticating a
/// request, and refusing an over-limit one, reads no database in the common case. Unknown partners are cached too
/// (a flood of made-up ids does not reach the database). A revoke or rotate takes effect within the TTL, or at once
/// when the gateway hears `NOTIFY gateway_partners` (``invalidate(_:)``).
public final class PartnerDirectory: PartnerLookup {
    private let base: any PartnerLookup
    private let ttl: Duration
    private let cache = Mutex<[String: (partner: Partner?, loaded: ContinuousClock.Instant)]>([:])

    /// Creates a cached directory.
    /// - Parameters:
    ///   - base: The store.
    ///   - ttl: How long an entry is used (zero: no caching).
    public init(base: any PartnerLookup, ttl: Duration) {
        self.base = base
        self.ttl = ttl
    }

    /// The partner, from the cache when fresh.
    /// - Parameter id: The partner id.
    /// - Returns: The partner, or nil.
    /// - Throws: Store errors.
    public func partner(_ id: PartnerID) async throws -> Partner? {
        let now = ContinuousClock.now
        if ttl > .zero, let entry = cache.withLock({ $0[id.value] }), now - entry.loaded < ttl {
            return entry.partner
        }
        let partner = try await base.partner(id)
        if ttl > .zero {
            cache.withLock { cache in
                if cache.count > 10_000 { cache.removeAll() }
                cache[id.value] = (partner, now)
            }
        }
        return partner
    }

    /// Records a nonce in the store.
    /// - Parameters:
    ///   - partner: The partner id.
    ///   - nonce: The nonce.
    ///   - expiresAt: Expiry.
    /// - Returns: Whether it was new.
    /// - Throws: Store errors.
    public func useNonce(partner: String, nonce: String, expiresAt: Date) async throws -> Bool {
        try await base.useNonce(partner: partner, nonce: nonce, expiresAt: expiresAt)
    }

    /// Forgets one partner (or all, with nil).
    /// - Parameter id: The partner id, or nil.
    public func invalidate(_ id: String?) {
        cache.withLock { cache in
            if let id { cache[id] = nil } else { cache.removeAll() }
        }
    }
}
