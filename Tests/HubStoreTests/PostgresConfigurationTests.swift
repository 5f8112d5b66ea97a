import Foundation
import Testing

@testable import HubStore

@Suite("PostgresConfiguration")
struct PostgresConfigurationTests {
    @Test("the hub's default URL")
    func defaultURL() throws {
        let configuration = try PostgresConfiguration(url: PostgresConfiguration.defaultURL)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 5433)
        #expect(configuration.user == "huitong")
        #expect(configuration.password == "huitong")
        #expect(configuration.database == "huitong")
        #expect(configuration.sslMode == .prefer)
        #expect(configuration.poolSize == 10)
        #expect(configuration.queryTimeout == .seconds(30))
    }

    @Test("percent-encoded password, user and database are decoded")
    func percentDecoding() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://us%40er:p%40ss%3Aw%2Frd%25@db.example:6000/my%20db"
        )
        #expect(configuration.user == "us@er")
        #expect(configuration.password == "p@ss:w/rd%")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6000)
        #expect(configuration.database == "my db")
    }

    @Test("an IPv6 host in brackets, with and without a port")
    func ipv6() throws {
        let withPort = try PostgresConfiguration(url: "postgres://u:p@[::1]:5433/db")
        #expect(withPort.host == "::1")
        #expect(withPort.port == 5433)
        let withoutPort = try PostgresConfiguration(url: "postgres://u@[2001:db8::7]/db")
        #expect(withoutPort.host == "2001:db8::7")
        #expect(withoutPort.port == 5432)
        #expect(withoutPort.password == nil)
    }

    @Test("the port defaults to 5432")
    func defaultPort() throws {
        #expect(try PostgresConfiguration(url: "postgres://u:p@localhost/db").port == 5432)
    }

    @Test("query parameters are applied")
    func parameters() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://u:p@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3"
                + "&application_name=hub-test&statement_timeout=1500&pool_size=4&pool_timeout=2"
        )
        #expect(configuration.sslMode == .verifyFull)
        #expect(configuration.sslRootCertificatePath == "/etc/ca.pem")
        #expect(configuration.connectTimeout == .seconds(3))
        #expect(configuration.applicationName == "hub-test")
        #expect(configuration.queryTimeout == .milliseconds(1500))
        #expect(configuration.poolSize == 4)
        #expect(configuration.poolAcquireTimeout == .seconds(2))
        let disabled = try PostgresConfiguration(url: "postgres://u@h/db?statement_timeout=0")
        #expect(disabled.queryTimeout == nil)
    }

    @Test("every sslmode spelling is accepted")
    func sslModes() throws {
        for mode in ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] {
            let configuration = try PostgresConfiguration(url: "postgres://u@h/db?sslmode=\(mode)")
            #expect(configuration.sslMode.description == mode)
        }
    }

    @Test(
        "malformed URLs are rejected with a reason that names the part",
        arguments: [
            ("mysql://u:p@h/db", "postgres://"),
            ("postgres://u:p@h:5432", "database name is missing"),
            ("postgres://u:p@h:5432/", "database name is missing"),
            ("postgres://u:p@:5432/db", "host is missing"),
            ("postgres://u:p@h:0/db", "port"),
            ("postgres://u:p@h:70000/db", "port"),
            ("postgres://u:p@h:54x2/db", "port"),
            ("postgres://u:p@h/db?sslmode=sometimes", "sslmode must be one of"),
            ("postgres://u:p@h/db?connect_timeout=-1", "connect_timeout"),
            ("postgres://u:p@h/db?pool_size=0", "pool_size"),
            ("postgres://u:p@h/db?colour=blue", "unknown parameter 'colour'"),
            ("postgres://u:p@h/db?sslmode=disable&sslmode=require", "given twice"),
            ("postgres://u:p@[::1/db", "IPv6"),
            ("postgres://u:p@h/db#frag", "fragment"),
            ("postgres://u%zz:p@h/db", "user name"),
        ] as [(String, String)]
    )
    func rejects(url: String, reason: String) {
        #expect {
            try PostgresConfiguration(url: url)
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.code == .invalidConfiguration && error.description.contains(reason)
        }
    }

    @Test("a malformed URL never echoes the password")
    func errorsHideThePassword() {
        for url in [
            "postgres://u:Secr3tPw@h/db?sslmode=nope",
            "postgres://u:Secr3tPw%zz@h/db",
            "postgres://u:Secr3tPw@h:99999/db",
            "postgres://u:Secr3tPw@h",
        ] {
            do {
                _ = try PostgresConfiguration(url: url)
                Issue.record("accepted \(url)")
            } catch {
                #expect(!error.description.contains("Secr3tPw"))
                #expect(!error.debugDescription.contains("Secr3tPw"))
            }
        }
    }

    @Test("description, debugDescription and dump mask the password")
    func redaction() throws {
        let configuration = try PostgresConfiguration(url: "postgres://huitong:Secr3t%2Fpw@127.0.0.1:5433/huitong")
        #expect(configuration.redactedDescription.hasPrefix("postgres://huitong:***@127.0.0.1:5433/huitong?"))
        for text in [configuration.description, configuration.debugDescription, String(reflecting: configuration)] {
            #expect(!text.contains("Secr3t"))
        }
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("Secr3t"))
        // The redacted URL parses back to the same configuration, password aside.
        var reparsed = try PostgresConfiguration(url: configuration.redactedDescription)
        reparsed.password = configuration.password
        #expect(reparsed == configuration)
    }

    @Test("libpq parameters are keyword/value pairs, with the statement timeout in options")
    func connectionParameters() throws {
        let configuration = try PostgresConfiguration(url: "postgres://u:p@h:1234/d?statement_timeout=2500")
        let pairs = Dictionary(configuration.connectionParameters, uniquingKeysWith: { first, _ in first })
        #expect(pairs["host"] == "h")
        #expect(pairs["port"] == "1234")
        #expect(pairs["dbname"] == "d")
        #expect(pairs["user"] == "u")
        #expect(pairs["password"] == "p")
        #expect(pairs["options"]?.contains("-c statement_timeout=2500") == true)
    }
}
