public import AdapterSimulation
import Foundation
import HubCore
public import Hummingbird
public import Logging
import NIOCore
import Synchronization

/// A bank that speaks the same ISO 20022 XML over HTTP as the interbank adapter expects
/// (`huitong simulate interbank`).
///
/// Endpoints: `POST /iso20022/pacs.008` → pacs.002; `POST /iso20022/pacs.028` (status request by the original
/// references) → pacs.002, or 404 when the references are unknown; `POST /iso20022/camt.060` → camt.052/053, or 404
/// for an unknown account. Malformed requests get a pacs.002 RJCT FF01 (pacs.008) or HTTP 400.
///
/// Deterministic account rules (the last four digits of an account; tests rely on them):
///
/// | rule | answer |
/// |---|---|
/// | creditor account ends `9901` / `9904` / `9906` | RJCT AC01 (wrong account) / AC04 (closed) / AC06 (blocked) |
/// | creditor account ends `9951` | RJCT BE01 (name does not match the account) |
/// | debtor account ends `9914` | RJCT AM04 (insufficient funds) |
/// | creditor agent starts with `999` | RJCT RC01 (bank identifier incorrect) |
/// | BEPS or IBPS above 50,000.00 | RJCT AM02 (amount above the rail's limit, REFERENCE.md §7) |
/// | creditor account ends `9970` | ACSP now; ACSC on the next status query |
/// | creditor account ends `9980` | the first pacs.008 is processed but never answered (a timeout); ACSC on query |
/// | creditor account ends `9950` | the first pacs.008 is answered 503 without being processed |
/// | account (camt.060) ends `9990` / `9991` | 404 unknown account / a statement whose balances do not add up |
/// | anything else | ACSC, with AccptncDtTm |
///
/// The same UETR again with the same references is answered with the current status (no second booking); with a
/// different MsgId, EndToEndId or amount it is RJCT AM05 (duplicate). Random faults (``SimulatorFaults``) apply
/// to the first receipt of a UETR only, drawn from the seed and the UETR.
public final class InterbankSimulator: Sendable {
    /// What the simulator knows about one transfer.
    public struct Record: Sendable, Hashable {
        /// The pacs.008 as received first.
        public var transaction: Pacs008.Transaction
        /// Its MsgId.
        public var messageId: String
        /// Every distinct MsgId received for the UETR.
        public var messageIds: Set<String>
        /// pacs.008 receipts for the UETR.
        public var receipts: Int
        /// The current status.
        public var status: TransactionStatus
        /// The reason code when rejected.
        public var reasonCode: String?
        /// When it was accepted for settlement.
        public var acceptedAt: String?
        /// Status queries still to answer with the same in-progress status (the `duplicate` fault).
        public var repeats: Int = 0
        /// In-progress statuses answered again (tests read it).
        public var repeatedAnswers: Int = 0
    }

    /// The seed.
    public let seed: UInt64
    /// The faults.
    public let faults: SimulatorFaults
    private let records = Mutex<[String: Record]>([:])
    /// UETRs whose first pacs.008 was received (faults apply to the first receipt only, processed or not).
    private let attempted = Mutex<Set<String>>([])
    private let reportSequence = Atomic<Int>(0)

    /// Realistic rejection codes drawn for `reject` faults.
    public static let randomRejectionCodes = ["AC01", "AC04", "AC06", "AM04", "BE01", "RC01"]

    /// Creates a simulator.
    /// - Parameters:
    ///   - seed: The seed (default 1).
    ///   - faults: The faults (default none).
    public init(seed: UInt64 = 1, faults: SimulatorFaults = SimulatorFaults()) {
        self.seed = seed
        self.faults = faults
    }

    /// What the simulator knows about a UETR (tests read it).
    /// - Parameter uetr: The UETR.
    /// - Returns: The record.
    public func record(uetr: String) -> Record? { records.withLock { $0[uetr] } }

