public import Foundation
public import Logging

/// Applies versioned migrations, one component at a time, safely against concurrent runs.
///
/// - Records applied migrations in `public.huitong_migrations(component, version, name, checksum, applied_at,
///   execution_ms)`.
/// - Holds a session-level `pg_advisory_lock` while it works, so two processes never migrate at once.
/// - Refuses to run (`migrationChecksumMismatch`, `unknownAppliedMigration`) when an applied migration's SQL
///   changed or the database holds a version of one of its components this binary does not know. Components the
///   migrator was not given are left alone.
/// - Applies each pending migration in its own transaction, together with its record row; a second run applies
///   nothing.
public struct Migrator: Sendable {
    /// A migration the database has applied.
    public struct AppliedMigration: Sendable, Hashable {
        /// The owning component.
        public var component: String
        /// The version.
        public var version: Int
        /// The name recorded when it was applied.
        public var name: String
        /// The SHA-256 (hex) of the SQL that was applied.
        public var checksum: String
        /// When it was applied.
        public var appliedAt: Date
        /// How long it took, in milliseconds.
        public var executionMilliseconds: Int
    }

    /// What is applied and what is pending.
    public struct Status: Sendable, Hashable {
        /// The applied migrations of the migrator's components, by component then version.
        public var applied: [AppliedMigration]
        /// The migrations not applied yet, in the order `migrate` would apply them.
        public var pending: [Migration]
        /// Applied migrations whose SQL differs from this binary's (migrate would refuse).
        public var changed: [Migration]
        /// Applied migrations this binary does not know (migrate would refuse).
        public var unknown: [AppliedMigration]
    }

    /// The lock key of `pg_advisory_lock` (ASCII "HUITONGM").
    static let lockKey: Int64 = 0x4855_4954_4F4E_474D

    /// The migrations, in the order they apply (by component as first seen, then version).
    public let migrations: [Migration]
    private let logger: Logger

    /// Creates a migrator.
    /// - Parameters:
    ///   - migrations: The migrations of one or more components.
    ///   - logger: The logger for debug messages.
    /// - Throws: `PostgresError` with code `invalidMigration` if a component name is not a valid identifier, a
    ///   version is not positive, or a (component, version) pair appears twice.
    public init(migrations: [Migration], logger: Logger) throws {
        var seen: Set<String> = []
        var order: [String] = []
        for migration in migrations {
            if let problem = SQLIdentifier.problem(with: migration.component) {
                throw PostgresError(
                    code: .invalidMigration,
                    message: "a migration's component name is invalid: \(problem)"
                )
            }
            guard migration.version > 0, migration.version <= Int(Int32.max) else {
                throw PostgresError(
                    code: .invalidMigration,
                    message: "migration \(migration.component) v\(migration.version) needs a positive version"
                )
            }
            guard seen.insert("\(migration.component)/\(migration.version)").inserted else {
                throw PostgresError(
                    code: .invalidMigration,
                    message: "migration \(migration.component) v\(migration.version) appears twice"
                )
            }
            if !order.contains(migration.component) { order.append(migration.component) }
        }
        self.migrations = order.flatMap { component in
            migrations.filter { $0.component == component }.sorted { $0.version < $1.version }
        }
        self.logger = logger
    }

    /// Applies the pending migrations.
    /// - Parameter pool: The pool to take one connection from.
    /// - Returns: The migrations applied by this call, in order (empty when everything was up to date).
    /// - Throws: `PostgresError` with code `migrationChecksumMismatch` or `unknownAppliedMigration` (nothing is
    ///   applied), or the error of the migration that failed (it and the later ones are not applied).
    @discardableResult
    public func migrate(on pool: PostgresPool) async throws -> [Migration] {
        try await pool.withConnection { connection in try await migrate(on: connection) }
    }

