import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a finished command left: its exit status (128 + signal when a signal ended it) and its output.
public struct CommandResult: Sendable {
    /// The exit status; 128 + the signal number when a signal ended the command.
    public var status: Int32
    /// Standard output.
    public var stdout: String
    /// Standard error.
    public var stderr: String
    /// Whether the command ran past its timeout and was killed.
    public var timedOut: Bool
}

/// Runs short commands from tests (`psql`, `rabbitmqctl`, `openssl`, `curl`, `huitong …`) safely under parallel tests.
///
/// Foundation's `Process` with `Pipe` hung the whole test run twice: a long-lived child started by another test at
/// the same moment (a `huitong serve`, a simulator, a postmaster) inherits the write end of this command's pipe, so
/// reading the pipe to its end never returns; and the read blocks one of the cooperative pool's threads (two on this
/// machine), so two such reads stop every test. Here the output goes to temporary files, never pipes; the child is
/// spawned with `posix_spawn` and reaped with `waitpid(WNOHANG)` between `Task.sleep`s, so no thread is blocked.
public enum Command {
    /// Runs a command to completion.
    /// - Parameters:
    ///   - executable: Absolute path of the program.
    ///   - arguments: Its arguments.
    ///   - environment: Its environment (default: this process's).
    ///   - directory: Its working directory (default: this process's).
    ///   - timeout: Kill it (SIGKILL) after this long (default 120 s); `timedOut` says so.
    /// - Returns: Status and output.
    /// - Throws: `CommandError` when the program cannot be started.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> CommandResult {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("huitong-command-\(UUID().uuidString)").path
        let outPath = base + ".out"
        let errPath = base + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // A working directory through env(1) -C: posix_spawn has no portable chdir action.
        let program = directory == nil ? executable : "/usr/bin/env"
        let argumentList = directory.map { ["/usr/bin/env", "-C", $0, executable] + arguments } ?? [executable] + arguments
        let environmentList = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = argumentList.map { strdup($0) } + [nil]
        let envp = environmentList.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw CommandError(description: "cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        var timedOut = false
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1 && errno != EINTR {
                throw CommandError(description: "waitpid for \(executable) failed: \(String(cString: strerror(errno)))")
            }
            if !timedOut && ContinuousClock.now > deadline {
                timedOut = true
                kill(pid, SIGKILL)
            }
            // Not cancellable on purpose: the child must be reaped, not left a zombie.
            try? await Task.sleep(for: .milliseconds(10))
        }
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return CommandResult(
            status: exitStatus,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
            timedOut: timedOut)
    }
}

/// A command could not be started or waited for.
public struct CommandError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
