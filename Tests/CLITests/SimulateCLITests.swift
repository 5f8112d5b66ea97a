import Foundation
import Testing

/// `huitong simulate …` run as an operator would (no servers needed).
@Suite("huitong simulate")
struct SimulateCLITests {
    @Test("simulate keys creates the e-CNY dev key pairs once and keeps them on a second run")
    func keys() async throws {
        let directory = NSTemporaryDirectory() + "huitong-cli-keys-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await CLI.run(["simulate", "keys", "--dir", directory])
        #expect(first.status == 0)
        #expect(first.stdout.split(separator: "\n").filter { $0.hasPrefix("created ") }.count == 4)
        let hub = try Data(contentsOf: URL(fileURLWithPath: directory + "/ecny/hub-private.pem"))
        let second = try await CLI.run(["simulate", "keys", "--dir", directory])
        #expect(second.status == 0)
        #expect(second.stdout.contains("already has every key"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/ecny/hub-private.pem")) == hub)
    }

    @Test("a bad fault list is one line naming the fault, exit 1")
    func badFaults() async throws {
        let result = try await CLI.run(["simulate", "interbank", "--port", "0", "--faults", "timeout=7"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("huitong: --faults: fault timeout needs a share from 0 to 1"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
