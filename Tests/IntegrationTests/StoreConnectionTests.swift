import Foundation
import HubStore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("Store: connection failures are classified")
struct StoreConnectionTests {
    static func connect(_ configuration: PostgresConfiguration) async throws {
        let connection = try await PostgresConnection.connect(configuration: configuration, logger: StoreSupport.logger)
        await connection.close()
    }

    @Test("a closed port fails with connectionFailed")
    func closedPort() async throws {
        var configuration = try StoreSupport.configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 1
        configuration.connectTimeout = .seconds(3)
        let error = await #expect(throws: PostgresError.self) { try await Self.connect(configuration) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.description.contains("refused") == true)
    }

    @Test("a wrong password fails with authenticationFailed, and the password is not in the error")
    func wrongPassword() async throws {
        var configuration = try StoreSupport.configuration()
        configuration.password = "Wr0ng-Secret-\(UUID().uuidString)"
        let error = await #expect(throws: PostgresError.self) { try await Self.connect(configuration) }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.sqlState == "28P01")
        #expect(error?.debugDescription.contains(configuration.password ?? "?") == false)
    }

    @Test("a missing database fails with databaseNotFound")
    func missingDatabase() async throws {
        var configuration = try StoreSupport.configuration()
        configuration.database = "huitong_missing_\(UUID().uuidString.prefix(8).lowercased())"
        let error = await #expect(throws: PostgresError.self) { try await Self.connect(configuration) }
        #expect(error?.code == .databaseNotFound)
        #expect(error?.description.contains(configuration.database) == true)
    }

    @Test("a server that accepts TCP but never answers fails with timeout")
    func silentServer() async throws {
        // A listening socket nobody accepts from: the kernel completes the handshake, nothing ever answers.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0)
        try #require(listen(listener, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        var configuration = try StoreSupport.configuration()
        configuration.port = Int(UInt16(bigEndian: address.sin_port))
        configuration.sslMode = .disable
        configuration.connectTimeout = .seconds(2)
        let error = await #expect(throws: PostgresError.self) { try await Self.connect(configuration) }
        #expect(error?.code == .timeout)
    }

    @Test("a statement over statement_timeout is cancelled by the server (SQLSTATE 57014)")
    func statementTimeout() async throws {
        var configuration = try StoreSupport.configuration()
        configuration.queryTimeout = .milliseconds(200)
        let connection = try await PostgresConnection.connect(configuration: configuration, logger: StoreSupport.logger)
        let error = await #expect(throws: PostgresError.self) { try await connection.query("SELECT pg_sleep(5)") }
        #expect(error?.isQueryCanceled == true)
        #expect(await connection.isUsable)
        await connection.close()
    }

    @Test("cancelling the task cancels the running statement on the server")
    func taskCancellation() async throws {
        var configuration = try StoreSupport.configuration()
        configuration.queryTimeout = .seconds(120)
        let logger = StoreSupport.logger
        let connection = try await PostgresConnection.connect(configuration: configuration, logger: logger)
        let pid = try await connection.query("SELECT pg_backend_pid() AS pid").rows[0].decode(Int32.self, column: "pid")
        let sleeper = Task { try await connection.query("SELECT pg_sleep(60)") }
        // Wait until the server runs the statement, then cancel the task.
        let observer = try await PostgresConnection.connect(configuration: configuration, logger: logger)
        for _ in 0..<500 {
            let active = try await observer.query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(pid) AND state = 'active'"
            ).rows[0].decode(Int.self, column: "n")
            if active == 1 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        await observer.close()
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: PostgresError.self) { try result.get() }
        if case .failure(let error as PostgresError) = result {
            #expect(error.isQueryCanceled)
        }
        // The connection survives a cancelled statement.
        #expect(try await connection.query("SELECT 1 AS one").rows[0].decode(Int.self, column: "one") == 1)
        await connection.close()
    }
}
