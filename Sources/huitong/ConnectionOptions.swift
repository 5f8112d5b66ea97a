import ArgumentParser
import Configuration
import Foundation
import HubApp
import Logging

/// Options shared by every command that talks to the broker or the database.
///
/// Each option overrides its environment variable; see `HubConfiguration.Key` for all keys and defaults.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("amqp-url"), help: "Broker URL (env HUITONG_AMQP_URL).")
    var amqpURL: String?

    @Option(name: .customLong("database-url"), help: "Database URL (env HUITONG_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("connect-timeout"), help: "Seconds to wait for a server (env HUITONG_CONNECT_TIMEOUT).")
    var connectTimeout: Double?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical (env HUITONG_LOG_LEVEL).")
    var logLevel: String?

    /// Option values first, then the environment, then defaults.
    func configuration(extra: [String: ConfigValue] = [:]) throws -> HubConfiguration {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        if let amqpURL { values[AbsoluteConfigKey(HubConfiguration.Key.amqpURL)] = .init(.string(amqpURL), isSecret: true) }
        if let databaseURL {
            values[AbsoluteConfigKey(HubConfiguration.Key.databaseURL)] = .init(.string(databaseURL), isSecret: true)
        }
        if let connectTimeout {
            values[AbsoluteConfigKey(HubConfiguration.Key.connectTimeout)] = .init(.string(String(connectTimeout)), isSecret: false)
        }
        if let logLevel { values[AbsoluteConfigKey(HubConfiguration.Key.logLevel)] = .init(.string(logLevel), isSecret: false) }
        for (key, value) in extra { values[AbsoluteConfigKey(key)] = value }
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "options", values: values),
            EnvironmentVariablesProvider(),
        ])
        return try HubConfiguration(reader: reader)
    }
}

extension ConnectionOptions {
    /// Runs a command: reads the configuration (options, then environment, then defaults), sets up logging, and
    /// turns any failure into one line on stderr and exit status 1.
    /// - Parameters:
    ///   - label: The logger label, e.g. `huitong.migrate`.
    ///   - extra: Values of command-specific options, by configuration key.
    ///   - body: The command's work.
    func run(
        _ label: String,
        extra: [String: ConfigValue] = [:],
        _ body: (HubConfiguration, Logger) async throws -> Void
    ) async throws {
        try await runReportingErrors {
            let configuration = try configuration(extra: extra)
            HubLogging.bootstrap(level: configuration.logLevel)
            try await body(configuration, HubLogging.logger(label))
        }
    }
}

extension AbsoluteConfigKey {
    init(_ dotted: String) {
        self.init(dotted.split(separator: ".").map(String.init))
    }
}

/// Runs a command body; a `HubAppError` becomes one line on stderr and exit status 1, never a stack trace.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as HubAppError {
        FileHandle.standardError.write(Data("huitong: \(error)\n".utf8))
        throw ExitCode(1)
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("huitong: \(HubAppError.describe(error))\n".utf8))
        throw ExitCode(1)
    }
}
