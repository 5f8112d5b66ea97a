import Foundation
public import HubCore

/// A small deterministic random generator (SplitMix64): the same seed gives the same traffic.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator.
    /// - Parameter seed: The seed.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    /// - Returns: The bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Synthetic partner traffic for `huitong demo`: a realistic mix of payments commands built on the fixed message
/// interface (common.md §1–2), deterministic for a seed.
///
/// | kind | share | what it exercises |
/// |---|---|---|
/// | transfer | 40 % | enterprise → enterprise at another bank, 100 – 49,999.99 CNY (BEPS/IBPS, R-PAY-1) |
/// | e-cny | 18 % | enterprise → person's e-CNY wallet, 10 – 4,999.99 CNY (R-ECNY-1) |
/// | payroll | 8 % | 代发工资 batch of 3–12 lines with resident ids, exact control sum (R-PAY-6) |
/// | large-value | 6 % | 1,000,000 – 9,000,000 CNY to an enterprise (HVPS, R-PAY-1) |
/// | duplicate | 12 % | the same message id again, or the same client request id and payload under a new id (R-PAY-3) |
/// | invalid | 11 % | bad CNAPS code, three decimals, changed payload under a used request id (AM05, R-PAY-4), bad USCC |
/// | person>50k | 5 % | enterprise → person above 50,000 CNY without a documented basis (R-PAY-8) |
public struct DemoTraffic: Sendable {
    /// What a generated command is meant to show.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// A single interbank transfer.
        case transfer
        /// An e-CNY wallet payment.
        case ecny = "e-cny"
        /// A payroll batch.
        case payroll
        /// A large-value transfer.
        case largeValue = "large-value"
        /// A duplicate (message id, or request id with the same payload).
        case duplicate
        /// An invalid request.
        case invalid
        /// Corporate → person above the threshold without a documented basis.
        case personOverLimit = "person>50k"

