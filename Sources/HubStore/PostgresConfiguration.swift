import HubCore

/// How to reach PostgreSQL and how the pool behaves.
///
/// Parse it from a URL (`postgres://` or `postgresql://`):
///
/// ```
/// postgres://user:password@host:port/dbname?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=5
/// ```
///
/// Keys (URL query parameters, all optional):
/// - `sslmode` (string, default `prefer`): one of `disable`, `allow`, `prefer`, `require`, `verify-ca`,
///   `verify-full`.
/// - `sslrootcert` (path, default none): the CA certificate file for `verify-ca` and `verify-full`.
/// - `connect_timeout` (whole seconds, default 10): how long connecting may take.
/// - `application_name` (string, default `huitong`): shown in `pg_stat_activity`.
/// - `statement_timeout` (whole milliseconds, default 30000; 0 disables): the server cancels a longer statement.
/// - `pool_size` (integer 1…1000, default 10): the most connections a pool opens.
/// - `pool_timeout` (whole seconds, default 10): how long a pool lease may wait for a free connection.
///
/// The URL's user, password, host and database name are percent-decoded; an IPv6 host is written in brackets
/// (`postgres://u@[::1]:5432/db`). The port defaults to 5432. The password never appears in `description`,
/// `debugDescription`, a mirror or an error.
public struct PostgresConfiguration: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The TLS policy, as libpq's `sslmode`.
    public struct SSLMode: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable, CaseIterable {
            case disable, allow, prefer, require
            case verifyCA = "verify-ca"
            case verifyFull = "verify-full"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Parses libpq's spelling (`verify-full`); nil if it is not one of the six modes.
        /// - Parameter name: The mode's name.
        public init?(_ name: String) {
            guard let base = Base(rawValue: name) else { return nil }
            self.base = base
        }

        /// Never use TLS.
        public static let disable = SSLMode(.disable)
        /// Try plain first, then TLS.
        public static let allow = SSLMode(.allow)
        /// Try TLS first, then plain (libpq's default).
        public static let prefer = SSLMode(.prefer)
        /// Require TLS; do not verify the certificate.
        public static let require = SSLMode(.require)
        /// Require TLS and a certificate signed by a trusted CA.
        public static let verifyCA = SSLMode(.verifyCA)
        /// Require TLS, a trusted certificate, and a host name that matches it.
        public static let verifyFull = SSLMode(.verifyFull)

        /// libpq's spelling of the mode.
        public var description: String { base.rawValue }

        /// The accepted spellings, for error messages.
        static let allNames = Base.allCases.map(\.rawValue)
    }

    /// The default URL of the hub's local database.
    public static let defaultURL = "postgres://huitong:huitong@127.0.0.1:5433/huitong"

    /// The host name, IP address (IPv6 without brackets) or Unix-socket directory (starting with `/`).
    public var host: String
    /// The TCP port. Default 5432.
    public var port: Int
    /// The role to log in as; nil lets libpq use its default.
    public var user: String?
    /// The password; nil for none. Never printed.
    public var password: String?
    /// The database name.
    public var database: String
    /// The TLS policy. Default `.prefer`.
    public var sslMode: SSLMode
    /// The CA certificate file for `verify-ca`/`verify-full`; nil for libpq's default.
    public var sslRootCertificatePath: String?
    /// The name shown in `pg_stat_activity`. Default `huitong`.
    public var applicationName: String
    /// How long connecting may take. Default 10 s.
    public var connectTimeout: Duration
    /// The server-side `statement_timeout`; nil disables it. Default 30 s.
    public var queryTimeout: Duration?
    /// The most connections a pool opens. Default 10.
    public var poolSize: Int
    /// How long a pool lease waits for a free connection before `poolExhausted`. Default 10 s.
    public var poolAcquireTimeout: Duration
    /// Whether a connection prepares the statements it runs repeatedly (named prepared statements, parsed and
    /// planned once per connection). Default true; turn it off (`prepared_statements=off`) behind a pooler that
    /// does not keep server sessions, such as PgBouncer in transaction mode before 1.21.
    public var preparedStatements: Bool = true

    /// Creates a configuration from its parts.
    /// - Parameters:
    ///   - host: The host name, IP address or Unix-socket directory.
    ///   - port: The TCP port (default 5432).
    ///   - user: The role (default: libpq's default).
    ///   - password: The password (default none).
    ///   - database: The database name.
    ///   - sslMode: The TLS policy (default `.prefer`).
    ///   - sslRootCertificatePath: The CA file (default none).
    ///   - applicationName: Shown in `pg_stat_activity` (default `huitong`).
    ///   - connectTimeout: How long connecting may take (default 10 s).
    ///   - queryTimeout: The server-side statement timeout (default 30 s; nil disables).
    ///   - poolSize: The most connections a pool opens (default 10).
    ///   - poolAcquireTimeout: How long a lease waits (default 10 s).
    public init(
        host: String,
        port: Int = 5432,
        user: String? = nil,
        password: String? = nil,
        database: String,
        sslMode: SSLMode = .prefer,
        sslRootCertificatePath: String? = nil,
        applicationName: String = "huitong",
        connectTimeout: Duration = .seconds(10),
        queryTimeout: Duration? = .seconds(30),
        poolSize: Int = 10,
        poolAcquireTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificatePath = sslRootCertificatePath
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.queryTimeout = queryTimeout
        self.poolSize = poolSize
        self.poolAcquireTimeout = poolAcquireTimeout
    }

    /// Parses a `postgres://` or `postgresql://` URL.
    /// - Parameter url: The URL; see the type's documentation for the accepted keys.
    /// - Throws: `PostgresError` with code `invalidConfiguration` and a one-line reason that never quotes the
    ///   password.
    public init(url: String) throws(PostgresError) {
        self = try URLParser.parse(url)
    }

    /// The configuration as a URL with the password replaced by `***`.
    public var redactedDescription: String {
        var text = "postgres://"
        if let user {
            text += URLParser.percentEncode(user)
            if password != nil { text += ":***" }
            text += "@"
        }
        text += host.contains(":") ? "[\(host)]" : (host.hasPrefix("/") ? URLParser.percentEncode(host) : host)
        text += ":\(port)/\(URLParser.percentEncode(database))?sslmode=\(sslMode)"
        if let sslRootCertificatePath { text += "&sslrootcert=\(URLParser.percentEncode(sslRootCertificatePath))" }
        text += "&connect_timeout=\(Self.wholeSeconds(connectTimeout))"
        text += "&statement_timeout=\(queryTimeout.map(Self.milliseconds) ?? 0)"
        text += "&application_name=\(URLParser.percentEncode(applicationName))"
        text += "&pool_size=\(poolSize)&pool_timeout=\(Self.wholeSeconds(poolAcquireTimeout))"
        if !preparedStatements { text += "&prepared_statements=off" }
        return text
    }

    /// Same as `redactedDescription`.
    public var description: String { redactedDescription }
    /// Same as `redactedDescription`.
    public var debugDescription: String { redactedDescription }
    /// A mirror that shows the redacted URL only, so `dump` never prints the password.
    public var customMirror: Mirror { Mirror(self, children: ["url": redactedDescription]) }

    /// The libpq keyword/value pairs for `PQconnectStartParams`. Contains the password: never log it.
    var connectionParameters: [(String, String)] {
        var pairs: [(String, String)] = [
            ("host", host),
            ("port", String(port)),
            ("dbname", database),
            ("sslmode", sslMode.description),
            ("connect_timeout", String(max(2, Self.wholeSeconds(connectTimeout)))),
            ("application_name", applicationName),
            ("client_encoding", "UTF8"),
        ]
        if let user { pairs.append(("user", user)) }
        if let password { pairs.append(("password", password)) }
        if let sslRootCertificatePath { pairs.append(("sslrootcert", sslRootCertificatePath)) }
        var options = "-c DateStyle=ISO,YMD -c bytea_output=hex -c IntervalStyle=postgres -c extra_float_digits=3"
        if let queryTimeout { options += " -c statement_timeout=\(Self.milliseconds(queryTimeout))" }
        pairs.append(("options", options))
        return pairs
    }

    static func wholeSeconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds + (attoseconds > 0 ? 1 : 0)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// A strict parser for libpq-style URLs; every error names the part that is wrong and never echoes the password.
