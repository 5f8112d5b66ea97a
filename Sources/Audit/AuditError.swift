/// A failure of the audit sink, reader or verifier. `description` is log-safe: never a body, a key or a personal
/// identifier; the underlying error's detail is in `debugDescription`.
public struct AuditError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case crypto, invalidConfiguration, invalidQuery, store, keyUnavailable, partitionNotExpired
            case partitionNotFound, checkpointInvalid
        }
        private let base: Base
        /// SM2/SM3/SM4 failed.
        public static let crypto = Code(base: .crypto)
        /// A configuration value is malformed.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// A query parameter is malformed (bad cursor, limit out of range, …).
        public static let invalidQuery = Code(base: .invalidQuery)
        /// The database failed.
        public static let store = Code(base: .store)
        /// A key needed to seal or open is not configured.
        public static let keyUnavailable = Code(base: .keyUnavailable)
        /// A partition still holds records within the retention period.
        public static let partitionNotExpired = Code(base: .partitionNotExpired)
        /// No such partition.
        public static let partitionNotFound = Code(base: .partitionNotFound)
        /// A checkpoint file or checkpoint signature is not valid.
        public static let checkpointInvalid = Code(base: .checkpointInvalid)
        /// The code's name: bounded, usable as a metric label.
        public var description: String { base.rawValue }
    }

    /// The failure's kind.
    public var code: Code
    /// What failed, in one log-safe sentence.
    public var message: String
    /// The cause, if any (only in `debugDescription`).
    public var underlying: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind.
    ///   - message: What failed (log-safe).
    ///   - underlying: The cause.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The message.
    public var description: String { message }

    /// The message and the cause's debug description.
    public var debugDescription: String {
        guard let underlying else { return message }
        return "\(message) [\(String(reflecting: underlying))]"
    }
}