        var weight: Int {
            switch self {
            case .transfer: 40
            case .ecny: 18
            case .payroll: 8
            case .largeValue: 6
            case .duplicate: 12
            case .invalid: 11
            case .personOverLimit: 5
            }
        }
    }

    private var random: SeededGenerator
    private var counter = 0
    private var recent: [Envelope] = []
    private let runID: String

    /// Creates a generator.
    /// - Parameters:
    ///   - seed: The seed (same seed, same traffic).
    ///   - runID: A short id that makes client request ids unique across runs.
    public init(seed: UInt64, runID: String) {
        random = SeededGenerator(seed: seed)
        self.runID = runID
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    /// The next command.
    /// - Returns: Its kind and envelope (a duplicate may reuse an earlier envelope as is).
    /// - Throws: `ValidationError` only on a bug in the generator.
    public mutating func next() throws -> (kind: Kind, envelope: Envelope) {
        counter += 1
        var pick = int(1...Kind.allCases.reduce(0) { $0 + $1.weight })
        var kind = Kind.transfer
        for candidate in Kind.allCases {
            pick -= candidate.weight
            if pick <= 0 {
                kind = candidate
                break
            }
        }
        if (kind == .duplicate || kind == .invalid) && recent.isEmpty { kind = .transfer }
        let envelope: Envelope
        switch kind {
        case .transfer:
            envelope = try PaymentsCommands.transfer(
                runID: runID, index: counter, bodyBytes: 0, minorUnits: int(10_000...4_999_999))
        case .largeValue:
            envelope = try PaymentsCommands.transfer(
                runID: runID, index: counter, bodyBytes: 0, minorUnits: int(100_000_000...900_000_000))
        case .ecny:
            let wallet = String(format: "%08d%08d", int(10_000_000...99_999_999), int(0...99_999_999))
            let creditor: JSONValue = [
                "name": .string(Self.names[int(0...Self.names.count - 1)]), "kind": "person",
                "wallet": .string(wallet), "walletOperator": .string(Self.operators[int(0...Self.operators.count - 1)]),
            ]
            envelope = try PaymentsCommands.transfer(
                runID: runID, index: counter, bodyBytes: 0, minorUnits: int(1_000...499_999), creditor: creditor)
        case .personOverLimit:
            envelope = try PaymentsCommands.transfer(
                runID: runID, index: counter, bodyBytes: 0, minorUnits: int(5_000_001...20_000_000),
                creditor: person(counter))
        case .payroll:
            envelope = try payroll()
        case .duplicate:
            let original = recent[int(0...recent.count - 1)]
            if int(0...1) == 0 {
                envelope = original
            } else {
                envelope = try PaymentsCommands.make(
                    id: .generate(), type: original.type.value, data: original.data)
            }
        case .invalid:
            envelope = try invalid()
        }
        if kind == .transfer || kind == .ecny || kind == .largeValue {
            recent.append(envelope)
            if recent.count > 50 { recent.removeFirst() }
        }
        return (kind, envelope)
    }

    private mutating func person(_ seed: Int) -> JSONValue {
        [
            "name": .string(Self.names[int(0...Self.names.count - 1)]), "kind": "person",
            "account": .string(PaymentsCommands.account(seed + 10_000)),
            "agent": .string(PaymentsCommands.agents[int(0...PaymentsCommands.agents.count - 1)]),
        ]
    }

    private mutating func payroll() throws -> Envelope {
        let lineCount = int(3...12)
        var lines: [JSONValue] = []
        var total = 0
        for sequence in 1...lineCount {
            let minor = int(300_000...2_500_000)
            total += minor
            lines.append([
                "sequence": .number(JSONNumber(sequence)),
                "creditor": person(counter * 100 + sequence),
                "amount": PaymentsCommands.money(minorUnits: minor),
                "idNumber": .string(Self.residentID(seed: counter * 100 + sequence)),
            ])
        }
        let data: JSONObject = [
            "batchId": .string("p\(runID)-\(counter)"),
            "channel": "api",
            "kind": "payroll",
            "payer": [
                "name": "华东精密制造有限公司", "account": .string(PaymentsCommands.account(1)),
                "agent": .string(PaymentsCommands.agents[0]), "kind": "enterprise",
            ],
            "purpose": "工资",
            "numberOfTransactions": .number(JSONNumber(lineCount)),
            "controlSum": PaymentsCommands.money(minorUnits: total)["value"] ?? "0.00",
            "currency": "CNY",
            "lines": .array(lines),
        ]
        return try PaymentsCommands.make(id: .generate(), type: "payments.batch.request.v1", data: data)
    }

    private mutating func invalid() throws -> Envelope {
        var data = recent[int(0...recent.count - 1)].data
        switch int(0...3) {
        case 0:
            // The same client request id with a different amount: AM05 (R-PAY-4).
            data["amount"] = PaymentsCommands.money(minorUnits: int(10_000...99_999))
        case 1:
            data["clientRequestId"] = .string("i\(runID)-\(counter)")
            data["amount"] = ["value": "12.345", "currency": "CNY"]
        case 2:
            data["clientRequestId"] = .string("i\(runID)-\(counter)")
            var creditor = data["creditor"]?.objectValue ?? [:]
            creditor["agent"] = "12345"
            data["creditor"] = .object(creditor)
        default:
            data["clientRequestId"] = .string("i\(runID)-\(counter)")
            data["amount"] = ["value": "-5.00", "currency": "CNY"]
        }
        return try PaymentsCommands.make(id: .generate(), type: "payments.transfer.request.v1", data: data)
    }

    /// A syntactically valid mainland resident id (GB 11643 check character).
    static func residentID(seed: Int) -> String {
        let birth = String(format: "19%02d%02d%02d", 60 + seed % 40, 1 + seed % 12, 1 + seed % 28)
        let body = "320506" + birth + String(format: "%03d", seed % 1_000)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body.utf8, weights).reduce(0) { $0 + Int($1.0 - 48) * $1.1 }
        let check = Array("10X98765432")[sum % 11]
        return body + String(check)
    }

    static let names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"]
    static let operators = ["ICBC", "ABC", "BOC", "CCB", "BOCOM", "PSBC"]
}
