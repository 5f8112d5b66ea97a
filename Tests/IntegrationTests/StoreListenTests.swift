import HubStore
import Testing

@Suite("Store: LISTEN/NOTIFY")
struct StoreListenTests {
    @Test("a notification's payload arrives on the listening connection")
    func deliversPayload() async throws {
        try await StoreSupport.withTestSchema { pool, _ in
            let channel = try StoreSupport.uniqueName("ch")
            let received = try await pool.withListener(channel: channel) { notifications in
                try await pool.notify(channel: channel, payload: "outbox:42 ✓")
                try await pool.notify(channel: channel, payload: "second")
                var payloads: [String] = []
                for try await notification in notifications {
                    #expect(notification.channel == channel.name)
                    payloads.append(notification.payload)
                    if payloads.count == 2 { break }
                }
                return payloads
            }
            #expect(received == ["outbox:42 ✓", "second"])
        }
    }
}
