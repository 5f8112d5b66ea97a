import ECNYAdapter
import ComplianceChecker
import AuditSink
import Gateway
import HubBench
import HubRuntime
import PaymentsService
import InterbankAdapter
import SampleService
public import HubStore
public import Logging

/// `huitong migrate`: applies pending migrations of every component, or lists them.
public enum HubMigrate {
    /// Every migration this binary ships, in order. Components add theirs here as they land.
    public static let migrations: [Migration] = HubMigrations.all + RuntimeMigrations.all + SampleMigrations.all
        + PaymentsMigrations.all
        + InterbankMigrations.all + ECNYMigrations.all
        + ComplianceMigrations.all
        + AuditMigrations.all
        + GatewayMigrations.all
        + BenchMigrations.all

    /// Runs the migrations (or only reports their status).
    /// - Parameters:
    ///   - configuration: Where the database is.
    ///   - statusOnly: Only list applied and pending migrations.
    ///   - logger: The logger.
    /// - Returns: Lines to print.
    /// - Throws: ``HubAppError`` when the database is unreachable or a migration fails or was changed.
    public static func run(configuration: HubConfiguration, statusOnly: Bool, logger: Logger) async throws -> [String] {
        let postgres = try Connections.postgres(configuration)
        let pool = PostgresPool(configuration: postgres, logger: logger)
        do {
            let migrator = try Migrator(migrations: migrations, logger: logger)
            let lines: [String]
            if statusOnly {
                lines = describe(try await migrator.status(on: pool))
            } else {
                let applied = try await migrator.migrate(on: pool)
                lines = applied.isEmpty
                    ? ["migrations: up to date (\(migrations.count) applied)"]
                    : applied.map { "applied  \($0.component) \($0.version) \($0.name)" }
                        + ["migrations: \(applied.count) applied now, up to date"]
            }
            await pool.close()
            return lines
        } catch {
            await pool.close()
            throw HubAppError.database(error, configuration: postgres)
        }
    }

    static func describe(_ status: Migrator.Status) -> [String] {
        var lines = status.applied.map { "applied  \($0.component) \($0.version) \($0.name)" }
        lines += status.pending.map { "pending  \($0.component) \($0.version) \($0.name)" }
        lines += status.changed.map { "CHANGED  \($0.component) \($0.version) \($0.name) (checksum differs)" }
        lines += status.unknown.map { "UNKNOWN  \($0.component) \($0.version) \($0.name) (not in this binary)" }
        return lines
    }
}