enum URLParser {
    static func parse(_ url: String) throws(PostgresError) -> PostgresConfiguration {
        func fail(_ reason: String) -> PostgresError {
            PostgresError(code: .invalidConfiguration, message: "invalid database URL: \(reason)")
        }
        let rest: Substring
        if url.hasPrefix("postgres://") {
            rest = url.dropFirst("postgres://".count)
        } else if url.hasPrefix("postgresql://") {
            rest = url.dropFirst("postgresql://".count)
        } else {
            throw fail("it must start with postgres:// or postgresql://")
        }
        if rest.contains("#") { throw fail("a fragment ('#') is not allowed; percent-encode '#' as %23") }

        // Split off the query, then the path (database), then the authority.
        let beforeQuery: Substring
        let query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            beforeQuery = rest[..<mark]
            query = rest[rest.index(after: mark)...]
        } else {
            beforeQuery = rest
            query = nil
        }
        let authority: Substring
        let path: Substring?
        if let slash = beforeQuery.firstIndex(of: "/") {
            authority = beforeQuery[..<slash]
            path = beforeQuery[beforeQuery.index(after: slash)...]
        } else {
            authority = beforeQuery
            path = nil
        }

        // userinfo@hostport; the password may contain '@' only percent-encoded, so split at the last '@'.
        var user: String?
        var password: String?
        let hostPort: Substring
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                guard let decoded = percentDecode(userInfo[..<colon]) else {
                    throw fail("the user name has an invalid percent-encoding")
                }
                user = decoded
                guard let decodedPassword = percentDecode(userInfo[userInfo.index(after: colon)...]) else {
                    throw fail("the password has an invalid percent-encoding (the password is not shown)")
                }
                password = decodedPassword
            } else {
                guard let decoded = percentDecode(userInfo) else {
                    throw fail("the user name has an invalid percent-encoding")
                }
                user = decoded
            }
            if user?.isEmpty == true { user = nil }
        } else {
            hostPort = authority
        }

        // host[:port], with [IPv6]
        var host: String
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw fail("an IPv6 host must be closed with ']'")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" }) else {
                throw fail("the IPv6 host is not a valid address")
            }
        } else {
            if let colon = hostPort.firstIndex(of: ":") {
                guard let decoded = percentDecode(hostPort[..<colon]) else {
                    throw fail("the host has an invalid percent-encoding")
                }
                host = decoded
                portText = hostPort[hostPort.index(after: colon)...]
            } else {
                guard let decoded = percentDecode(hostPort) else {
                    throw fail("the host has an invalid percent-encoding")
                }
                host = decoded
            }
        }
        if host.isEmpty { throw fail("the host is missing (postgres://user:password@HOST:port/dbname)") }
        if host.contains(",") { throw fail("multiple hosts are not supported") }

        var port = 5432
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value), portText.allSatisfy(\.isASCII) else {
                throw fail("the port must be a number from 1 to 65535")
            }
            port = value
        }

        guard let path, !path.isEmpty else {
            throw fail("the database name is missing (postgres://user:password@host:port/DBNAME)")
        }
        guard let database = percentDecode(path) else {
            throw fail("the database name has an invalid percent-encoding")
        }
        if database.contains("/") { throw fail("the database name must not contain '/'") }

        var configuration = PostgresConfiguration(
            host: host,
            port: port,
            user: user,
            password: password,
            database: database
        )
        if let query, !query.isEmpty {
            var seen: Set<String> = []
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let key = percentDecode(parts[0]), let value = percentDecode(parts[1]) else {
                    throw fail("each query parameter must be key=value with valid percent-encoding")
                }
                guard seen.insert(key).inserted else { throw fail("the parameter '\(key)' is given twice") }
                try apply(key: key, value: value, to: &configuration, fail: fail)
            }
        }
        return configuration
    }

    private static func apply(
        key: String,
        value: String,
        to configuration: inout PostgresConfiguration,
        fail: (String) -> PostgresError
    ) throws(PostgresError) {
        func positiveInteger(_ range: ClosedRange<Int>, _ what: String) throws(PostgresError) -> Int {
            guard let number = Int(value), range.contains(number) else {
                throw fail("\(key) must be \(what) from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        switch key {
        case "sslmode":
            guard let mode = PostgresConfiguration.SSLMode(value) else {
                throw fail(
                    "sslmode must be one of \(PostgresConfiguration.SSLMode.allNames.joined(separator: ", "))"
                )
            }
            configuration.sslMode = mode
        case "sslrootcert":
            guard !value.isEmpty else { throw fail("sslrootcert must be a file path") }
            configuration.sslRootCertificatePath = value
        case "connect_timeout":
            configuration.connectTimeout = .seconds(try positiveInteger(1...3600, "whole seconds"))
        case "application_name":
            guard value.count <= 63, value.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
                throw fail("application_name must be at most 63 printable ASCII characters")
            }
            configuration.applicationName = value
        case "statement_timeout":
            let milliseconds = try positiveInteger(0...86_400_000, "whole milliseconds")
            configuration.queryTimeout = milliseconds == 0 ? nil : .milliseconds(milliseconds)
        case "pool_size":
            configuration.poolSize = try positiveInteger(1...1000, "a number")
        case "pool_timeout":
            configuration.poolAcquireTimeout = .seconds(try positiveInteger(1...3600, "whole seconds"))
        case "prepared_statements":
            switch value.lowercased() {
            case "on", "true", "1": configuration.preparedStatements = true
            case "off", "false", "0": configuration.preparedStatements = false
            default: throw fail("prepared_statements must be on or off")
            }
        default:
            let safeKey = key.count <= 40 && key.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "_") }) ? key : "?"
            throw fail(
                "unknown parameter '\(safeKey)' (accepted: sslmode, sslrootcert, connect_timeout, "
                    + "application_name, statement_timeout, pool_size, pool_timeout, "
                    + "prepared_statements)"
            )
        }
    }

    /// Decodes `%XX` escapes (``PercentEncoding/decode(_:)``).
    static func percentDecode(_ text: Substring) -> String? { PercentEncoding.decode(text) }

    /// Percent-encodes all but unreserved characters (``PercentEncoding/encode(_:)``).
    static func percentEncode(_ text: String) -> String { PercentEncoding.encode(text) }
}
