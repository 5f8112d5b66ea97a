public import Configuration
import Foundation
import Logging

extension HubConfiguration {
    /// The configuration keys and the environment variables they map to.
    ///
    /// | key | environment | type | default |
    /// |---|---|---|---|
    /// | `huitong.amqp.url` | `HUITONG_AMQP_URL` | URL, secret | `amqp://huitong:huitong@127.0.0.1:5673/huitong` |
    /// | `huitong.database.url` | `HUITONG_DATABASE_URL` | URL, secret | `postgres://huitong:huitong@127.0.0.1:5433/huitong` |
    /// | `huitong.http.host` | `HUITONG_HTTP_HOST` | host | `127.0.0.1` |
    /// | `huitong.http.port` | `HUITONG_HTTP_PORT` | 0–65535 | `8480` |
    /// | `huitong.roles` | `HUITONG_ROLES` | comma-separated | `all` |
    /// | `huitong.shutdown.timeout` | `HUITONG_SHUTDOWN_TIMEOUT` | seconds | `30` |
    /// | `huitong.shutdown.drain-delay` | `HUITONG_SHUTDOWN_DRAIN_DELAY` | 0–3600 seconds | `0` |
    /// | `huitong.connect.timeout` | `HUITONG_CONNECT_TIMEOUT` | seconds | `5` |
    /// | `huitong.log.level` | `HUITONG_LOG_LEVEL` | trace…critical | `info` |
    /// | `huitong.inbox.retention-days` | `HUITONG_INBOX_RETENTION_DAYS` | 1–3650 | `30` |
    /// | `huitong.consumer.lanes` | `HUITONG_CONSUMER_LANES` | 1–64 | `2` |
    /// | `huitong.consumer.batch-size` | `HUITONG_CONSUMER_BATCH_SIZE` | 1–1024 | `64` |
    /// | `huitong.consumer.batch-wait-ms` | `HUITONG_CONSUMER_BATCH_WAIT_MS` | 0–1000 | `0` |
    /// | `huitong.http.tls-certificate` | `HUITONG_HTTP_TLS_CERTIFICATE` | PEM file | none (plain HTTP, loopback only) |
    /// | `huitong.http.tls-key` | `HUITONG_HTTP_TLS_KEY` | PEM file, secret | none |
    public enum Key {
        /// Broker URL.
        public static let amqpURL = "huitong.amqp.url"
        /// Database URL.
        public static let databaseURL = "huitong.database.url"
        /// HTTP bind host.
        public static let httpHost = "huitong.http.host"
        /// HTTP port.
        public static let httpPort = "huitong.http.port"
        /// Roles.
        public static let roles = "huitong.roles"
        /// Graceful shutdown deadline in seconds.
        public static let shutdownTimeout = "huitong.shutdown.timeout"
        /// Seconds between the stop signal (readiness turns 503) and the start of graceful shutdown.
        public static let shutdownDrainDelay = "huitong.shutdown.drain-delay"
        /// Connection timeout in seconds.
        public static let connectTimeout = "huitong.connect.timeout"
        /// Log level.
        public static let logLevel = "huitong.log.level"
        /// Days a handled message id stays in `hub.inbox`.
        public static let inboxRetentionDays = "huitong.inbox.retention-days"
        /// Parallel lanes per consumer queue.
        public static let consumerLanes = "huitong.consumer.lanes"
        /// Deliveries per consumer transaction.
        public static let consumerBatchSize = "huitong.consumer.batch-size"
        /// Milliseconds a lane waits for a batch to fill after its first delivery.
        public static let consumerBatchWait = "huitong.consumer.batch-wait-ms"
        /// HTTPS certificate chain (PEM file).
        public static let tlsCertificate = "huitong.http.tls-certificate"
        /// HTTPS private key (PEM file).
        public static let tlsKey = "huitong.http.tls-key"
    }

    /// Reads the configuration, validating every value.
    ///
    /// Every key is optional; see ``Key`` for the keys, their environment variables and defaults.
    /// - Parameter reader: The reader (the executable builds it: options, then environment).
    /// - Throws: ``HubAppError`` naming the key and what is wrong with its value.
    public init(reader: ConfigReader) throws {
        self.init()
        self.reader = reader
        if let value = Self.read(reader, Key.amqpURL, isSecret: true), !value.isEmpty { amqpURL = value }
        if let value = Self.read(reader, Key.databaseURL, isSecret: true), !value.isEmpty { databaseURL = value }
        if let value = Self.read(reader, Key.httpHost), !value.isEmpty { httpHost = value }
        if let value = Self.read(reader, Key.httpPort) {
            guard let port = Int(value), (0...65_535).contains(port) else {
                throw HubAppError.invalidConfiguration(key: Key.httpPort, "must be a port number from 0 to 65535")
            }
            httpPort = port
        }
        if let value = Self.read(reader, Key.roles) {
            roles = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if roles.isEmpty {
                throw HubAppError.invalidConfiguration(key: Key.roles, "must name at least one role, or 'all'")
            }
        }
        shutdownTimeout = try Self.seconds(reader, Key.shutdownTimeout) ?? shutdownTimeout
        if let seconds = try Self.integer(reader, Key.shutdownDrainDelay, in: 0...3600) {
            shutdownDrainDelay = .seconds(seconds)
        }
        connectTimeout = try Self.seconds(reader, Key.connectTimeout) ?? connectTimeout
        if let value = Self.read(reader, Key.inboxRetentionDays) {
            guard let days = Int(value), (1...3650).contains(days) else {
                throw HubAppError.invalidConfiguration(key: Key.inboxRetentionDays, "must be a whole number of days from 1 to 3650")
            }
            inboxRetention = .seconds(Int64(days) * 86_400)
        }
        consumerLanes = try Self.integer(reader, Key.consumerLanes, in: 1...64) ?? consumerLanes
        consumerBatchSize = try Self.integer(reader, Key.consumerBatchSize, in: 1...1024) ?? consumerBatchSize
        if let milliseconds = try Self.integer(reader, Key.consumerBatchWait, in: 0...1000) {
            consumerBatchWait = .milliseconds(milliseconds)
        }
        if let value = Self.read(reader, Key.logLevel) {
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                throw HubAppError.invalidConfiguration(
                    key: Key.logLevel,
                    "must be one of trace, debug, info, notice, warning, error, critical"
                )
            }
            logLevel = level
        }
        tlsCertificate = Self.read(reader, Key.tlsCertificate).flatMap { $0.isEmpty ? nil : $0 }
        tlsKey = Self.read(reader, Key.tlsKey, isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw HubAppError.invalidConfiguration(
                key: tlsCertificate == nil ? Key.tlsCertificate : Key.tlsKey,
                "must be set together with \(tlsCertificate == nil ? Key.tlsKey : Key.tlsCertificate)")
        }
    }

    private static func read(_ reader: ConfigReader, _ key: String, isSecret: Bool = false) -> String? {
        reader.string(forKey: ConfigKey(key), isSecret: isSecret)
    }

    private static func integer(_ reader: ConfigReader, _ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = read(reader, key) else { return nil }
        guard let number = Int(value.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw HubAppError.invalidConfiguration(
                key: key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    private static func seconds(_ reader: ConfigReader, _ key: String) throws -> Duration? {
        guard let value = read(reader, key) else { return nil }
        guard let seconds = Double(value), seconds > 0, seconds <= 86_400 else {
            throw HubAppError.invalidConfiguration(key: key, "must be a number of seconds between 0 and 86400")
        }
        return .milliseconds(Int64(seconds * 1000))
    }
}
