import Foundation
import Testing

/// `huitong payments`, run as an operator would, against the local database.
@Suite("huitong payments")
struct PaymentsCLITests {
    let environment = ["HUITONG_AMQP_URL": CLI.amqpURL, "HUITONG_DATABASE_URL": CLI.databaseURL]

    @Test("list prints a header and exits 0; --json prints JSON objects only")
    func list() async throws {
        _ = try await CLI.run(["migrate"], environment: environment)
        let table = try await CLI.run(["payments", "list", "--limit", "5"], environment: environment)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.hasPrefix("TRANSFER  STATE"))
        let json = try await CLI.run(["payments", "list", "--limit", "5", "--json"], environment: environment)
        #expect(json.status == 0, "\(json.stderr)")
        for line in json.stdout.split(separator: "\n") { #expect(line.hasPrefix("{\"amount\":")) }
    }

    @Test("an unknown reference and a bad state are one line with the fix, exit 1")
    func errors() async throws {
        _ = try await CLI.run(["migrate"], environment: environment)
        let missing = try await CLI.run(["payments", "show", "no-such-request-\(UUID().uuidString.prefix(8))"],
                                        environment: environment)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no transfer with id or client reference"))
        #expect(missing.stderr.contains("fix:"))
        let state = try await CLI.run(["payments", "list", "--state", "paid"], environment: environment)
        #expect(state.status == 1)
        #expect(state.stderr.contains("--state 'paid' is not a transfer state"))
        #expect(state.stderr.split(separator: "\n").count == 1)
    }
}
