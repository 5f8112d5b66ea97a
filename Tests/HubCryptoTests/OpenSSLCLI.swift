import Foundation
import Testing

/// Runs the `openssl` command-line tool in a private temporary directory, for interoperability checks.
struct OpenSSLCLI {
    struct Failure: Error, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var stderr: String
        var description: String {
            "openssl \(self.arguments.joined(separator: " ")) exited \(self.status): \(self.stderr)"
        }
    }

    let directory: URL

    /// Creates a fresh directory, runs `body`, and removes the directory.
    static func withTemporaryDirectory<R>(_ body: (OpenSSLCLI) throws -> R) throws -> R {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hubcrypto-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(OpenSSLCLI(directory: directory))
    }

    func path(_ name: String) -> String {
        self.directory.appendingPathComponent(name).path
    }

    func write(_ name: String, _ bytes: some DataProtocol) throws {
        try Data(bytes).write(to: self.directory.appendingPathComponent(name))
    }

    func read(_ name: String) throws -> Data {
        try Data(contentsOf: self.directory.appendingPathComponent(name))
    }

    /// Runs `openssl arguments…` with the temporary directory as working directory.
    /// - Returns: the exit status and standard output.
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = self.directory
        let out = self.directory.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = self.directory.appendingPathComponent("stderr-\(UUID().uuidString)")
        try Data().write(to: out)
        try Data().write(to: err)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        let stdout = String(decoding: try Data(contentsOf: out), as: UTF8.self)
        let stderr = String(decoding: try Data(contentsOf: err), as: UTF8.self)
        return (process.terminationStatus, stdout + (process.terminationStatus == 0 ? "" : stderr))
    }

    /// Runs `openssl arguments…` and throws when it exits non-zero.
    @discardableResult
    func mustRun(_ arguments: [String]) throws -> String {
        let result = try self.run(arguments)
        guard result.status == 0 else {
            throw Failure(arguments: arguments, status: result.status, stderr: result.stdout)
        }
        return result.stdout
    }

    /// The hexadecimal value after `= ` in `openssl dgst` output such as `HMAC-SM3(msg)= 7c4f…`.
    static func digestHex(_ output: String) -> String? {
        guard let range = output.range(of: "= ") else {
            return nil
        }
        return output[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Array where Element == UInt8 {
    static func random(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    var hex: String {
        self.map { String(format: "%02x", $0) }.joined()
    }

    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        self = bytes
    }
}
