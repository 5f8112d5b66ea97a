import HubCore

/// Where and how to connect to RabbitMQ, parsed from an `amqp://` or `amqps://` URL (RabbitMQ URI spec).
///
/// `amqp[s]://user:password@host:port/vhost?key=value&…`. User, password and vhost are percent-decoded
/// (`%2f` is `/`). Missing parts take the spec's defaults.
///
/// Keys (all optional):
/// - `host` (`String`, default `localhost`)
/// - `port` (`Int`, default 5672 for `amqp`, 5671 for `amqps`)
/// - `user`, `password` (`String`, default `guest`/`guest`)
/// - `vhost` (`String`, default `/`; an empty path is also `/`)
/// - query `heartbeat` (seconds, `Int` 0…65535, default 10; 0 disables heartbeats)
/// - query `connection_timeout` (milliseconds, `Int` > 0, default 30000): TCP/TLS connect and login handshake
/// - query `channel_max` (`Int` 0…65535, default 0: the broker's limit)
/// - query `frame_max` (`Int` 0 or 4096…2147483647, default 131072)
/// - TLS only (`amqps`): `cacertfile`, `certfile`, `keyfile` (paths), `verify` (`verify_peer` default, or
///   `verify_none`), `server_name_indication` (default: the host)
///
/// Not in the URL: ``connectionName`` (client property `connection_name`), ``reconnect`` (backoff), ``publishTimeout``.
public struct AMQPConfiguration: Sendable, Hashable {
    /// TLS settings for `amqps://`.
    public struct TLS: Sendable, Hashable {
        /// PEM file of the CA certificates that sign the broker's certificate (`cacertfile`), optional.
        public var caCertificateFile: String?
        /// PEM file of the client certificate (`certfile`), optional; requires `keyFile`.
        public var certificateFile: String?
        /// PEM file of the client key (`keyfile`), optional; requires `certificateFile`.
        public var keyFile: String?
        /// Verify the broker's certificate chain and host name (`verify=verify_peer`, default true).
        public var verifyPeer: Bool
        /// The name sent in SNI and checked against the certificate (default nil: the host).
        public var serverNameIndication: String?

        /// Creates TLS settings.
        /// - Parameters:
        ///   - caCertificateFile: CA bundle path (default nil).
        ///   - certificateFile: Client certificate path (default nil).
        ///   - keyFile: Client key path (default nil).
        ///   - verifyPeer: Whether to verify the broker (default true).
        ///   - serverNameIndication: SNI name (default nil: the host).
        public init(
            caCertificateFile: String? = nil,
            certificateFile: String? = nil,
            keyFile: String? = nil,
            verifyPeer: Bool = true,
            serverNameIndication: String? = nil
        ) {
            self.caCertificateFile = caCertificateFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.verifyPeer = verifyPeer
            self.serverNameIndication = serverNameIndication
        }
    }

    /// The reconnection backoff: `initial`, then doubling up to `maximum`.
    public struct Backoff: Sendable, Hashable {
        /// The first delay; never below 0.5 s (a reconnect in the same millisecond got a nacking channel).
        public var initial: Duration
        /// The largest delay.
        public var maximum: Duration
        /// The smallest first delay accepted.
        public static let minimumInitial: Duration = .milliseconds(500)

        /// Creates a backoff schedule.
        /// - Parameters:
        ///   - initial: The first delay (default 0.5 s; values below 0.5 s are raised to 0.5 s).
        ///   - maximum: The cap (default 30 s).
        public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
            self.initial = max(initial, Self.minimumInitial)
            self.maximum = max(maximum, self.initial)
        }

