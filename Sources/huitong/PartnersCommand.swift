import ArgumentParser
import Foundation
import HubApp

struct PartnersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partners",
        abstract: "Gateway partners: add, list, revoke, rotate (docs/gateway.md).",
        subcommands: [Add.self, List.self, Revoke.self, Rotate.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a partner; an HMAC-SM3 secret (and with --amqp a RabbitMQ password) is printed once."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The partner id (a-z, 0-9, '-').") var id: String
        @Option(help: "Display name (default: the id).") var name: String?
        @Option(name: .customLong("type"), help: "A message type it may send (repeat; payments.* or * allowed).")
        var types: [String] = []
        @Option(name: .customLong("enterprise"), help: "A USCC it may act for (repeat; * for any).")
        var enterprises: [String] = []
        @Option(name: .customLong("role"), help: "partner (default) or reviewer (repeat).") var roles: [String] = []
        @Flag(name: .customLong("audit-unmask"), help: "Grant audit:unmask (reviewers only).") var auditUnmask = false
        @Option(name: .customLong("sm2-public-key"), help: "The partner's SM2 public key (PEM file); default: HMAC-SM3.")
        var sm2PublicKey: String?
        @Flag(help: "Also create a RabbitMQ user that may publish only its routing keys to partner.in.") var amqp = false

        func run() async throws {
            try await connection.run("huitong.partners") { configuration, logger in
                let lines = try await GatewayPartners.add(
                    GatewayPartners.NewPartner(
                        id: id, name: name ?? id, types: types, enterprises: enterprises, roles: roles,
                        auditUnmask: auditUnmask, sm2PublicKeyFile: sm2PublicKey, amqp: amqp),
                    configuration: configuration, logger: logger)
                for line in lines { print(line) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List partners, grants and credential versions (no secrets).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            try await connection.run("huitong.partners") { configuration, logger in
                for line in try await GatewayPartners.list(json: json, configuration: configuration, logger: logger) {
                    print(line)
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a partner at once (and delete its RabbitMQ user).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The partner id.") var id: String

        func run() async throws {
            try await connection.run("huitong.partners") { configuration, logger in
                for line in try await GatewayPartners.revoke(id: id, configuration: configuration, logger: logger) {
                    print(line)
                }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new credential; older ones stay valid for the overlap (default HUITONG_GATEWAY_ROTATE_OVERLAP or 86400 s)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The partner id.") var id: String
        @Option(name: .customLong("sm2-public-key"), help: "The new SM2 public key (PEM file); default: a new HMAC-SM3 secret.")
        var sm2PublicKey: String?
        @Option(help: "Seconds the older credentials stay valid.") var overlap: Double?

        func run() async throws {
            try await connection.run("huitong.partners") { configuration, logger in
                let lines = try await GatewayPartners.rotate(
                    id: id, sm2PublicKeyFile: sm2PublicKey, overlapSeconds: overlap, configuration: configuration,
                    logger: logger)
                for line in lines { print(line) }
            }
        }
    }
}
