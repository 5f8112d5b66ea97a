#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

extension SM4 {
    /// The sealing keys of every version still in use: the current one seals, any of them opens.
    ///
    /// After a rotation, make a keyring with the new key as ``current`` and the old keys as previous ones;
    /// records sealed under an old version keep opening until they are re-sealed.
    public struct Keyring: Sendable, CustomStringConvertible {
        /// The key new boxes are sealed with.
        public let current: SealingKey

        private let keys: [UInt32: SealingKey]

        /// Makes a keyring.
        /// - Parameters:
        ///   - current: the key to seal with.
        ///   - previous: older keys, still used to open boxes sealed with them.
        /// - Throws: ``CryptoError`` `.invalidArgument` when two keys share a version.
        public init(current: SealingKey, previous: [SealingKey] = []) throws {
            var keys: [UInt32: SealingKey] = [:]
            for key in [current] + previous {
                guard keys.updateValue(key, forKey: key.version) == nil else {
                    throw CryptoError(.invalidArgument, "two keys in the keyring have version \(key.version)")
                }
            }
            self.current = current
            self.keys = keys
        }

        /// The key of `version`, if the keyring holds it.
        /// - Parameter version: a key version, as read from ``SealedBox/keyVersion``.
        /// - Returns: the key, or nil.
        public func key(version: UInt32) -> SealingKey? {
            self.keys[version]
        }

        /// The versions held, never the keys.
        public var description: String {
            "SM4.Keyring(current: \(self.current.version), versions: \(self.keys.keys.sorted()))"
        }
    }

    /// Seals with the keyring's current key; see ``seal(_:using:authenticating:)``.
    /// - Parameters:
    ///   - plaintext: the data to protect.
    ///   - keyring: the keyring; its ``Keyring/current`` key is used.
    ///   - associatedData: data bound to the box but not stored in it.
    /// - Returns: the sealed box.
    /// - Throws: as ``seal(_:using:authenticating:)``.
    public static func seal(
        _ plaintext: some DataProtocol,
        using keyring: Keyring,
        authenticating associatedData: some DataProtocol
    ) throws -> SealedBox {
        try seal(plaintext, using: keyring.current, authenticating: associatedData)
    }

    /// Opens a box with the keyring's key of the box's version; see ``open(_:using:authenticating:)``.
    /// - Parameters:
    ///   - box: the sealed box.
    ///   - keyring: the keyring.
    ///   - associatedData: the associated data given when sealing.
    /// - Returns: the plaintext.
    /// - Throws: ``CryptoError`` `.unknownKeyVersion` when the keyring lacks the box's key version, otherwise as
    ///   ``open(_:using:authenticating:)``.
    public static func open(
        _ box: SealedBox,
        using keyring: Keyring,
        authenticating associatedData: some DataProtocol
    ) throws -> Data {
        guard let key = keyring.key(version: box.keyVersion) else {
            throw CryptoError(
                .unknownKeyVersion,
                "the sealed box needs key version \(box.keyVersion), which the keyring does not hold"
            )
        }
        return try open(box, using: key, authenticating: associatedData)
    }
}
