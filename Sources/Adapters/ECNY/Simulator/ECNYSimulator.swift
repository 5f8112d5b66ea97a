public import AdapterSimulation
import AsyncHTTPClient
import Foundation
import HTTPTypes
import HubCore
public import HubCrypto
public import Hummingbird
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization

/// An e-CNY operator that speaks the adapter's signed JSON protocol (`huitong simulate ecny`).
///
/// `POST /ecny/v1/transfers` (signed by the hub) → ACCEPTED or REJECTED (signed by the operator), then a signed
/// settlement callback to the configured URL; `POST /ecny/v1/transfer-queries` → the current state, or 404.
/// Requests without a valid hub signature or with a stale timestamp get 401.
///
/// Wallets are derived from their 16-digit id, so tests are exact: digit 1 is the real-name tier (1–4, else 2);
/// digits 11–15 the opening balance in yuan; digit 16 a behaviour:
///
/// | last digit | behaviour |
/// |---|---|
/// | 0, 1, 2 | normal: ACCEPTED, one SETTLED callback |
/// | 3 | duplicate callbacks: SETTLED delivered twice, then again under a new notification id |
/// | 4 / 5 / 6 | REJECTED `WALLET_CLOSED` / `WALLET_NOT_FOUND` / `WALLET_FROZEN` |
/// | 7 | out-of-order callbacks: SETTLED, then a stale PROCESSING |
/// | 8 | the first request is processed but never answered (a timeout) |
/// | 9 | the first request is answered 503 without being processed |
///
/// R-ECNY-1: a credit above the payee tier's cap (`balance + amount > cap`, caps from configuration) is REJECTED
/// `BALANCE_CAP_EXCEEDED`; a payer wallet without the funds `INSUFFICIENT_BALANCE`. The same message id with the
/// same content is answered with the current state; with other content `DUPLICATE_MESSAGE`.
public final class ECNYOperatorSimulator: Sendable {
    /// The simulator's settings.
    public struct Configuration: Sendable {
        /// The seed.
        public var seed: UInt64 = 1
        /// The faults (latency, timeout, 5xx, lost, reject, duplicate, reorder).
        public var faults = SimulatorFaults()
        /// Where settlement callbacks go.
        public var callbackURL: String = "http://127.0.0.1:8480/callbacks/ecny/v1/settlements"
        /// R-ECNY-1 caps.
        public var tierCaps = TierCaps.standard
        /// The operator's signing key.
        public var operatorKey: SM2.PrivateKey
        /// The hub's public key.
        public var hubKey: SM2.PublicKey
        /// The operator's signer ID.
        public var operatorSignerID: SM2.SignerID = .default
        /// The hub's signer ID.
        public var hubSignerID: SM2.SignerID = .default
        /// Delay before a callback is sent.
        public var callbackDelay: Duration = .milliseconds(50)
        /// Allowed clock skew of signed requests.
        public var clockSkew: Duration = .seconds(300)

        /// Creates settings with the two keys.
        public init(operatorKey: SM2.PrivateKey, hubKey: SM2.PublicKey) {
            self.operatorKey = operatorKey
            self.hubKey = hubKey
        }
    }

    struct Wallet: Sendable {
        var tier: Int
        var balance: Money
        var rule: Int
    }

    /// What the operator knows about one message.
    public struct Record: Sendable, Hashable {
        /// The transfer id.
        public var transferId: String
        /// Payee wallet and amount in fen (the content compared on a repeat).
        public var content: String
        /// The current status.
        public var status: String
        /// The operator's transaction id.
        public var operatorTransactionId: String
        /// Settlement time.
        public var settledAt: String?
        /// Rejection code.
        public var reasonCode: String?
        /// Requests received for this message id.
        public var receipts: Int
    }

    struct Callback: Sendable {
        var message: OperatorMessage
        var delay: Duration
    }

    /// The settings.
    public let configuration: Configuration
    private let state = Mutex<(wallets: [String: Wallet], records: [String: Record], sequence: Int)>(([:], [:], 0))
    private let callbacks: AsyncStream<Callback>
    private let continuation: AsyncStream<Callback>.Continuation
    private let delivered = Mutex<[String: Int]>([:])
    /// Message ids whose first request arrived (faults apply to the first request only, processed or not).
    private let attempted = Mutex<Set<String>>([])

    /// Creates a simulator.
    /// - Parameter configuration: The settings.
    public init(configuration: Configuration) {
        self.configuration = configuration
        let pair = AsyncStream.makeStream(of: Callback.self)
        callbacks = pair.stream
        continuation = pair.continuation
    }

    /// What the operator knows about a message id (tests read it).
    public func record(messageId: String) -> Record? { state.withLock { $0.records[messageId] } }

    /// How many callbacks were delivered (2xx) for a transfer (tests read it).
    public func deliveredCallbacks(transferId: String) -> Int { delivered.withLock { $0[transferId] ?? 0 } }

