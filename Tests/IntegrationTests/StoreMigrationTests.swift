import HubStore
import Testing

@Suite("Store: migrations")
struct StoreMigrationTests {
    /// Migrations of a unique test component that create tables in the test's schema.
    static func migrations(component: String, schema: SQLIdentifier, secondSQL: String? = nil) -> [Migration] {
        [
            Migration(
                component: component,
                version: 1,
                name: "create items",
                sql: "CREATE TABLE \(schema.quoted).items (id int8 PRIMARY KEY);"
            ),
            Migration(
                component: component,
                version: 2,
                name: "add label",
                sql: secondSQL ?? "ALTER TABLE \(schema.quoted).items ADD COLUMN label text; "
                    + "CREATE INDEX ON \(schema.quoted).items (label);"
            ),
        ]
    }

    /// Runs `body` with a unique component name, and deletes that component's records afterwards.
    static func withComponent(
        _ pool: PostgresPool,
        _ body: (String) async throws -> Void
    ) async throws {
        let component = try StoreSupport.uniqueName("test").name
        do {
            try await body(component)
        } catch {
            _ = try? await pool.query("DELETE FROM public.huitong_migrations WHERE component = \(component)")
            throw error
        }
        try await pool.query("DELETE FROM public.huitong_migrations WHERE component = \(component)")
    }

    @Test("migrations apply in order once; a second run applies nothing; status agrees")
    func idempotent() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await Self.withComponent(pool) { component in
                let migrator = try Migrator(
                    migrations: Self.migrations(component: component, schema: schema).reversed(),
                    logger: StoreSupport.logger
                )
                let before = try await migrator.status(on: pool)
                #expect(before.applied.isEmpty)
                #expect(before.pending.map(\.version) == [1, 2])

                let first = try await migrator.migrate(on: pool)
                #expect(first.map(\.version) == [1, 2])
                let second = try await migrator.migrate(on: pool)
                #expect(second.isEmpty)

                let after = try await migrator.status(on: pool)
                #expect(after.applied.map(\.version) == [1, 2])
                #expect(after.applied.allSatisfy { $0.checksum.count == 64 })
                #expect(after.pending.isEmpty && after.changed.isEmpty && after.unknown.isEmpty)
                // The migrations really ran.
                try await pool.query("INSERT INTO \(schema).items (id, label) VALUES (\(1), \("x"))")
            }
        }
    }

    @Test("a changed applied migration is refused with migrationChecksumMismatch naming it")
    func checksumMismatch() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await Self.withComponent(pool) { component in
                let original = Self.migrations(component: component, schema: schema)
                try await Migrator(migrations: original, logger: StoreSupport.logger).migrate(on: pool)

                let edited =
                    Self.migrations(
                        component: component,
                        schema: schema,
                        secondSQL: "ALTER TABLE \(schema.quoted).items ADD COLUMN label varchar(10);"
                    ) + [Migration(component: component, version: 3, name: "never runs", sql: "SELECT 1;")]
                let migrator = try Migrator(migrations: edited, logger: StoreSupport.logger)
                let error = await #expect(throws: PostgresError.self) { try await migrator.migrate(on: pool) }
                #expect(error?.code == .migrationChecksumMismatch)
                #expect(error?.description.contains("\(component) v2 'add label'") == true)
                let status = try await migrator.status(on: pool)
                #expect(status.changed.map(\.version) == [2])
                #expect(status.applied.count == 2)  // version 3 did not run
            }
        }
    }

    @Test("an applied version this binary does not know is refused with unknownAppliedMigration")
    func unknownApplied() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await Self.withComponent(pool) { component in
                let all = Self.migrations(component: component, schema: schema)
                try await Migrator(migrations: all, logger: StoreSupport.logger).migrate(on: pool)
                let older = try Migrator(migrations: [all[0]], logger: StoreSupport.logger)
                let error = await #expect(throws: PostgresError.self) { try await older.migrate(on: pool) }
                #expect(error?.code == .unknownAppliedMigration)
                #expect(error?.description.contains("\(component) v2") == true)
            }
        }
    }

    @Test("a failing migration leaves neither its changes nor its record")
    func failingMigration() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await Self.withComponent(pool) { component in
                let migrations = Self.migrations(
                    component: component,
                    schema: schema,
                    secondSQL: "ALTER TABLE \(schema.quoted).items ADD COLUMN label text; SELECT no_such_function();"
                )
                let migrator = try Migrator(migrations: migrations, logger: StoreSupport.logger)
                let error = await #expect(throws: PostgresError.self) { try await migrator.migrate(on: pool) }
                #expect(error?.sqlState == "42883")
                let status = try await migrator.status(on: pool)
                #expect(status.applied.map(\.version) == [1])
                #expect(status.pending.map(\.version) == [2])
                let columns = try await pool.query(
                    """
                    SELECT count(*) AS n FROM information_schema.columns
                    WHERE table_schema = \(schema.name) AND table_name = 'items' AND column_name = 'label'
                    """
                ).rows[0].decode(Int.self, column: "n")
                #expect(columns == 0)
            }
        }
    }

    @Test("two migrators racing apply each migration exactly once (advisory lock)")
    func concurrentRuns() async throws {
        try await StoreSupport.withTestSchema { pool, schema in
            try await Self.withComponent(pool) { component in
                let migrations = Self.migrations(component: component, schema: schema)
                let applied = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<3 {
                        group.addTask {
                            try await Migrator(migrations: migrations, logger: StoreSupport.logger).migrate(on: pool)
                                .count
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(applied == 2)
            }
        }
    }

    @Test("the hub's own migrations are valid and create schema hub")
    func hubMigrations() throws {
        let migrator = try Migrator(migrations: HubMigrations.all, logger: StoreSupport.logger)
        #expect(migrator.migrations.map(\.version) == [1])
        #expect(migrator.migrations[0].component == "hub")
        #expect(migrator.migrations[0].sql.contains("CREATE SCHEMA IF NOT EXISTS hub"))
    }
}