    /// Applies the pending migrations on a connection.
    /// - Parameter connection: The connection (not inside a transaction).
    /// - Returns: The migrations applied by this call.
    /// - Throws: As `migrate(on:)` with a pool.
    @discardableResult
    public func migrate(on connection: PostgresConnection) async throws -> [Migration] {
        try await withLock(on: connection) {
            let status = try await computeStatus(on: connection)
            if let changed = status.changed.first {
                throw PostgresError(
                    code: .migrationChecksumMismatch,
                    message: "migration \(changed.component) v\(changed.version) '\(changed.name)' was changed after "
                        + "it was applied; restore its SQL and add a new version instead"
                )
            }
            if let unknown = status.unknown.first {
                throw PostgresError(
                    code: .unknownAppliedMigration,
                    message: "the database has migration \(unknown.component) v\(unknown.version) '\(unknown.name)', "
                        + "which this binary does not know; run a newer binary"
                )
            }
            var applied: [Migration] = []
            for migration in status.pending {
                let start = ContinuousClock.now
                let checksum = try await self.checksum(of: migration, on: connection)
                try await connection.withTransaction { transaction in
                    // A migration may legitimately outlast the statement timeout of ordinary work.
                    try await transaction.query("SET LOCAL statement_timeout = 0")
                    try await transaction.connection.runScript(migration.sql)
                    let elapsed = Int((ContinuousClock.now - start).milliseconds)
                    try await transaction.execute(
                        """
                        INSERT INTO public.huitong_migrations (component, version, name, checksum, applied_at, \
                        execution_ms) VALUES (\(migration.component), \(Int32(migration.version)), \(migration.name), \
                        \(checksum), now(), \(Int32(clamping: elapsed)))
                        """
                    )
                }
                logger.debug(
                    "postgres migration applied",
                    metadata: [
                        LogKey.migration: "\(migration.component) v\(migration.version)",
                        LogKey.durationMS: "\((ContinuousClock.now - start).milliseconds)",
                    ]
                )
                applied.append(migration)
            }
            return applied
        }
    }

    /// Reports what is applied and pending, without changing anything (for `huitong doctor` and
    /// `huitong migrate --status`). A database that was never migrated has every migration pending.
    /// - Parameter pool: The pool to take one connection from.
    /// - Returns: The status.
    /// - Throws: `PostgresError` from the queries.
    public func status(on pool: PostgresPool) async throws -> Status {
        try await pool.withConnection { connection in
            let exists = try await connection.query(
                "SELECT to_regclass('public.huitong_migrations') IS NOT NULL AS present"
            ).rows[0].decode(Bool.self, column: "present")
            guard exists else { return Status(applied: [], pending: migrations, changed: [], unknown: []) }
            return try await computeStatus(on: connection)
        }
    }

    // MARK: Internals

    private func withLock<T: Sendable>(
        on connection: PostgresConnection,
        _ body: () async throws -> T
    ) async throws -> T {
        do {
            try await connection.execute("SELECT pg_advisory_lock(\(Self.lockKey))")
        } catch let error as PostgresError where error.isQueryCanceled {
            throw PostgresError(
                code: .timeout,
                message: "another process held the migration lock for longer than statement_timeout; wait for it "
                    + "to finish, or check pg_locks for a stuck session",
                server: error.server,
                cause: error
            )
        }
        do {
            try await ensureTable(on: connection)
            let result = try await body()
            try await connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))")
            return result
        } catch {
            if await connection.isUsable {
                _ = try? await connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))")
            }
            throw error
        }
    }

    private func ensureTable(on connection: PostgresConnection) async throws {
        try await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS public.huitong_migrations (
                component text NOT NULL,
                version int NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                execution_ms int NOT NULL,
                PRIMARY KEY (component, version)
            )
            """
        )
    }

    private func checksum(of migration: Migration, on connection: PostgresConnection) async throws -> String {
        try await connection.query("SELECT encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex') AS sum")
            .rows[0].decode(String.self, column: "sum")
    }

    private func computeStatus(on connection: PostgresConnection) async throws -> Status {
        let components = Array(Set(migrations.map(\.component))).sorted()
        var applied: [AppliedMigration] = []
        for component in components {
            let rows = try await connection.query(
                """
                SELECT component, version, name, checksum, applied_at, execution_ms
                FROM public.huitong_migrations WHERE component = \(component) ORDER BY version
                """
            ).rows
            for row in rows {
                applied.append(
                    AppliedMigration(
                        component: try row.decode(String.self, column: "component"),
                        version: try row.decode(Int.self, column: "version"),
                        name: try row.decode(String.self, column: "name"),
                        checksum: try row.decode(String.self, column: "checksum"),
                        appliedAt: try row.decode(Date.self, column: "applied_at"),
                        executionMilliseconds: try row.decode(Int.self, column: "execution_ms")
                    )
                )
            }
        }
        var pending: [Migration] = []
        var changed: [Migration] = []
        for migration in migrations {
            if let record = applied.first(where: {
                $0.component == migration.component && $0.version == migration.version
            }) {
                if try await checksum(of: migration, on: connection) != record.checksum { changed.append(migration) }
            } else {
                pending.append(migration)
            }
        }
        let unknown = applied.filter { record in
            !migrations.contains { $0.component == record.component && $0.version == record.version }
        }
        return Status(applied: applied, pending: pending, changed: changed, unknown: unknown)
    }
}
