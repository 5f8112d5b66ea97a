import Foundation
import HubTestSupport
import Testing

/// Runs the built `huitong` binary the way an operator would, and captures what it prints.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        let candidates = [".build/debug/huitong", ".build/release/huitong"].map { repositoryRoot.appending(path: $0) }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static var amqpURL: String {
        ProcessInfo.processInfo.environment["HUITONG_AMQP_URL"] ?? "amqp://huitong:huitong@127.0.0.1:5673/huitong"
    }

    static var databaseURL: String {
        ProcessInfo.processInfo.environment["HUITONG_DATABASE_URL"]
            ?? "postgres://huitong:huitong@127.0.0.1:5433/huitong"
    }

    /// Runs `huitong ARGS` with an environment holding only what is given (plus PATH), waits at most `timeout`.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60))
        async throws -> Result
    {
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        for (key, value) in environment { env[key] = value }
        let result = try await Command.run(
            binary.path, arguments, environment: env, directory: repositoryRoot.path, timeout: timeout)
        if result.timedOut { Issue.record("huitong \(arguments.joined(separator: " ")) did not finish within \(timeout)") }
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
}
