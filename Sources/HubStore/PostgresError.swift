/// An error from the PostgreSQL store: configuration, connection, query, decoding, pool, COPY or migration.
///
/// `description` is safe to log: it names what failed, the SQLSTATE and the schema objects involved, and never
/// contains parameter values, passwords or the server's free-text message (which can quote values, as in
/// `invalid input syntax for type integer: "…"`). The server's message, detail and hint are in `debugDescription`.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is; match on it with `==`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration
            case connectionFailed
            case authenticationFailed
            case databaseNotFound
            case timeout
            case serverError
            case connectionClosed
            case decodingFailed
            case encodingFailed
            case poolExhausted
            case poolClosed
            case migrationChecksumMismatch
            case unknownAppliedMigration
            case invalidMigration
            case copyFailed
            case listenFailed
            case connectionBusy
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration (usually the database URL) is malformed or inconsistent.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The server could not be reached (refused, unreachable, TLS failure).
        public static let connectionFailed = Code(.connectionFailed)
        /// The server rejected the credentials (SQLSTATE 28P01 or 28000).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The database named in the configuration does not exist (SQLSTATE 3D000).
        public static let databaseNotFound = Code(.databaseNotFound)
        /// Connecting or waiting for the server's answer took longer than the configured timeout.
        public static let timeout = Code(.timeout)
        /// The server rejected a statement; `sqlState` says why.
        public static let serverError = Code(.serverError)
        /// The connection is closed or broken; it cannot be used again.
        public static let connectionClosed = Code(.connectionClosed)
        /// A column's value could not be decoded into the requested Swift type.
        public static let decodingFailed = Code(.decodingFailed)
        /// A value could not be encoded for the server.
        public static let encodingFailed = Code(.encodingFailed)
        /// Every pooled connection stayed leased for the whole acquire timeout.
        public static let poolExhausted = Code(.poolExhausted)
        /// The pool is closed and hands out no more connections.
        public static let poolClosed = Code(.poolClosed)
        /// An applied migration's SQL differs from the one this binary ships.
        public static let migrationChecksumMismatch = Code(.migrationChecksumMismatch)
        /// The database records an applied migration this binary does not know.
        public static let unknownAppliedMigration = Code(.unknownAppliedMigration)
        /// The migration list itself is inconsistent (duplicate or non-positive version, bad component name).
        public static let invalidMigration = Code(.invalidMigration)
        /// A COPY FROM STDIN was rejected; no row of it was stored.
        public static let copyFailed = Code(.copyFailed)
        /// LISTEN or waiting for notifications failed.
        public static let listenFailed = Code(.listenFailed)
        /// The connection is in the middle of another operation (a COPY) and cannot run this one.
        public static let connectionBusy = Code(.connectionBusy)

        /// The code's name, for example `authenticationFailed`.
        public var description: String { base.rawValue }
    }

    /// Where in the source the error was raised.
    public struct SourceLocation: Sendable, Hashable {
        /// The file that raised the error.
        public var file: String
        /// The line that raised the error.
        public var line: Int
    }

    /// The fields of a server error report (`ErrorResponse`).
    public struct ServerInfo: Sendable, Hashable {
        /// The SQLSTATE, for example `23505`.
        public var sqlState: String?
        /// The severity, for example `ERROR` or `FATAL` (never localized).
        public var severity: String?
        /// The primary message. May quote values: never log it.
        public var message: String?
        /// The detail. May quote values (`Key (id)=(42) already exists`): never log it.
        public var detail: String?
        /// The hint.
        public var hint: String?
        /// The schema of the object involved, when the server names one.
        public var schemaName: String?
        /// The table involved, when the server names one.
        public var tableName: String?
        /// The column involved, when the server names one.
        public var columnName: String?
        /// The constraint involved, when the server names one.
        public var constraintName: String?
    }

    /// What kind of failure this is.
    public var code: Code
    /// A log-safe, one-line explanation of what failed and what to do.
    public var message: String
    /// The server's error report, when the server sent one.
    public var server: ServerInfo?
    /// The raw libpq error text (connection failures). May contain host and user names; not in `description`.
    public var libpqMessage: String?
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?
    /// Where the error was raised.
    public var location: SourceLocation

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - message: A log-safe, one-line explanation; must not contain values, passwords or payloads.
    ///   - server: The server's error report, if any.
    ///   - libpqMessage: libpq's error text, if any.
    ///   - cause: The underlying error, if any.
    ///   - file: The source file (defaults to the caller's).
    ///   - line: The source line (defaults to the caller's).
    public init(
        code: Code,
        message: String,
        server: ServerInfo? = nil,
        libpqMessage: String? = nil,
        cause: (any Error & Sendable)? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.server = server
        self.libpqMessage = libpqMessage
        self.cause = cause
        self.location = SourceLocation(file: file, line: line)
    }

    /// The SQLSTATE the server reported, if any.
    public var sqlState: String? { server?.sqlState }

    /// Whether the server reported a unique violation (SQLSTATE 23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// Whether the server reported a foreign-key violation (SQLSTATE 23503).
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// Whether the server reported a check-constraint violation (SQLSTATE 23514).
    public var isCheckViolation: Bool { sqlState == "23514" }
    /// Whether the server reported a NOT NULL violation (SQLSTATE 23502).
    public var isNotNullViolation: Bool { sqlState == "23502" }
    /// Whether the transaction failed because of a serialization conflict (SQLSTATE 40001); retry it.
    public var isSerializationFailure: Bool { sqlState == "40001" }
    /// Whether the transaction was chosen as a deadlock victim (SQLSTATE 40P01); retry it.
    public var isDeadlock: Bool { sqlState == "40P01" }
    /// Whether the statement was cancelled by `statement_timeout` (SQLSTATE 57014).
    public var isQueryCanceled: Bool { sqlState == "57014" }

    /// A bounded label for metrics: the code, plus the SQLSTATE when there is one (`serverError.23505`).
    public var shortDescription: String {
        if let sqlState, sqlState.count == 5, sqlState.utf8.allSatisfy({ $0 < 0x80 }) {
            return "\(code).\(sqlState)"
        }
        return code.description
    }

    /// A log-safe line: code, message, SQLSTATE and the schema objects involved. No values, no passwords.
    public var description: String {
        var text = "PostgresError.\(code): \(message)"
        if let server {
            var parts: [String] = []
            if let sqlState = server.sqlState { parts.append("SQLSTATE \(sqlState)") }
            if let name = server.constraintName { parts.append("constraint \(name)") }
            if let name = server.tableName {
                parts.append("table \(server.schemaName.map { "\($0)." } ?? "")\(name)")
            }
            if let name = server.columnName { parts.append("column \(name)") }
            if !parts.isEmpty { text += " (\(parts.joined(separator: ", ")))" }
        }
        return text
    }

    /// Everything known, for a developer: the server's message, detail and hint, libpq's text, the cause and the
    /// source location. May contain values from the statement: do not log it in production.
    public var debugDescription: String {
        var text = description
        if let server {
            if let value = server.severity { text += "\n  severity: \(value)" }
            if let value = server.message { text += "\n  server message: \(value)" }
            if let value = server.detail { text += "\n  detail: \(value)" }
            if let value = server.hint { text += "\n  hint: \(value)" }
        }
        if let libpqMessage { text += "\n  libpq: \(libpqMessage)" }
        if let cause { text += "\n  cause: \(String(reflecting: cause))" }
        text += "\n  at: \(location.file):\(location.line)"
        return text
    }
}
