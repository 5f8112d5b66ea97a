import AdapterSimulation
import ECNYAdapter
import Foundation
import HubCrypto
import Hummingbird
import InterbankAdapter
public import Logging
import ServiceLifecycle
import UnixSignals

/// `huitong simulate interbank | ecny | keys`: the external systems the adapters talk to, for development, demos and
/// tests. Deterministic for a seed; faults switched on with `--faults` (see ``SimulatorFaults``).
public enum Simulators {
    /// Runs the bank simulator until SIGINT/SIGTERM.
    /// - Parameters:
    ///   - host: Bind host.
    ///   - port: Port.
    ///   - seed: Seed.
    ///   - faults: Fault list, e.g. `latency=20ms,timeout=0.05`.
    ///   - logger: Logger.
    /// - Throws: ``HubAppError`` for bad faults or a busy port.
    public static func runInterbank(host: String, port: Int, seed: UInt64, faults: String, logger: Logger) async throws {
        let parsed = try parseFaults(faults)
        let simulator = InterbankSimulator(seed: seed, faults: parsed)
        let application = simulator.application(host: host, port: port, logger: logger) { bound in
            FileHandle.standardOutput.write(Data("interbank simulator listening on http://\(host):\(bound) (seed \(seed), faults \(parsed))\n".utf8))
        }
        try await run([application], logger: logger, port: port)
    }

    /// Runs the e-CNY operator simulator until SIGINT/SIGTERM; creates dev keys in `keysDirectory` when missing.
    /// - Parameters:
    ///   - host: Bind host.
    ///   - port: Port.
    ///   - callbackURL: Where settlement callbacks go.
    ///   - seed: Seed.
    ///   - faults: Fault list.
    ///   - keysDirectory: The PEM keys directory (shared with the adapter).
    ///   - tierCaps: R-ECNY-1 caps, `tier=amount|none,…` (nil: the standard ones).
    ///   - hubSignerID: The hub's SM2 signer ID.
    ///   - operatorSignerID: The operator's SM2 signer ID.
    ///   - logger: Logger.
    /// - Throws: ``HubAppError`` for bad settings or a busy port.
    public static func runECNY(
        host: String, port: Int, callbackURL: String, seed: UInt64, faults: String, keysDirectory: String,
        tierCaps: String?, hubSignerID: String, operatorSignerID: String, logger: Logger
    ) async throws {
        let parsed = try parseFaults(faults)
        let caps: TierCaps
        do {
            caps = try tierCaps.map { try TierCaps(parsing: $0) } ?? .standard
        } catch {
            throw HubAppError(.invalidConfiguration, "--tier-caps must be tier=amount|none pairs", fix: "e.g. 1=none,2=500000,3=20000,4=10000")
        }
        let configuration: ECNYOperatorSimulator.Configuration
        do {
            let written = try ECNYKeys.ensure(directory: keysDirectory)
            if !written.isEmpty { logger.notice("created development e-CNY keys", metadata: ["ecny.keys_dir": "\(keysDirectory)"]) }
            var value = ECNYOperatorSimulator.Configuration(
                operatorKey: try ECNYKeys.privateKey(keysDirectory, ECNYKeys.operatorPrivate),
                hubKey: try ECNYKeys.publicKey(keysDirectory, ECNYKeys.hubPublic))
            value.hubSignerID = try SM2.SignerID(hubSignerID)
            value.operatorSignerID = try SM2.SignerID(operatorSignerID)
            configuration = value
        } catch {
            throw HubAppError(.invalidConfiguration, "cannot read or create the e-CNY keys in \(keysDirectory)", fix: "check the directory's permissions")
        }
        var settings = configuration
        settings.seed = seed
        settings.faults = parsed
        settings.callbackURL = callbackURL
        settings.tierCaps = caps
        let simulator = ECNYOperatorSimulator(configuration: settings)
        let application = simulator.application(host: host, port: port, logger: logger) { bound in
            FileHandle.standardOutput.write(Data(
                "e-CNY operator simulator listening on http://\(host):\(bound) (seed \(seed), faults \(parsed), callbacks to \(callbackURL))\n".utf8))
        }
        try await run([ECNYCallbackService(simulator: simulator), application], logger: logger, port: port)
    }

    /// Creates the dev key pairs of every simulated link under `directory` (today: `<directory>/ecny`).
    /// - Parameter directory: The keys root, e.g. `.local/keys`.
    /// - Returns: Lines to print.
    /// - Throws: ``HubAppError`` when the files cannot be written.
    public static func createKeys(directory: String) throws -> [String] {
        do {
            let written = try ECNYKeys.ensure(directory: directory + "/ecny")
            return written.isEmpty ? ["keys: \(directory)/ecny already has every key"] : written.map { "created \($0)" }
        } catch {
            throw HubAppError(.invalidConfiguration, "cannot write keys under \(directory)", fix: "check the directory's permissions")
        }
    }

    static func parseFaults(_ text: String) throws -> SimulatorFaults {
        do {
            return try SimulatorFaults(parsing: text)
        } catch {
            throw HubAppError(.invalidConfiguration, "--faults: \(error)", fix: "e.g. --faults latency=20ms,timeout=0.05,5xx=0.05,reject=0.1")
        }
    }

    static func run(_ services: [any Service], logger: Logger, port: Int) async throws {
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            let text = String(describing: error)
            if text.contains("Address already in use") || text.contains("errno: 98") {
                throw HubAppError(.portInUse, "port \(port) is in use", fix: "stop the program using it or choose another --port")
            }
            throw HubAppError(.httpFailed, "the simulator stopped: \(HubAppError.describe(error))")
        }
    }
}
