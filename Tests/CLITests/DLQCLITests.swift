import Foundation
import HubTestSupport
import Testing

/// `huitong dlq` against the real database and broker: a parked message is listed, shown, refused a redrive to a
/// route that no queue takes (it stays parked), not purged without confirmation, then purged with `--yes`.
@Suite("huitong dlq", .serialized)
struct DLQCLITests {
    let environment = ["HUITONG_AMQP_URL": CLI.amqpURL, "HUITONG_DATABASE_URL": CLI.databaseURL]

    @Test("list, show, failed redrive, purge without and with confirmation")
    func roundTrip() async throws {
        #expect(try await CLI.run(["migrate"], environment: environment).status == 0)
        let queue = "svc.cli-\(UUID().uuidString.prefix(8).lowercased())"
        let insert = try await CLI.psql(
            """
            INSERT INTO hub.parked (queue, message_id, message_type, reason, error_code, attempts, original_exchange,
                original_routing_key, first_failed_at, last_failed_at, body)
            VALUES ('\(queue)', 'not-a-uuid', NULL, 'notJSON', 'malformedJSON', 1, 'hub.retry',
                'cli.unbound.\(queue)', now(), now(), convert_to('garbage', 'UTF8'))
            RETURNING id
            """
        )
        let id = try #require(insert.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.first)

        let list = try await CLI.run(["dlq", "list", "--queue", queue, "--json"], environment: environment)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("\"id\" : \(id)"))
        #expect(list.stdout.contains("notJSON"))
        #expect(!list.stdout.contains("garbage"), "list never shows bodies")

        let table = try await CLI.run(["dlq", "list", "--queue", queue], environment: environment)
        #expect(table.stdout.contains("1 parked message(s)"))

        let show = try await CLI.run(["dlq", "show", String(id)], environment: environment)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("malformedJSON"))

        let missing = try await CLI.run(["dlq", "show", "999999999"], environment: environment)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no parked message with id 999999999"))

        // Its original route reaches no queue (hub.retry is direct and no retry queue has that name; the taps bind
        // `#` on hub.commands and hub.events, so those would route it): the broker returns it, and it stays parked.
        let redrive = try await CLI.run(["dlq", "redrive", String(id)], environment: environment)
        #expect(redrive.status == 1)
        #expect(redrive.stderr.contains("stay parked"))
        let stillThere = try await CLI.run(["dlq", "list", "--queue", queue], environment: environment)
        #expect(stillThere.stdout.contains("1 parked message(s)"))

        let unconfirmed = try await CLI.run(["dlq", "purge", "--queue", queue], environment: environment)
        #expect(unconfirmed.status == 1)
        #expect(unconfirmed.stderr.contains("add --yes"))

        let purge = try await CLI.run(["dlq", "purge", "--queue", queue, "--yes"], environment: environment)
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(purge.stdout.contains("purged: 1"))
        let empty = try await CLI.run(["dlq", "list", "--queue", queue], environment: environment)
        #expect(empty.stdout.contains("0 parked message(s)"))
        let recorded = try await CLI.psql("SELECT count(*) FROM hub.dlq_actions WHERE queue = '\(queue)' AND action = 'purge'")
        #expect(recorded.contains("1"))
    }

    @Test("bad filters are one line naming the option")
    func badFilters() async throws {
        let reason = try await CLI.run(["dlq", "list", "--reason", "bored"], environment: environment)
        #expect(reason.status == 1)
        #expect(reason.stderr.contains("--reason 'bored' is not a park reason"))
        let since = try await CLI.run(["dlq", "list", "--since", "yesterday"], environment: environment)
        #expect(since.status == 1)
        #expect(since.stderr.contains("--since"))
    }
}

extension CLI {
    /// Runs SQL as the local superuser through `deploy/local/servers.sh psql` and returns its unaligned output.
    static func psql(_ sql: String) async throws -> String {
        // The database the binary under test uses (HUITONG_DATABASE_URL), not a fixed name.
        let database = URLComponents(string: databaseURL)?.path.dropFirst().description ?? "huitong"
        let result = try await Command.run(
            repositoryRoot.appending(path: "deploy/local/servers.sh").path,
            ["psql", "-d", database.isEmpty ? "huitong" : database, "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw CLIError("psql failed: \(result.stdout)\(result.stderr)") }
        return result.stdout
    }
}
