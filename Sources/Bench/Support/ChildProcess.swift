import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, its output going to a log file, reaped with our own `waitpid`.
///
/// Foundation's `Process` is avoided on purpose (docs/architecture.md, pitfalls): a pipe inherited by a grandchild
/// never reaches EOF, and `waitUntilExit` once never returned. A log file and `waitpid(WNOHANG)` have neither problem.
final class ChildProcess: Sendable {
    /// The process id.
    let pid: pid_t
    /// A short name for reports (`serve sample`).
    let name: String
    /// Where its standard output and error go.
    let logPath: String
    private let status = Mutex<Int32?>(nil)

    private init(pid: pid_t, name: String, logPath: String) {
        self.pid = pid
        self.name = name
        self.logPath = logPath
    }

    /// Starts `executable` with `arguments`; standard input is `/dev/null`, output and errors go to `logPath`.
    /// - Parameters:
    ///   - executable: The program's path.
    ///   - arguments: Its arguments (without the program name).
    ///   - environment: Its whole environment.
    ///   - logPath: The log file (truncated).
    ///   - name: A short name for reports.
    /// - Returns: The running child.
    /// - Throws: ``BenchError`` when the program cannot be started.
    static func spawn(
        executable: String,
        arguments: [String],
        environment: [String: String],
        logPath: String,
        name: String
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw BenchError(
                "cannot start \(executable) (\(String(cString: strerror(result))))",
                fix: "build it first (swift build) or pass --binary PATH"
            )
        }
        return ChildProcess(pid: pid, name: name, logPath: logPath)
    }

    /// The exit status once the child has ended (reaping it), nil while it runs.
    var exitStatus: Int32? {
        status.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            guard reaped == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros: decode the classic layout by hand.
            let signal = raw & 0x7F
            status = signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
            return status
        }
    }

    /// The log's last lines (for error messages).
    func logTail(lines: Int = 5) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Waits for the child to end by itself.
    /// - Parameter timeout: How long to wait.
    /// - Returns: The exit status, or nil after the timeout (the child keeps running).
    func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exitStatus { return exitStatus }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exitStatus
    }

    /// Stops the child gracefully: SIGTERM, then SIGKILL if it has not ended within `timeout`.
    /// - Parameter timeout: The graceful period.
    /// - Returns: The exit status (128 + 9 when it had to be killed).
    @discardableResult
    func terminate(timeout: Duration = .seconds(30)) async -> Int32 {
        if let exitStatus { return exitStatus }
        kill(pid, SIGTERM)
        if let status = await wait(timeout: timeout) { return status }
        kill(pid, SIGKILL)
        return await wait(timeout: .seconds(5)) ?? 137
    }

    /// Runs a program to completion and returns its status and output.
    /// - Parameters:
    ///   - executable: The program.
    ///   - arguments: Its arguments.
    ///   - environment: Its environment.
    ///   - logPath: Where its output goes (read back afterwards).
    ///   - timeout: The longest it may take (then it is killed).
    /// - Returns: Exit status and output.
    /// - Throws: ``BenchError`` when it cannot be started.
    static func run(
        executable: String,
        arguments: [String],
        environment: [String: String],
        logPath: String,
        timeout: Duration = .seconds(120)
    ) async throws -> (status: Int32, output: String) {
        let child = try spawn(
            executable: executable, arguments: arguments, environment: environment, logPath: logPath,
            name: arguments.first ?? executable
        )
        var status = await child.wait(timeout: timeout)
        if status == nil { status = await child.terminate(timeout: .seconds(5)) }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return (status ?? 137, output)
    }
}
