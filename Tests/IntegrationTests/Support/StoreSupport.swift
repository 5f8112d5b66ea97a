import Foundation
import HubStore
import Logging
import Synchronization

/// Helpers for the HubStore integration tests: the real PostgreSQL started by `deploy/local/servers.sh`.
enum StoreSupport {
    /// `HUITONG_DATABASE_URL`, or the local servers' default.
    static var databaseURL: String {
        ProcessInfo.processInfo.environment["HUITONG_DATABASE_URL"] ?? PostgresConfiguration.defaultURL
    }

    /// The configuration of the test database, with short timeouts.
    static func configuration(poolSize: Int = 4) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: databaseURL)
        configuration.poolSize = poolSize
        configuration.connectTimeout = .seconds(5)
        configuration.poolAcquireTimeout = .seconds(30)
        configuration.applicationName = "huitong-store-tests"
        return configuration
    }

    /// A logger that drops everything (tests never bootstrap the logging system).
    static let logger = Logger(label: "huitong.store.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A fresh, unique identifier such as `t_1a2b3c4d5e6f`.
    static func uniqueName(_ prefix: String = "t") throws -> SQLIdentifier {
        let suffix = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        return try SQLIdentifier("\(prefix)_\(suffix)")
    }

    /// Runs `body` with a pool and a fresh schema `t_<random>`, then drops the schema and closes the pool,
    /// whether the body succeeded or not.
    static func withTestSchema<T>(
        poolSize: Int = 4,
        _ body: (PostgresPool, SQLIdentifier) async throws -> T
    ) async throws -> T {
        let pool = PostgresPool(configuration: try configuration(poolSize: poolSize), logger: logger)
        let schema = try uniqueName()
        do {
            try await pool.query("CREATE SCHEMA \(schema)")
        } catch {
            await pool.close()
            throw error
        }
        let result: T
        do {
            result = try await body(pool, schema)
        } catch {
            _ = try? await pool.query("DROP SCHEMA \(schema) CASCADE")
            await pool.close()
            throw error
        }
        try await pool.query("DROP SCHEMA \(schema) CASCADE")
        await pool.close()
        return result
    }
}

/// Records every log event, so a test can check what HubStore logs (tests never bootstrap the logging system).
final class StoreLogCapture: Sendable {
    /// One recorded event, flattened to text.
    struct Entry: Sendable {
        var level: Logger.Level
        var text: String
    }

    private let entries = Mutex<[Entry]>([])

    /// A logger at `trace` level that records into this capture.
    var logger: Logger {
        Logger(label: "huitong.store.tests.capture", factory: { _ in Handler(capture: self) })
    }

    /// What was recorded so far.
    var recorded: [Entry] { entries.withLock { $0 } }

    fileprivate func record(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let capture: StoreLogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new })
            let text = "\(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))"
            capture.record(Entry(level: event.level, text: text))
        }
    }
}
