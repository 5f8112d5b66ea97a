/// One versioned schema change of a component, as SQL that ships in the binary.
///
/// The SQL runs with the simple-query protocol (several statements allowed) inside a transaction, together
/// with the row that records it; statements that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`,
/// `VACUUM`) are not allowed. Never edit a migration once applied: the migrator refuses to run when an applied
/// migration's checksum (SHA-256 of the SQL text) changed; add a new version instead.
public struct Migration: Sendable, Hashable {
    /// The owning component, for example `hub` or `payments` (a valid `SQLIdentifier` name).
    public var component: String
    /// The version, from 1, increasing.
    public var version: Int
    /// A short human name, for example `create schema`.
    public var name: String
    /// The SQL, a constant in the source.
    public var sql: String

    /// Creates a migration.
    /// - Parameters:
    ///   - component: The owning component.
    ///   - version: The version, from 1.
    ///   - name: A short human name.
    ///   - sql: The SQL, a constant in the source.
    public init(component: String, version: Int, name: String, sql: String) {
        self.component = component
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// The migrations of the hub itself (component `hub`).
public enum HubMigrations {
    /// Every hub migration, in order.
    public static let all: [Migration] = [
        Migration(
            component: "hub",
            version: 1,
            name: "create schema hub",
            sql: """
                -- The hub's own schema. The consumer runtime adds its inbox (deduplication by message id) and
                -- outbox (events to publish after commit) tables here in later versions.
                CREATE SCHEMA IF NOT EXISTS hub;
                """
        )
    ]
}
