import HubStore
import Logging
import Testing

@Suite("Store: logging")
struct StoreLoggingTests {
    @Test("HubStore logs at debug level or below, and never a password or a parameter value")
    func logsAreSafe() async throws {
        let capture = StoreLogCapture()
        let secretValue = "6222020200009876543"
        let configuration = try StoreSupport.configuration(poolSize: 2)
        let password = try #require(configuration.password)
        let pool = PostgresPool(configuration: configuration, logger: capture.logger)
        let schema = try StoreSupport.uniqueName()
        try await pool.query("CREATE SCHEMA \(schema)")
        try await pool.query("CREATE TABLE \(schema).accounts (number text PRIMARY KEY)")
        try await pool.query("INSERT INTO \(schema).accounts VALUES (\(secretValue))")
        _ = try? await pool.query("INSERT INTO \(schema).accounts VALUES (\(secretValue))")  // unique violation
        let component = try StoreSupport.uniqueName("test").name
        let migration = Migration(component: component, version: 1, name: "noop", sql: "SELECT 1;")
        try await Migrator(migrations: [migration], logger: capture.logger).migrate(on: pool)
        try await pool.query("DELETE FROM public.huitong_migrations WHERE component = \(component)")
        try await pool.query("DROP SCHEMA \(schema) CASCADE")
        await pool.close()

        let entries = capture.recorded
        #expect(!entries.isEmpty)  // the capture works: connections, migrations and close are logged
        #expect(entries.allSatisfy { $0.level <= .debug })
        #expect(!entries.contains { $0.text.contains(secretValue) })
        #expect(!entries.contains { $0.text.contains("password") || $0.text.contains(":\(password)@") })
    }
}