    /// Adds the routes to a router.
    /// - Parameter router: The router.
    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/iso20022/pacs.008") { request, _ -> Response in
            let bytes = try await Self.body(request)
            return try await self.pacs008(bytes)
        }
        router.post("/iso20022/pacs.028") { request, _ -> Response in
            let bytes = try await Self.body(request)
            return try await self.pacs028(bytes)
        }
        router.post("/iso20022/camt.060") { request, _ -> Response in
            let bytes = try await Self.body(request)
            return try await self.camt060(bytes)
        }
    }

    /// An application serving the simulator.
    /// - Parameters:
    ///   - host: The bind host.
    ///   - port: The port (0: any free port).
    ///   - logger: The logger.
    ///   - onRunning: Called with the bound port.
    /// - Returns: The application (a ServiceLifecycle service).
    public func application(
        host: String = "127.0.0.1", port: Int, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "huitong-interbank-simulator"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    static func body(_ request: Request) async throws -> [UInt8] {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        return Array(buffer.readableBytesView)
    }

    static func xml(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/xml; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    private func now() -> String { ISODate.shanghaiDateTime(Date()) }

    private func report(for record: Record) -> Pacs002 {
        Pacs002(
            messageId: "SIM" + String(reportSequence.wrappingAdd(1, ordering: .relaxed).newValue),
            creationDateTime: now(), originalMessageId: record.messageId,
            originalInstructionId: record.transaction.instructionId, originalEndToEndId: record.transaction.endToEndId,
            originalTransactionId: record.transaction.transactionId, originalUETR: record.transaction.uetr,
            status: record.status, reasonCode: record.reasonCode,
            additionalInformation: record.reasonCode.map(Self.reasonText), acceptanceDateTime: record.acceptedAt,
            originalAmount: record.transaction.amount)
    }

    static func reasonText(_ code: String) -> String {
        switch code {
        case "AC01": "Incorrect account number"
        case "AC04": "Closed account number"
        case "AC06": "Blocked account"
        case "AM02": "Not allowed amount"
        case "AM04": "Insufficient funds"
        case "AM05": "Duplication"
        case "BE01": "Inconsistent with end customer"
        case "RC01": "Bank identifier incorrect"
        case "FF01": "Invalid file format"
        default: "Rejected"
        }
    }

    /// The decision for a first receipt: status, reason, and the fault to apply.
    enum Fault { case none, hang, unavailable, lost }

    func decide(_ message: Pacs008, _ tx: Pacs008.Transaction) -> (TransactionStatus, String?, Fault) {
        var random = SplitMix64(seed: seed, key: tx.uetr)
        let draws = (0..<6).map { _ in random.unit() }
        let creditor = tx.creditor.account.unmaskedValue
        let debtor = tx.debtor.account.unmaskedValue
        var fault = Fault.none
        if creditor.hasSuffix("9980") { fault = .hang }
        else if creditor.hasSuffix("9950") { fault = .unavailable }
        else if draws[0] < faults.timeoutRate { fault = .hang }
        else if draws[1] < faults.errorRate { fault = .unavailable }
        else if draws[2] < faults.lostRate { fault = .lost }
        let limit = try? Money(string: "50000.00", currencyCode: "CNY")
        if creditor.hasSuffix("9901") { return (.rejected, "AC01", fault) }
        if creditor.hasSuffix("9904") { return (.rejected, "AC04", fault) }
        if creditor.hasSuffix("9906") { return (.rejected, "AC06", fault) }
        if creditor.hasSuffix("9951") { return (.rejected, "BE01", fault) }
        if debtor.hasSuffix("9914") { return (.rejected, "AM04", fault) }
        if tx.creditor.agent.value.hasPrefix("999") { return (.rejected, "RC01", fault) }
        if message.clearingSystem != "HVPS", let limit, (try? tx.amount.compare(limit)) == .orderedDescending {
            return (.rejected, "AM02", fault)
        }
        if draws[3] < faults.rejectRate {
            let codes = Self.randomRejectionCodes
            return (.rejected, codes[Int(draws[4] * Double(codes.count)) % codes.count], fault)
        }
        if creditor.hasSuffix("9970") || draws[5] < faults.pendingRate { return (.acceptedSettlementInProcess, nil, fault) }
        return (.acceptedSettlementCompleted, nil, fault)
    }

    func pacs008(_ bytes: [UInt8]) async throws -> Response {
        if faults.latency != .zero { try await Task.sleep(for: faults.latency) }
        let message: Pacs008
        do {
            message = try Pacs008.parse(bytes)
        } catch {
            // A file the bank cannot read: FF01 on the group, as banks do.
            let rejection = Pacs002(
                messageId: "SIMFF01", creationDateTime: now(), originalMessageId: "UNKNOWN", originalInstructionId: nil,
                originalEndToEndId: "NOTPROVIDED", originalTransactionId: nil,
                originalUETR: "00000000-0000-4000-8000-000000000000", status: .rejected, reasonCode: "FF01",
                additionalInformation: String(describing: error))
            return Self.xml(rejection.xml)
        }
        guard message.transactions.count == 1, let tx = message.transactions.first else {
            return Response(status: .badRequest)
        }
        let (status, reason, decided) = decide(message, tx)
        var fault = decided
        // Faults hit the first receipt of a UETR only, so a retry of the same message converges.
        if !attempted.withLock({ $0.insert(tx.uetr).inserted }) { fault = .none }
        enum Step { case answer(Pacs002), hang, unavailable, lost }
        let acceptedAt = now()
        let step: Step = records.withLock { records in
            if var record = records[tx.uetr] {
                record.receipts += 1
                record.messageIds.insert(message.messageId)
                records[tx.uetr] = record
                let same = record.messageId == message.messageId && record.transaction.endToEndId == tx.endToEndId
                    && record.transaction.amount == tx.amount
                if !same {
                    var duplicate = record
                    duplicate.messageId = message.messageId
                    duplicate.status = .rejected
                    duplicate.reasonCode = "AM05"
                    duplicate.transaction = tx
                    duplicate.acceptedAt = nil
                    return .answer(self.report(for: duplicate))
                }
                return .answer(self.report(for: record))
            }
            if fault == .unavailable { return .unavailable }
            var record = Record(
                transaction: tx, messageId: message.messageId, messageIds: [message.messageId], receipts: 1,
                status: status, reasonCode: reason, acceptedAt: status == .rejected ? nil : acceptedAt)
            // `duplicate`: the bank repeats an in-progress status once before settling.
            var duplicateDraw = SplitMix64(seed: seed, key: tx.uetr + "|dup")
            if status == .acceptedSettlementInProcess && duplicateDraw.unit() < faults.duplicateRate {
                record.repeats = 1
            }
            records[tx.uetr] = record
            switch fault {
            case .hang: return .hang
            case .lost: return .lost
            default: return .answer(self.report(for: record))
            }
        }
        switch step {
        case .answer(let report): return Self.xml(report.xml)
        case .unavailable, .lost: return Response(status: .serviceUnavailable)
        case .hang:
            try? await Task.sleep(for: faults.hang)
            return Response(status: .gatewayTimeout)
        }
    }

    func pacs028(_ bytes: [UInt8]) async throws -> Response {
        if faults.latency != .zero { try await Task.sleep(for: faults.latency) }
        guard let request = try? Pacs028.parse(bytes) else { return Response(status: .badRequest) }
        let now = now()
        let report: Pacs002? = records.withLock { records in
            guard var record = records[request.originalUETR.lowercased()],
                  record.transaction.endToEndId == request.originalEndToEndId
            else { return nil }
            if record.status == .acceptedSettlementInProcess && record.repeats > 0 {
                record.repeats -= 1
                record.repeatedAnswers += 1
                records[request.originalUETR.lowercased()] = record
            } else if record.status == .acceptedSettlementInProcess {
                // Settles by the next status query.
                record.status = .acceptedSettlementCompleted
                record.acceptedAt = record.acceptedAt ?? now
                records[request.originalUETR.lowercased()] = record
            }
            return self.report(for: record)
        }
        guard let report else { return Response(status: .notFound) }
        return Self.xml(report.xml)
    }

    func camt060(_ bytes: [UInt8]) async throws -> Response {
        if faults.latency != .zero { try await Task.sleep(for: faults.latency) }
        guard let request = try? AccountReportingRequest.parse(bytes) else { return Response(status: .badRequest) }
        let account = request.account.unmaskedValue
        if account.hasSuffix("9990") { return Response(status: .notFound) }
        let kind: AccountReport.Kind = request.requestedMessage.hasPrefix("camt.052") ? .intraday : .statement
        return Self.xml(Self.report(kind: kind, account: request.account, date: request.date, seed: seed,
                                    broken: account.hasSuffix("9991")).xml)
    }

    /// The deterministic report of an account and day: an opening balance and 3–6 entries drawn from the seed,
    /// the closing balance their sum (unless `broken`).
    static func report(kind: AccountReport.Kind, account: AccountNumber, date: String, seed: UInt64, broken: Bool) -> AccountReport {
        var random = SplitMix64(seed: seed, key: account.unmaskedValue + "|" + date)
        let opening = Money(minorUnits: Int64(random.next() % 50_000_000) + 1_000_000, currency: .cny)
        var running = opening
        var entries: [AccountReport.Entry] = []
        let count = 3 + Int(random.next() % 4)
        for index in 0..<count {
            let amount = Money(minorUnits: Int64(random.next() % 500_000) + 100, currency: .cny)
            let credit = index % 2 == 0
            running = (try? running.adding(credit ? amount : amount.negated)) ?? running
            entries.append(AccountReport.Entry(
                amount: amount, creditDebit: credit ? .credit : .debit, status: "BOOK", bookingDate: date, valueDate: date,
                servicerReference: "SIM\(date.replacingOccurrences(of: "-", with: ""))\(index + 1)",
                endToEndId: "E2E-SIM-\(index + 1)", remittanceInformation: credit ? "货款" : "服务费"))
        }
        if broken { running = (try? running.adding(Money(minorUnits: 1, currency: .cny))) ?? running }
        func balance(_ type: String, _ money: Money) -> AccountReport.Balance {
            AccountReport.Balance(type: type, amount: Money(minorUnits: abs(money.minorUnits ?? 0), currency: .cny),
                                  creditDebit: money.isNegative ? .debit : .credit, date: date)
        }
        let balances = kind == .statement
            ? [balance("OPBD", opening), balance("CLBD", running), balance("CLAV", running)]
            : [balance("ITBD", running), balance("ITAV", running)]
        return AccountReport(
            kind: kind, messageId: "SIMRPT\(random.next() % 1_000_000_000)", id: "\(kind == .statement ? "STMT" : "RPT")-\(date)",
            sequenceNumber: 1, creationDateTime: ISODate.shanghaiDateTime(Date()), account: account, currency: .cny,
            date: date, balances: balances, entries: entries)
    }
}
