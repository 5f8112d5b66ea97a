import Testing

@testable import HubAMQP

@Suite("AMQPConfiguration URL parsing")
struct AMQPConfigurationTests {
    struct Accepted: Sendable, CustomTestStringConvertible {
        var url: String
        var tls: Bool
        var host: String
        var port: Int
        var user: String
        var password: String
        var vhost: String
        var heartbeat: Int = 10
        var testDescription: String { url }
    }

    static let accepted: [Accepted] = [
        Accepted(url: "amqp://huitong:huitong@127.0.0.1:5673/huitong", tls: false, host: "127.0.0.1", port: 5673,
                 user: "huitong", password: "huitong", vhost: "huitong"),
        Accepted(url: "amqp://localhost", tls: false, host: "localhost", port: 5672, user: "guest",
                 password: "guest", vhost: "/"),
        Accepted(url: "amqp://", tls: false, host: "localhost", port: 5672, user: "guest", password: "guest",
                 vhost: "/"),
        Accepted(url: "amqps://u:p@broker.example", tls: true, host: "broker.example", port: 5671, user: "u",
                 password: "p", vhost: "/"),
        Accepted(url: "amqp://u:p@h/%2f", tls: false, host: "h", port: 5672, user: "u", password: "p", vhost: "/"),
        Accepted(url: "amqp://u:p@h//", tls: false, host: "h", port: 5672, user: "u", password: "p", vhost: "/"),
        Accepted(url: "amqp://u:p@h/a%2Fb", tls: false, host: "h", port: 5672, user: "u", password: "p",
                 vhost: "a/b"),
        Accepted(url: "amqp://us%40er:p%3Aw%2Fd@h:1/v", tls: false, host: "h", port: 1, user: "us@er",
                 password: "p:w/d", vhost: "v"),
        Accepted(url: "AMQP://u:p@[::1]:5673/v?heartbeat=0", tls: false, host: "::1", port: 5673, user: "u",
                 password: "p", vhost: "v", heartbeat: 0),
        Accepted(url: "amqp://u:p@h:65535/v?heartbeat=2&connection_timeout=1500&channel_max=10&frame_max=4096",
                 tls: false, host: "h", port: 65535, user: "u", password: "p", vhost: "v", heartbeat: 2),
        Accepted(url: "amqp://u@h", tls: false, host: "h", port: 5672, user: "u", password: "guest", vhost: "/"),
    ]

    @Test("accepts", arguments: accepted)
    func accepts(_ row: Accepted) throws {
        let configuration = try AMQPConfiguration(url: row.url)
        #expect(configuration.usesTLS == row.tls)
        #expect(configuration.host == row.host)
        #expect(configuration.port == row.port)
        #expect(configuration.user == row.user)
        #expect(configuration.password == row.password)
        #expect(configuration.vhost == row.vhost)
        #expect(configuration.heartbeatSeconds == row.heartbeat)
    }