    func wallet(_ id: String) -> Wallet {
        let digits = Array(id.utf8).map { Int($0) - 48 }
        let tier = (1...4).contains(digits.first ?? 0) ? digits[0] : 2
        let yuan = Int(String(id.dropFirst(10).prefix(5))) ?? 0
        return Wallet(tier: tier, balance: Money(minorUnits: Int64(yuan) * 100, currency: .cny), rule: digits.last ?? 0)
    }

    /// Adds the operator's routes.
    /// - Parameter router: The router.
    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post(RouterPath(ECNYProtocol.transfersPath)) { request, _ -> Response in
            var request = request
            let body = Array(try await request.collectBody(upTo: 64 << 10).readableBytesView)
            return try await self.transfer(body, signature: request.headers[HTTPField.Name(ECNYProtocol.signatureHeader)!])
        }
        router.post(RouterPath(ECNYProtocol.queriesPath)) { request, _ -> Response in
            var request = request
            let body = Array(try await request.collectBody(upTo: 64 << 10).readableBytesView)
            return try await self.query(body, signature: request.headers[HTTPField.Name(ECNYProtocol.signatureHeader)!])
        }
    }

    /// The HTTP application.
    /// - Parameters:
    ///   - host: Bind host.
    ///   - port: Port (0: any).
    ///   - logger: Logger.
    ///   - onRunning: Called with the bound port.
    /// - Returns: The application.
    public func application(
        host: String = "127.0.0.1", port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "huitong-ecny-simulator"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// Delivers queued callbacks (each retried until 2xx, up to 10 times) until the task is cancelled or graceful
    /// shutdown begins.
    public func runCallbacks() async {
        await withDiscardingTaskGroup { group in
            for await callback in callbacks.cancelOnGracefulShutdown() {
                group.addTask { await self.deliver(callback) }
            }
        }
    }

    func deliver(_ callback: Callback) async {
        try? await Task.sleep(for: callback.delay)
        var message = callback.message
        for attempt in 0..<10 {
            message.timestamp = ECNYProtocol.timestamp()
            let bytes = message.bytes
            var request = HTTPClientRequest(url: configuration.callbackURL)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let signature = try? ECNYProtocol.sign(bytes, key: configuration.operatorKey, signerID: configuration.operatorSignerID) {
                request.headers.add(name: ECNYProtocol.signatureHeader, value: signature)
            }
            request.body = .bytes(ByteBuffer(bytes: bytes))
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) {
                _ = try? await response.body.collect(upTo: 1 << 16)
                if (200..<300).contains(response.status.code) {
                    delivered.withLock { $0[message.transferId, default: 0] += 1 }
                    return
                }
            }
            try? await Task.sleep(for: .milliseconds(200 << min(attempt, 6)))
        }
    }

    func signed(_ message: OperatorMessage, status: HTTPResponse.Status = .ok) throws -> Response {
        let bytes = message.bytes
        let signature = try ECNYProtocol.sign(bytes, key: configuration.operatorKey, signerID: configuration.operatorSignerID)
        return Response(
            status: status,
            headers: [.contentType: "application/json", HTTPField.Name(ECNYProtocol.signatureHeader)!: signature],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func verified(_ body: [UInt8], _ signature: String?) -> JSONObject? {
        guard ECNYProtocol.verify(body, header: signature, key: configuration.hubKey, signerID: configuration.hubSignerID),
              let object = (try? JSONValue.parse(body))?.objectValue,
              ECNYProtocol.isFresh(object["timestamp"]?.stringValue, skew: configuration.clockSkew)
        else { return nil }
        return object
    }

    func transfer(_ body: [UInt8], signature: String?) async throws -> Response {
        let faults = configuration.faults
        if faults.latency != .zero { try await Task.sleep(for: faults.latency) }
        guard let object = verified(body, signature) else {
            return Response(status: .unauthorized)
        }
        guard let messageId = object["messageId"]?.stringValue, let transferId = object["transferId"]?.stringValue,
              let payee = object["payee"]?["wallet"]?.stringValue,
              let fenText = object["amountFen"].flatMap({ value -> String? in if case .number(let n) = value { n.text } else { nil } }),
              let fen = Int64(fenText), fen > 0, object["enterpriseId"]?.stringValue != nil
        else { return Response(status: .badRequest) }
        let amount = Money(minorUnits: fen, currency: .cny)
        let payerWallet = object["payer"]?["wallet"]?.stringValue
        let content = "\(payee)|\(fen)|\(payerWallet ?? "-")"
        var random = SplitMix64(seed: configuration.seed, key: messageId)
        let draws = (0..<7).map { _ in random.unit() }
        let now = ECNYProtocol.timestamp()
        let first = attempted.withLock { $0.insert(messageId).inserted }
        enum Step { case answer(OperatorMessage), hang, unavailable, lost }
        let step: Step = state.withLock { state in
            if var record = state.records[messageId] {
                record.receipts += 1
                state.records[messageId] = record
                if record.content != content {
                    return .answer(OperatorMessage(messageId: messageId, transferId: transferId, status: "REJECTED",
                                                   reasonCode: "DUPLICATE_MESSAGE", reason: "message id reused with other content"))
                }
                let status = record.status == "SETTLED" ? "SETTLED" : record.status
                return .answer(OperatorMessage(
                    messageId: messageId, transferId: record.transferId, status: status,
                    operatorTransactionId: record.operatorTransactionId, settledAt: record.settledAt,
                    reasonCode: record.reasonCode, reason: record.reasonCode))
            }
            var wallet = state.wallets[payee] ?? self.wallet(payee)
            if first && (wallet.rule == 9 || draws[1] < faults.errorRate) { return .unavailable }
            state.sequence += 1
            let operatorTransactionId = "OPTX\(configuration.seed)-\(state.sequence)"
            var reason: String?
            switch wallet.rule {
            case 4: reason = "WALLET_CLOSED"
            case 5: reason = "WALLET_NOT_FOUND"
            case 6: reason = "WALLET_FROZEN"
            default:
                if !configuration.tierCaps.allowsCredit(amount, toBalance: wallet.balance, tier: wallet.tier) {
                    reason = "BALANCE_CAP_EXCEEDED"
                } else if let payerWallet, let balance = Optional(state.wallets[payerWallet] ?? self.wallet(payerWallet)).map(\.balance),
                          (try? balance.compare(amount)) == .orderedAscending
                {
                    reason = "INSUFFICIENT_BALANCE"
                } else if draws[2] < faults.rejectRate {
                    reason = ["WALLET_FROZEN", "INSUFFICIENT_BALANCE", "WALLET_CLOSED"][Int(draws[3] * 3) % 3]
                }
            }
            if let reason {
                state.records[messageId] = Record(
                    transferId: transferId, content: content, status: "REJECTED", operatorTransactionId: operatorTransactionId,
                    settledAt: nil, reasonCode: reason, receipts: 1)
                return .answer(OperatorMessage(messageId: messageId, transferId: transferId, status: "REJECTED",
                                               operatorTransactionId: operatorTransactionId, reasonCode: reason,
                                               reason: "rejected by the simulated operator"))
            }
            wallet.balance = (try? wallet.balance.adding(amount)) ?? wallet.balance
            state.wallets[payee] = wallet
            if let payerWallet {
                var payer = state.wallets[payerWallet] ?? self.wallet(payerWallet)
                payer.balance = (try? payer.balance.subtracting(amount)) ?? payer.balance
                state.wallets[payerWallet] = payer
            }
            state.records[messageId] = Record(
                transferId: transferId, content: content, status: "SETTLED", operatorTransactionId: operatorTransactionId,
                settledAt: now, reasonCode: nil, receipts: 1)
            let settled = OperatorMessage(
                messageId: messageId, transferId: transferId, status: "SETTLED", operatorTransactionId: operatorTransactionId,
                settledAt: now, notificationId: "N-\(operatorTransactionId)")
            let delay = configuration.callbackDelay
            continuation.yield(Callback(message: settled, delay: delay))
            if wallet.rule == 3 || draws[4] < faults.duplicateRate {
                continuation.yield(Callback(message: settled, delay: delay * 2))
                var again = settled
                again.notificationId = "N-\(operatorTransactionId)-R"
                continuation.yield(Callback(message: again, delay: delay * 3))
            }
            if wallet.rule == 7 || draws[0] < faults.reorderRate {
                let stale = OperatorMessage(
                    messageId: messageId, transferId: transferId, status: "PROCESSING",
                    operatorTransactionId: operatorTransactionId, notificationId: "N-\(operatorTransactionId)-P")
                continuation.yield(Callback(message: stale, delay: delay * 4))
            }
            let accepted = OperatorMessage(
                messageId: messageId, transferId: transferId, status: "ACCEPTED", operatorTransactionId: operatorTransactionId)
            if wallet.rule == 8 || draws[5] < faults.timeoutRate { return .hang }
            if draws[6] < faults.lostRate { return .lost }
            return .answer(accepted)
        }
        switch step {
        case .answer(let message): return try signed(message)
        case .unavailable, .lost: return Response(status: .serviceUnavailable)
        case .hang:
            try? await Task.sleep(for: faults.hang)
            return Response(status: .gatewayTimeout)
        }
    }

    func query(_ body: [UInt8], signature: String?) async throws -> Response {
        if configuration.faults.latency != .zero { try await Task.sleep(for: configuration.faults.latency) }
        guard let object = verified(body, signature) else { return Response(status: .unauthorized) }
        guard let messageId = object["messageId"]?.stringValue else { return Response(status: .badRequest) }
        guard let record = record(messageId: messageId) else { return Response(status: .notFound) }
        return try signed(OperatorMessage(
            messageId: messageId, transferId: record.transferId, status: record.status,
            operatorTransactionId: record.operatorTransactionId, settledAt: record.settledAt,
            reasonCode: record.reasonCode, reason: record.reasonCode))
    }
}

/// Runs the simulator's callback delivery as a service.
public struct ECNYCallbackService: Service {
    let simulator: ECNYOperatorSimulator

    /// Creates the service.
    /// - Parameter simulator: The simulator.
    public init(simulator: ECNYOperatorSimulator) { self.simulator = simulator }

    /// Delivers callbacks until shutdown.
    public func run() async throws { await simulator.runCallbacks() }
}
