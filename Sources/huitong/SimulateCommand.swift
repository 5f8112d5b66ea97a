import ArgumentParser
import Foundation
import HubApp
import Logging

/// `huitong simulate interbank | ecny | keys`: the external systems the adapters talk to.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a simulated bank (ISO 20022 XML) or e-CNY operator (SM2-signed JSON), or create dev keys.",
        subcommands: [Interbank.self, ECNY.self, Keys.self]
    )

    struct Interbank: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "interbank",
            abstract: "A bank answering pacs.008 with pacs.002, pacs.028 status queries and camt.060 account reports.",
            discussion: "Account rules and faults: docs/adapters.md."
        )
        @Option(help: "Bind host.") var host = "127.0.0.1"
        @Option(help: "Port.") var port = 8481
        @Option(help: "Seed: the same seed gives the same answers.") var seed: UInt64 = 1
        @Option(help: "Faults, e.g. latency=20ms,timeout=0.05,hang=30s,5xx=0.05,lost=0.02,reject=0.1,pending=0.2.") var faults = ""
        @Option(name: .customLong("log-level"), help: "Log level.") var logLevel = "info"

        func run() async throws {
            try await runReportingErrors {
                HubLogging.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
                try await Simulators.runInterbank(
                    host: host, port: port, seed: seed, faults: faults, logger: HubLogging.logger("huitong.simulate.interbank"))
            }
        }
    }

    struct ECNY: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ecny",
            abstract: "An e-CNY operator: signed transfers, wallets with tiers (R-ECNY-1), signed settlement callbacks.",
            discussion: "Wallet rules and faults: docs/adapters.md. Creates dev keys in --keys-dir when missing."
        )
        @Option(help: "Bind host.") var host = "127.0.0.1"
        @Option(help: "Port.") var port = 8482
        @Option(name: .customLong("callback-url"), help: "Where settlement callbacks go.")
        var callbackURL = "http://127.0.0.1:8480/callbacks/ecny/v1/settlements"
        @Option(help: "Seed.") var seed: UInt64 = 1
        @Option(help: "Faults, e.g. latency=20ms,timeout=0.05,5xx=0.05,reject=0.1,duplicate=0.2,reorder=0.1.") var faults = ""
        @Option(name: .customLong("keys-dir"), help: "PEM keys directory (env HUITONG_ECNY_KEYS_DIR).") var keysDirectory: String?
        @Option(name: .customLong("tier-caps"), help: "R-ECNY-1 caps (env HUITONG_ECNY_TIER_CAPS), e.g. 1=none,2=500000,3=20000,4=10000.")
        var tierCaps: String?
        @Option(name: .customLong("hub-signer-id"), help: "The hub's SM2 signer ID (env HUITONG_ECNY_SIGNER_ID).") var hubSignerID: String?
        @Option(name: .customLong("operator-signer-id"), help: "The operator's SM2 signer ID (env HUITONG_ECNY_OPERATOR_SIGNER_ID).")
        var operatorSignerID: String?
        @Option(name: .customLong("log-level"), help: "Log level.") var logLevel = "info"

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            try await runReportingErrors {
                HubLogging.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
                try await Simulators.runECNY(
                    host: host, port: port, callbackURL: callbackURL, seed: seed, faults: faults,
                    keysDirectory: keysDirectory ?? environment["HUITONG_ECNY_KEYS_DIR"] ?? ".local/keys/ecny",
                    tierCaps: tierCaps ?? environment["HUITONG_ECNY_TIER_CAPS"],
                    hubSignerID: hubSignerID ?? environment["HUITONG_ECNY_SIGNER_ID"] ?? "1234567812345678",
                    operatorSignerID: operatorSignerID ?? environment["HUITONG_ECNY_OPERATOR_SIGNER_ID"] ?? "1234567812345678",
                    logger: HubLogging.logger("huitong.simulate.ecny"))
            }
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys",
            abstract: "Create missing development key pairs (SM2 PEM) under --dir (e-CNY: <dir>/ecny); existing keys are kept."
        )
        @Option(help: "The keys root.") var dir = ".local/keys"

        func run() async throws {
            try await runReportingErrors {
                for line in try Simulators.createKeys(directory: dir) { print(line) }
            }
        }
    }
}