    @Test("query values land in the configuration")
    func queryValues() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://u:p@h/v?heartbeat=2&connection_timeout=1500&channel_max=10&frame_max=8192",
            connectionName: "hub-test"
        )
        #expect(configuration.connectionTimeout == .milliseconds(1500))
        #expect(configuration.channelMax == 10)
        #expect(configuration.frameMax == 8192)
        #expect(configuration.connectionName == "hub-test")
    }

    @Test("TLS options")
    func tlsOptions() throws {
        let configuration = try AMQPConfiguration(
            url: "amqps://u:p@mq.bank.cn:5671/hub?cacertfile=%2Fetc%2Fca.pem&certfile=/etc/c.pem&keyfile=/etc/k.pem"
                + "&verify=verify_none&server_name_indication=mq.bank.cn"
        )
        let tls = try #require(configuration.tls)
        #expect(tls.caCertificateFile == "/etc/ca.pem")
        #expect(tls.certificateFile == "/etc/c.pem")
        #expect(tls.keyFile == "/etc/k.pem")
        #expect(tls.verifyPeer == false)
        #expect(tls.serverNameIndication == "mq.bank.cn")
        #expect(try AMQPConfiguration(url: "amqps://h").tls?.verifyPeer == true)
    }

    struct Rejected: Sendable, CustomTestStringConvertible {
        var url: String
        var mentions: String
        var testDescription: String { mentions }
    }

    static let rejected: [Rejected] = [
        Rejected(url: "http://u:s3cretPW@h/v", mentions: "scheme"),
        Rejected(url: "amqp://u:s3cretPW@h:0/v", mentions: "port"),
        Rejected(url: "amqp://u:s3cretPW@h:65536/v", mentions: "port"),
        Rejected(url: "amqp://u:s3cretPW@h:abc/v", mentions: "port"),
        Rejected(url: "amqp://u:s3cretPW:5672/v", mentions: "more than one ':'"),
        Rejected(url: "amqp://u:s3cretPW@h/v?heartbeat=-1", mentions: "heartbeat"),
        Rejected(url: "amqp://u:s3cretPW@h/v?heartbeat=ten", mentions: "heartbeat"),
        Rejected(url: "amqp://u:s3cretPW@h/v?heartbeat=70000", mentions: "heartbeat"),
        Rejected(url: "amqp://u:s3cretPW@h/v?connection_timeout=0", mentions: "connection_timeout"),
        Rejected(url: "amqp://u:s3cretPW@h/v?frame_max=100", mentions: "frame_max"),
        Rejected(url: "amqp://u:s3cretPW@h/v?channel_max=x", mentions: "channel_max"),
        Rejected(url: "amqp://u:s3cretPW@h/v?bogus=1", mentions: "bogus"),
        Rejected(url: "amqp://u:s3cretPW@h/v?s3cretPW", mentions: "malformed"),
        Rejected(url: "amqp://u:s3cretPW@h/v?heartbeat=1&heartbeat=2", mentions: "twice"),
        Rejected(url: "amqp://u:s3cretPW@h/v?cacertfile=/ca.pem", mentions: "amqps"),
        Rejected(url: "amqps://u:s3cretPW@h/v?verify=maybe", mentions: "verify"),
        Rejected(url: "amqp://u:s3cretPW@h/a/b", mentions: "%2f"),
        Rejected(url: "amqp://u:s3cret%zzPW@h/v", mentions: "password"),
        Rejected(url: "amqp://u:s3cretPW@h/v%2", mentions: "vhost"),
        Rejected(url: "amqp://u:s3cretPW@[::1/v", mentions: "IPv6"),
        Rejected(url: "amqp://u:s3cret PW@h/v", mentions: "whitespace"),
        Rejected(url: "amqp://u:s3cretPW@h/v#frag", mentions: "fragment"),
    ]

    @Test("rejects with one precise line that never echoes the password", arguments: rejected)
    func rejects(_ row: Rejected) {
        do {
            _ = try AMQPConfiguration(url: row.url)
            Issue.record("accepted \(row.mentions)")
        } catch {
            #expect(error.code == .invalidURL)
            #expect(error.description.contains(row.mentions), "\(error.description)")
            #expect(!error.description.contains("s3cret"))
            #expect(!error.debugDescription.contains("s3cret"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("redactedURL hides the password and round-trips everything else")
    func redaction() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://hub:Very%2FSecret@127.0.0.1:5673/%2f?heartbeat=2&connection_timeout=1500"
        )
        let redacted = configuration.redactedURL
        #expect(redacted == "amqp://hub:***@127.0.0.1:5673/%2F?heartbeat=2&connection_timeout=1500")
        #expect(!redacted.contains("Secret"))
        let reparsed = try AMQPConfiguration(url: redacted)
        #expect(reparsed.host == configuration.host)
        #expect(reparsed.port == configuration.port)
        #expect(reparsed.vhost == "/")
        #expect(reparsed.heartbeatSeconds == 2)
        #expect(reparsed.password == "***")

        let tls = try AMQPConfiguration(url: "amqps://u:pw@[::1]/v?verify=verify_none")
        #expect(tls.redactedURL == "amqps://u:***@[::1]:5671/v?verify=verify_none")
    }
}

@Suite("Reconnect backoff")
struct BackoffTests {
    @Test("starts at 0.5 s, doubles, caps at the maximum")
    func schedule() {
        let backoff = AMQPConfiguration.Backoff()
        let delays = (1...9).map { backoff.delay(attempt: $0) }
        #expect(delays == [
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30),
            .seconds(30), .seconds(30),
        ])
        #expect(backoff.delay(attempt: 0) == .milliseconds(500))
        #expect(backoff.delay(attempt: 10_000) == .seconds(30))
    }

    @Test("never starts below 0.5 s (STACK-NOTES §6)")
    func floor() {
        let backoff = AMQPConfiguration.Backoff(initial: .milliseconds(1), maximum: .milliseconds(100))
        #expect(backoff.initial == .milliseconds(500))
        #expect(backoff.maximum == .milliseconds(500))
        #expect(backoff.delay(attempt: 3) == .milliseconds(500))
    }
}

@Suite("AMQPError")
struct AMQPErrorTests {
    @Test("description carries code and broker reply; debugDescription adds detail; shortDescription is the code")
    func shapes() {
        let error = AMQPError(
            .preconditionFailed, "declare queue 'q': it exists with different settings", replyCode: 406,
            replyText: "PRECONDITION_FAILED - inequivalent arg 'x-queue-type'", detail: "lib detail"
        )
        #expect(error.description.hasPrefix("AMQP preconditionFailed: declare queue 'q'"))
        #expect(error.description.contains("406 PRECONDITION_FAILED"))
        #expect(!error.description.contains("lib detail"))
        #expect(error.debugDescription.contains("lib detail"))
        #expect(error.shortDescription == "preconditionFailed")
    }
}