        /// The delay before reconnection attempt `attempt` (1-based): `initial × 2^(attempt−1)`, capped.
        /// - Parameter attempt: The attempt number; values below 1 count as 1.
        /// - Returns: The delay.
        public func delay(attempt: Int) -> Duration {
            let exponent = min(max(attempt, 1) - 1, 30)
            let delay = initial * (1 << exponent)
            return min(delay, maximum)
        }
    }

    /// Whether the connection uses TLS (`amqps`).
    public var usesTLS: Bool { tls != nil }
    /// The broker's host name or address.
    public var host: String
    /// The broker's port.
    public var port: Int
    /// The user name.
    public var user: String
    /// The password; never logged, never in errors, `***` in ``redactedURL``.
    public var password: String
    /// The virtual host.
    public var vhost: String
    /// The heartbeat interval in seconds proposed to the broker (0: none).
    public var heartbeatSeconds: Int
    /// The connect and handshake timeout.
    public var connectionTimeout: Duration
    /// The channel limit proposed to the broker (0: the broker's).
    public var channelMax: Int
    /// The frame size limit proposed to the broker.
    public var frameMax: Int
    /// TLS settings; nil for plain `amqp://`.
    public var tls: TLS?
    /// The client-provided connection name (client property `connection_name`): the management UI's
    /// `user_provided_name`; RabbitMQ 3.10's `rabbitmqctl list_connections client_properties` shows it.
    public var connectionName: String?
    /// How long a publish waits for its confirm before failing with `timeout` (default 30 s).
    public var publishTimeout: Duration
    /// The reconnection backoff (default 0.5 s doubling to 30 s).
    public var reconnect: Backoff

    /// Parses a RabbitMQ URI.
    /// - Parameters:
    ///   - url: `amqp://…` or `amqps://…`.
    ///   - connectionName: The client-provided connection name (default nil).
    /// - Throws: ``AMQPError`` with code `invalidURL`, whose message names the faulty part but never echoes the
    ///   password or the URL.
    public init(url: String, connectionName: String? = nil) throws(AMQPError) {
        self = try URLParser.parse(url)
        self.connectionName = connectionName
    }

    /// Creates a configuration from its parts.
    /// - Parameters:
    ///   - host: Broker host (default `127.0.0.1`).
    ///   - port: Broker port (default 5672, or 5671 with TLS).
    ///   - user: User name (default `guest`).
    ///   - password: Password (default `guest`).
    ///   - vhost: Virtual host (default `/`).
    ///   - tls: TLS settings (default nil: plain TCP).
    ///   - connectionName: Client-provided connection name (default nil).
    public init(
        host: String = "127.0.0.1",
        port: Int? = nil,
        user: String = "guest",
        password: String = "guest",
        vhost: String = "/",
        tls: TLS? = nil,
        connectionName: String? = nil
    ) {
        self.host = host
        self.port = port ?? (tls == nil ? 5672 : 5671)
        self.user = user
        self.password = password
        self.vhost = vhost
        self.tls = tls
        self.connectionName = connectionName
        self.heartbeatSeconds = 10
        self.connectionTimeout = .seconds(30)
        self.channelMax = 0
        self.frameMax = 131_072
        self.publishTimeout = .seconds(30)
        self.reconnect = Backoff()
    }

    /// The URL with the password replaced by `***`: safe to log and to show in `huitong doctor`.
    public var redactedURL: String {
        var text = usesTLS ? "amqps://" : "amqp://"
        text += URLParser.percentEncode(user) + ":***@"
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)/" + URLParser.percentEncode(vhost)
        var query: [String] = []
        if heartbeatSeconds != 10 { query.append("heartbeat=\(heartbeatSeconds)") }
        let timeoutMilliseconds = Self.milliseconds(connectionTimeout)
        if timeoutMilliseconds != 30_000 { query.append("connection_timeout=\(timeoutMilliseconds)") }
        if channelMax != 0 { query.append("channel_max=\(channelMax)") }
        if frameMax != 131_072 { query.append("frame_max=\(frameMax)") }
        if let tls {
            if let path = tls.caCertificateFile { query.append("cacertfile=" + URLParser.percentEncode(path)) }
            if let path = tls.certificateFile { query.append("certfile=" + URLParser.percentEncode(path)) }
            if let path = tls.keyFile { query.append("keyfile=" + URLParser.percentEncode(path)) }
            if !tls.verifyPeer { query.append("verify=verify_none") }
            if let name = tls.serverNameIndication {
                query.append("server_name_indication=" + URLParser.percentEncode(name))
            }
        }
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// The RabbitMQ URI parser. Every error names the faulty part and never echoes URL text that could hold a secret.
enum URLParser {
    static let queryKeys: Set<String> = [
        "heartbeat", "connection_timeout", "channel_max", "frame_max", "cacertfile", "certfile", "keyfile", "verify",
        "server_name_indication",
    ]

    static func fail(_ what: String) -> AMQPError {
        AMQPError(.invalidURL, "invalid AMQP URL: \(what)")
    }

