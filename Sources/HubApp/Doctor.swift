import Foundation

import HubAMQP
import HubStore
public import Logging

/// `huitong doctor`: can this process reach what it needs? One line per check, each problem with its fix.
public enum Doctor {
    /// The result of one check.
    public struct Check: Sendable {
        /// Whether the check passed.
        public var ok: Bool
        /// What was checked, e.g. `broker`.
        public var subject: String
        /// What was found (and, for a problem, the fix).
        public var detail: String
    }

    /// All checks.
    public struct Report: Sendable {
        /// The checks in the order they ran.
        public var checks: [Check]
        /// Whether every check passed.
        public var isHealthy: Bool { checks.allSatisfy(\.ok) }
        /// One line per check: `ok    subject     detail` or `FAIL  subject     detail; fix: …`.
        public var lines: [String] {
            checks.map { check in
                let subject = check.subject.padding(toLength: 11, withPad: " ", startingAt: 0)
                return "\(check.ok ? "ok  " : "FAIL")  \(subject)\(check.detail)"
            } + [isHealthy ? "doctor: all checks passed" : "doctor: \(checks.filter { !$0.ok }.count) problem(s)"]
        }
    }

    /// Runs every check; never throws: each failure becomes a line.
    /// - Parameters:
    ///   - configuration: What to check.
    ///   - logger: The logger.
    /// - Returns: The report.
    public static func run(configuration: HubConfiguration, logger: Logger) async -> Report {
        var checks: [Check] = []
        checks.append(await broker(configuration, logger: logger))
        checks += await database(configuration, logger: logger)
        return Report(checks: checks)
    }

    private static func broker(_ configuration: HubConfiguration, logger: Logger) async -> Check {
        let amqp: AMQPConfiguration
        do {
            amqp = try Connections.amqp(configuration, name: "huitong doctor")
        } catch {
            return Check(ok: false, subject: "broker", detail: HubAppError.describe(error))
        }
        do {
            let connection = try await AMQPConnection.connect(configuration: amqp, logger: logger)
            let properties = await connection.serverProperties
            await connection.close()
            let product = properties.product ?? "broker"
            let version = properties.version.map { " \($0)" } ?? ""
            return Check(ok: true, subject: "broker", detail: "\(product)\(version) at \(amqp.redactedURL)")
        } catch {
            return Check(ok: false, subject: "broker", detail: HubAppError.broker(error, configuration: amqp).description)
        }
    }

    private static func database(_ configuration: HubConfiguration, logger: Logger) async -> [Check] {
        let postgres: PostgresConfiguration
        do {
            postgres = try Connections.postgres(configuration)
        } catch {
            return [Check(ok: false, subject: "database", detail: HubAppError.describe(error))]
        }
        let pool = PostgresPool(configuration: postgres, logger: logger)
        var checks: [Check] = []
        do {
            let version = try await pool.query("SHOW server_version").rows.first?.decode(String.self, at: 0) ?? "?"
            checks.append(
                Check(ok: true, subject: "database", detail: "PostgreSQL \(version) at \(postgres.redactedDescription)")
            )
        } catch {
            await pool.close()
            return [
                Check(ok: false, subject: "database", detail: HubAppError.database(error, configuration: postgres).description)
            ]
        }
        do {
            let status = try await Migrator(migrations: HubMigrate.migrations, logger: logger).status(on: pool)
            if !status.changed.isEmpty || !status.unknown.isEmpty {
                let names = status.changed.map { "\($0.component) \($0.version) \($0.name)" }
                    + status.unknown.map { "\($0.component) \($0.version) \($0.name)" }
                checks.append(
                    Check(
                        ok: false,
                        subject: "migrations",
                        detail: "applied migrations differ from this binary (\(names.joined(separator: ", "))); "
                            + "fix: never edit an applied migration; run the huitong that applied it"
                    )
                )
            } else if !status.pending.isEmpty {
                checks.append(
                    Check(
                        ok: false,
                        subject: "migrations",
                        detail: "\(status.pending.count) pending; fix: run `huitong migrate`"
                    )
                )
            } else {
                checks.append(Check(ok: true, subject: "migrations", detail: "\(status.applied.count) applied, none pending"))
            }
        } catch {
            checks.append(
                Check(ok: false, subject: "migrations", detail: HubAppError.database(error, configuration: postgres).description)
            )
        }
        await pool.close()
        return checks
    }
}
