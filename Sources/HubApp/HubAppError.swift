import Foundation

/// A failure of the hub application that an operator must act on: one line that says what failed and how to fix it.
///
/// `description` is safe to log and to print: it never contains a password, a message body or a personal
/// identifier. The underlying error's detail is in `debugDescription`.
public struct HubAppError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, unknownRole, brokerUnavailable, databaseUnavailable, migrationFailed
            case topologyFailed, portInUse, httpFailed, contractsInvalid
        }
        private let base: Base
        /// A configuration value is malformed.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// `--roles` names a role that does not exist.
        public static let unknownRole = Code(base: .unknownRole)
        /// The broker could not be reached or refused us.
        public static let brokerUnavailable = Code(base: .brokerUnavailable)
        /// The database could not be reached or refused us.
        public static let databaseUnavailable = Code(base: .databaseUnavailable)
        /// A migration could not be applied or the applied ones do not match this binary.
        public static let migrationFailed = Code(base: .migrationFailed)
        /// Declaring the broker topology failed.
        public static let topologyFailed = Code(base: .topologyFailed)
        /// The HTTP port is taken.
        public static let portInUse = Code(base: .portInUse)
        /// The HTTP server failed.
        public static let httpFailed = Code(base: .httpFailed)
        /// The contracts folder has failing examples or schemas.
        public static let contractsInvalid = Code(base: .contractsInvalid)
        /// The code's name, bounded: usable as a metric label.
        public var description: String { base.rawValue }
    }

    /// The failure's kind.
    public var code: Code
    /// What failed, in one log-safe sentence.
    public var message: String
    /// What the operator should do about it.
    public var fix: String?
    /// The underlying error, if any (its detail appears only in `debugDescription`).
    public var underlying: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind.
    ///   - message: What failed (log-safe).
    ///   - fix: What to do (optional).
    ///   - underlying: The cause (optional).
    public init(_ code: Code, _ message: String, fix: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
        self.underlying = underlying
    }

    /// One line: the message and, if known, the fix.
    public var description: String {
        if let fix { return "\(message); fix: \(fix)" }
        return message
    }

    /// The line plus the underlying error's debug description.
    public var debugDescription: String {
        guard let underlying else { return description }
        return "\(description) [\(String(reflecting: underlying))]"
    }

    static func invalidConfiguration(key: String, _ problem: String) -> HubAppError {
        let environment = key.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
        return HubAppError(
            .invalidConfiguration,
            "configuration \(key) (\(environment)) \(problem)",
            fix: "correct \(environment) or the matching command-line option"
        )
    }
}