    static func parse(_ url: String) throws(AMQPError) -> AMQPConfiguration {
        let lowered = url.lowercased()
        let tls: Bool
        let rest: Substring
        if lowered.hasPrefix("amqp://") {
            tls = false
            rest = url.dropFirst("amqp://".count)
        } else if lowered.hasPrefix("amqps://") {
            tls = true
            rest = url.dropFirst("amqps://".count)
        } else {
            throw fail("the scheme must be amqp:// or amqps://")
        }
        if url.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true }) {
            throw fail("it contains whitespace or control characters; percent-encode them")
        }
        let (beforeQuery, query) = split(rest, at: "?")
        let (authority, path) = split(beforeQuery, at: "/")
        if authority.contains("#") || (path?.contains("#") ?? false) || (query?.contains("#") ?? false) {
            throw fail("a fragment ('#') is not allowed; percent-encode '#' as %23")
        }

        var configuration = AMQPConfiguration(tls: tls ? AMQPConfiguration.TLS() : nil)

        // userinfo@host:port — the last '@' separates them, so an unencoded '@' in a password still parses.
        let hostPart: Substring
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPart = authority[authority.index(after: at)...]
            let (rawUser, rawPassword) = split(userInfo, at: ":")
            guard let user = percentDecode(rawUser) else { throw fail("the user name has an invalid percent-escape") }
            configuration.user = user
            if let rawPassword {
                guard let password = percentDecode(rawPassword) else {
                    throw fail("the password has an invalid percent-escape")
                }
                configuration.password = password
            }
        } else {
            hostPart = authority
        }

        var host: Substring
        var portText: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw fail("an IPv6 host lacks its closing ']'") }
            host = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            let after = hostPart[hostPart.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else {
            (host, portText) = split(hostPart, at: ":")
            if portText?.contains(":") == true {
                throw fail("the host part has more than one ':'; put an IPv6 address in brackets")
            }
        }
        guard let decodedHost = percentDecode(host) else { throw fail("the host has an invalid percent-escape") }
        configuration.host = decodedHost.isEmpty ? "localhost" : decodedHost
        if let portText {
            guard let port = Int(portText), (1...65_535).contains(port) else {
                throw fail("the port must be a number from 1 to 65535")
            }
            configuration.port = port
        }

        if let path, path == "/" {
            configuration.vhost = "/"  // `amqp://host//`, the rabbitmq-c spelling of the default vhost
        } else if let path, !path.isEmpty {
            if path.contains("/") { throw fail("the vhost must be one path segment; write '/' inside it as %2f") }
            guard let vhost = percentDecode(path) else { throw fail("the vhost has an invalid percent-escape") }
            configuration.vhost = vhost
        }

        if let query, !query.isEmpty {
            var seen: Set<String> = []
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let (rawKey, rawValue) = split(pair, at: "=")
                guard let key = percentDecode(rawKey), let value = rawValue.flatMap(percentDecode) else {
                    throw fail("a query parameter is malformed (expected key=value)")
                }
                guard queryKeys.contains(key) else {
                    let shown = key.count <= 32 && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
                    throw fail(
                        (shown ? "unknown query parameter '\(key)'" : "an unknown query parameter")
                            + "; supported: \(queryKeys.sorted().joined(separator: ", "))"
                    )
                }
                guard seen.insert(key).inserted else { throw fail("query parameter '\(key)' appears twice") }
                try apply(key: key, value: value, to: &configuration)
            }
        }
        return configuration
    }

    private static func apply(key: String, value: String, to configuration: inout AMQPConfiguration) throws(AMQPError) {
        func integer(_ range: ClosedRange<Int>, _ what: String) throws(AMQPError) -> Int {
            guard let number = Int(value), range.contains(number) else { throw fail("'\(key)' must be \(what)") }
            return number
        }
        switch key {
        case "heartbeat":
            configuration.heartbeatSeconds = try integer(0...65_535, "a number of seconds from 0 to 65535")
        case "connection_timeout":
            let milliseconds = try integer(1...86_400_000, "a number of milliseconds from 1 to 86400000")
            configuration.connectionTimeout = .milliseconds(milliseconds)
        case "channel_max":
            configuration.channelMax = try integer(0...65_535, "a number from 0 to 65535")
        case "frame_max":
            let frameMax = try integer(0...2_147_483_647, "0 or a number from 4096 to 2147483647")
            guard frameMax == 0 || frameMax >= 4096 else {
                throw fail("'frame_max' must be 0 or a number from 4096 to 2147483647")
            }
            configuration.frameMax = frameMax
        default:
            guard configuration.tls != nil else { throw fail("'\(key)' applies only to amqps:// URLs") }
            switch key {
            case "cacertfile": configuration.tls?.caCertificateFile = value
            case "certfile": configuration.tls?.certificateFile = value
            case "keyfile": configuration.tls?.keyFile = value
            case "server_name_indication":
                guard !value.isEmpty else { throw fail("'server_name_indication' must not be empty") }
                configuration.tls?.serverNameIndication = value
            case "verify":
                switch value {
                case "verify_peer": configuration.tls?.verifyPeer = true
                case "verify_none": configuration.tls?.verifyPeer = false
                default: throw fail("'verify' must be verify_peer or verify_none")
                }
            default:
                throw fail("unsupported query parameter")
            }
        }
    }

    /// Splits at the first `separator`; the second part is nil when the separator is absent.
    static func split(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (text[..<index], text[text.index(after: index)...])
    }

    /// Decodes `%XX` escapes (``PercentEncoding/decode(_:)``).
    static func percentDecode(_ text: Substring) -> String? { PercentEncoding.decode(text) }

    /// Percent-encodes all but unreserved characters (``PercentEncoding/encode(_:)``).
    static func percentEncode(_ text: String) -> String { PercentEncoding.encode(text) }
}
