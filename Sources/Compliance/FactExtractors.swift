import Foundation
public import HubCore

/// Reads the facts of the message types the rules understand. Unknown types give no facts (the message is only
/// recorded as seen).
///
/// | type | facts |
/// |---|---|
/// | `payments.transfer.request.v1` | one outflow of the payer (`enterpriseid`, debtor kind enterprise → R-AML-2); screening of both parties and the USCC; R-PAY-5, R-PAY-8 |
/// | `payments.batch.request.v1` | one outflow per line (payer = `enterpriseid`); screening of the payer, every creditor and `idNumber` |
/// | `accounts.transaction.booked.v1` (provisional) | one flow of the customer: cash (R-AML-1) or transfer, in or out, cross-border |
/// | `fx.purchase.request.v1`, `fx.settlement.request.v1` (provisional) | R-FX-2 quota; screening of the person |
/// | `ecny.wallet-credit.request.v1` (provisional) | R-ECNY-1 tier cap |
/// | `redpacket.payout.request.v1` (provisional) | R-TAX-4 withholding |
public enum FactExtractors {
    /// The types with an extractor.
    public static let types: Set<String> = [
        "payments.transfer.request.v1", "payments.batch.request.v1", "accounts.transaction.booked.v1",
        "fx.purchase.request.v1", "fx.settlement.request.v1", "ecny.wallet-credit.request.v1",
        "redpacket.payout.request.v1",
    ]

    /// The facts of a message, or nil when no rule concerns its type.
    /// - Parameter envelope: The message.
    /// - Returns: The facts (with `problems` for what could not be read), or nil.
    public static func facts(of envelope: Envelope) -> MessageFacts? {
        switch envelope.type.value {
        case "payments.transfer.request.v1": transfer(envelope)
        case "payments.batch.request.v1": batch(envelope)
        case "accounts.transaction.booked.v1": booked(envelope)
        case "fx.purchase.request.v1": fx(envelope, kind: "purchase")
        case "fx.settlement.request.v1": fx(envelope, kind: "settlement")
        case "ecny.wallet-credit.request.v1": ecny(envelope)
        case "redpacket.payout.request.v1": redPacket(envelope)
        default: nil
        }
    }

    // MARK: payments

    static func transfer(_ envelope: Envelope) -> MessageFacts {
        var reader = Reader(envelope.data)
        var facts = MessageFacts()
        let clientRequestID = reader.string("/clientRequestId")
        let channel = reader.optionalString("/channel") ?? "api"
        let debtor = reader.party("/debtor", defaultKind: .enterprise)
        let creditor = reader.party("/creditor", defaultKind: nil)
        let amount = reader.money("/amount")
        let customer = envelope.enterpriseID?.value ?? debtor.account
        if envelope.enterpriseID == nil {
            reader.problems.append(
                ValidationError(.missingField, pointer: "/enterpriseid", rule: "required",
                                message: "a transfer request names the payer's USCC in enterpriseid"))
        }
        facts.subjects = subjects(party: debtor, at: "/data/debtor") + subjects(party: creditor, at: "/data/creditor")
        if let uscc = envelope.enterpriseID?.value {
            facts.subjects.append(ScreeningSubject(field: .uscc, value: uscc, pointer: "/enterpriseid"))
        }
        if let amount, let customer, let clientRequestID {
            var payer = debtor
            payer.uscc = envelope.enterpriseID?.value
            facts.transactions.append(
                TransactionFact(
                    key: "transfer:\(customer):\(channel):\(clientRequestID)", customerID: customer,
                    customerKind: .enterprise, customerName: debtor.name, direction: .outflow, isCash: false,
                    amount: amount, crossBorder: reader.optionalBool("/crossBorder") ?? false,
                    occurredAt: envelope.time.date, debtor: payer, creditor: creditor, channel: channel,
                    purpose: reader.optionalString("/purpose"), documentedBasis: reader.optionalString("/documentedBasis"),
                    duplicateOverride: reader.optionalBool("/duplicateOverride") ?? false,
                    valueDate: reader.optionalString("/requestedExecutionDate"), isPaymentOrder: true, lineSequence: nil))
        }
        facts.problems = reader.problems
        facts.customerKey = customer
        return facts
    }

    static func batch(_ envelope: Envelope) -> MessageFacts {
        var reader = Reader(envelope.data)
        var facts = MessageFacts()
        let batchID = reader.string("/batchId")
        let channel = reader.optionalString("/channel") ?? "api"
        var payer = reader.party("/payer", defaultKind: .enterprise)
        payer.uscc = envelope.enterpriseID?.value
        let customer = envelope.enterpriseID?.value ?? payer.account
        if envelope.enterpriseID == nil {
            reader.problems.append(
                ValidationError(.missingField, pointer: "/enterpriseid", rule: "required",
                                message: "a batch request names the payer's USCC in enterpriseid"))
        }
        let purpose = reader.optionalString("/purpose")
        let basis = reader.optionalString("/documentedBasis")
        let valueDate = reader.optionalString("/requestedExecutionDate")
        let crossBorder = false
        facts.subjects = subjects(party: payer, at: "/data/payer")
        if let uscc = envelope.enterpriseID?.value {
            facts.subjects.append(ScreeningSubject(field: .uscc, value: uscc, pointer: "/enterpriseid"))
        }
        let lines = reader.array("/lines") ?? []
        for index in lines.indices {
            let base = "/lines/\(index)"
            var creditor = reader.party("\(base)/creditor", defaultKind: nil)
            if let idNumber = reader.optionalString("\(base)/idNumber") { creditor.idNumber = idNumber }
            let amount = reader.money("\(base)/amount")
            let sequence = reader.optionalInt("\(base)/sequence") ?? (index + 1)
            facts.subjects += subjects(party: creditor, at: "/data\(base)/creditor")
            if let idNumber = creditor.idNumber {
                facts.subjects.append(ScreeningSubject(field: .idNumber, value: idNumber, pointer: "/data\(base)/idNumber"))
            }
            if let amount, let customer, let batchID {
                facts.transactions.append(
                    TransactionFact(
                        key: "batch:\(customer):\(channel):\(batchID):\(sequence)", customerID: customer,
                        customerKind: .enterprise, customerName: payer.name, direction: .outflow, isCash: false,
                        amount: amount, crossBorder: crossBorder, occurredAt: envelope.time.date, debtor: payer,
                        creditor: creditor, channel: channel, purpose: purpose, documentedBasis: basis,
                        duplicateOverride: false, valueDate: valueDate, isPaymentOrder: true, lineSequence: sequence))
            }
        }
        facts.problems = reader.problems
        facts.customerKey = customer
        return facts
    }

    // MARK: provisional inputs

    static func booked(_ envelope: Envelope) -> MessageFacts {
        var reader = Reader(envelope.data)
        var facts = MessageFacts()
        let transactionID = reader.string("/transactionId")
        let customer = reader.party("/customer", defaultKind: nil)
        let customerID = reader.string("/customer/id")
        let kind = customer.kind
        if kind == nil { reader.require("/customer/kind") }
        let account = reader.string("/account")
        let agent = reader.optionalString("/agent")
        let direction = reader.enumeration("/direction", FlowDirection.self)
        let method = reader.oneOf("/method", ["cash", "transfer"])
        let amount = reader.money("/amount")
        var counterparty = reader.optionalPresent("/counterparty") ? reader.party("/counterparty", defaultKind: nil) : Party()
        if let id = reader.optionalString("/counterparty/id") {
            if (try? USCC(id)) != nil { counterparty.uscc = id } else { counterparty.idNumber = id }
        }
        var own = Party(name: customer.name, account: account, agent: agent, kind: kind)
        if let customerID {
            if kind == .enterprise { own.uscc = customerID } else { own.idNumber = customerID }
        }
        let occurred = reader.optionalString("/bookedAt").flatMap { try? Timestamp(rfc3339: $0).date }
            ?? envelope.time.date
        facts.subjects = subjects(party: own, at: "/data/customer") + subjects(party: counterparty, at: "/data/counterparty")
        if let customerID, let kind {
            facts.subjects.append(
                ScreeningSubject(field: kind == .enterprise ? .uscc : .idNumber, value: customerID, pointer: "/data/customer/id"))
        }
        if let transactionID, let customerID, let kind, let direction, let method, let amount {
            facts.transactions.append(
                TransactionFact(
                    key: "booked:\(customerID):\(transactionID)", customerID: customerID, customerKind: kind,
                    customerName: customer.name, direction: direction, isCash: method == "cash", amount: amount,
                    crossBorder: reader.optionalBool("/crossBorder") ?? false, occurredAt: occurred,
                    debtor: direction == .outflow ? own : counterparty, creditor: direction == .outflow ? counterparty : own,
                    channel: reader.optionalString("/channel"), purpose: reader.optionalString("/purpose"),
                    documentedBasis: nil, duplicateOverride: false, valueDate: nil, isPaymentOrder: false, lineSequence: nil))
        }
        facts.problems = reader.problems
        facts.customerKey = customerID
        return facts
    }

    static func fx(_ envelope: Envelope, kind: String) -> MessageFacts {
        var reader = Reader(envelope.data)
        var facts = MessageFacts()
        _ = reader.string("/requestId")
        var person = reader.party("/person", defaultKind: .person)
        person.idNumber = reader.string("/person/idNumber")
        let amount = reader.money("/amount")
        let usd = reader.optionalPresent("/usdEquivalent") ? reader.money("/usdEquivalent") : nil
        if let usd, usd.currency != .usd {
            reader.problems.append(
                ValidationError(.invalidValue, pointer: "/data/usdEquivalent/currency", rule: "R-FX-2",
                                message: "usdEquivalent must be in USD"))
        }
        let used = reader.decimalString("/usedThisYearUSD")
        facts.subjects = subjects(party: person, at: "/data/person")
        if let idNumber = person.idNumber {
            facts.subjects.append(ScreeningSubject(field: .idNumber, value: idNumber, pointer: "/data/person/idNumber"))
        }
        if let amount, let used {
            let requestUSD: Decimal? = amount.currency == .usd ? amount.amount : usd?.amount
            facts.fx = FXQuotaFact(kind: kind, person: person, requestUSD: requestUSD, amount: amount, usedUSD: used)
        }
        facts.problems = reader.problems
        facts.customerKey = person.idNumber
        return facts
    }

    static func ecny(_ envelope: Envelope) -> MessageFacts {
        var reader = Reader(envelope.data)
        var facts = MessageFacts()
        _ = reader.string("/creditId")
        let wallet = Party(wallet: reader.string("/wallet"), walletOperator: reader.optionalString("/walletOperator"))
        let tier = reader.optionalInt("/tier")
        if tier == nil || !(1...4).contains(tier!) {
            reader.problems.append(
                ValidationError(.invalidValue, pointer: "/data/tier", rule: "R-ECNY-1", message: "tier must be 1–4"))
        }
        let balance = reader.money("/balance", allowZero: true)
        let amount = reader.money("/amount")
        if let tier, (1...4).contains(tier), let balance, let amount {
            facts.ecnyCredit = ECNYCreditFact(wallet: wallet, tier: tier, balance: balance, amount: amount)
        }
        facts.problems = reader.problems
        facts.customerKey = wallet.wallet
        return facts
    }

    static func redPacket(_ envelope: Envelope) -> MessageFacts {
        var reader = Reader(envelope.data)
        var facts = MessageFacts()
        _ = reader.string("/payoutId")
        var recipient = Party(name: reader.optionalString("/recipient/name"), kind: .person)
        recipient.idNumber = reader.optionalString("/recipient/idNumber")
        let kind = reader.oneOf("/recipient/kind", ["non-employee", "employee"])
        let amount = reader.money("/amount")
        let tax = reader.money("/taxWithheld", allowZero: true)
        if let kind, let amount, let tax {
            facts.redPacket = RedPacketFact(
                recipient: recipient, recipientIsEmployee: kind == "employee", amount: amount, taxWithheld: tax,
                payerBorne: reader.optionalBool("/payerBorne") ?? false)
        }
        facts.problems = reader.problems
        facts.customerKey = envelope.enterpriseID?.value
        return facts
    }

    // MARK: Helpers

    static func subjects(party: Party, at pointer: String) -> [ScreeningSubject] {
        var result: [ScreeningSubject] = []
        if let name = party.name { result.append(ScreeningSubject(field: .name, value: name, pointer: "\(pointer)/name")) }
        if let agent = party.agent, (try? BIC(agent)) != nil {
            result.append(ScreeningSubject(field: .bic, value: agent, pointer: "\(pointer)/agent"))
        }
        return result
    }
}

/// Tolerant reading of a payload: every missing or malformed value becomes a problem with its pointer (under
/// `/data`), and reading goes on, so one message yields every problem at once.
struct Reader {
    let data: JSONObject
    var problems: [ValidationError] = []

    init(_ data: JSONObject) { self.data = data }

    func value(_ pointer: String) -> JSONValue? {
        var current: JSONValue = .object(data)
        for token in pointer.split(separator: "/", omittingEmptySubsequences: true) {
            if let index = Int(token), let array = current.arrayValue {
                guard index >= 0, index < array.count else { return nil }
                current = array[index]
            } else if let next = current[String(token)] {
                current = next
            } else {
                return nil
            }
        }
        return current
    }

    func optionalPresent(_ pointer: String) -> Bool {
        if let value = value(pointer), value != .null { return true }
        return false
    }

    mutating func require(_ pointer: String) {
        problems.append(ValidationError(.missingField, pointer: "/data\(pointer)", rule: "required", message: "required"))
    }

    mutating func string(_ pointer: String) -> String? {
        guard let value = value(pointer) else {
            require(pointer)
            return nil
        }
        guard let text = value.stringValue, !text.isEmpty else {
            problems.append(ValidationError(.wrongType, pointer: "/data\(pointer)", rule: "type", message: "must be a non-empty string"))
            return nil
        }
        return text
    }

    mutating func optionalString(_ pointer: String) -> String? {
        guard let value = value(pointer), value != .null else { return nil }
        guard let text = value.stringValue else {
            problems.append(ValidationError(.wrongType, pointer: "/data\(pointer)", rule: "type", message: "must be a string"))
            return nil
        }
        return text
    }

    mutating func optionalBool(_ pointer: String) -> Bool? {
        guard let value = value(pointer), value != .null else { return nil }
        guard case .bool(let flag) = value else {
            problems.append(ValidationError(.wrongType, pointer: "/data\(pointer)", rule: "type", message: "must be a boolean"))
            return nil
        }
        return flag
    }

    mutating func optionalInt(_ pointer: String) -> Int? {
        guard let value = value(pointer), value != .null else { return nil }
        guard case .number(let number) = value, let int = number.intValue else {
            problems.append(ValidationError(.wrongType, pointer: "/data\(pointer)", rule: "type", message: "must be an integer"))
            return nil
        }
        return int
    }

    mutating func array(_ pointer: String) -> [JSONValue]? {
        guard let value = value(pointer) else {
            require(pointer)
            return nil
        }
        guard let array = value.arrayValue else {
            problems.append(ValidationError(.wrongType, pointer: "/data\(pointer)", rule: "type", message: "must be an array"))
            return nil
        }
        return array
    }

    mutating func oneOf(_ pointer: String, _ allowed: [String]) -> String? {
        guard let text = string(pointer) else { return nil }
        guard allowed.contains(text) else {
            problems.append(
                ValidationError(.invalidValue, pointer: "/data\(pointer)", rule: "enum",
                                message: "must be one of \(allowed.joined(separator: ", "))"))
            return nil
        }
        return text
    }

    mutating func enumeration<E: RawRepresentable>(_ pointer: String, _ type: E.Type) -> E? where E.RawValue == String {
        guard let text = string(pointer) else { return nil }
        guard let value = E(rawValue: text) else {
            problems.append(ValidationError(.invalidValue, pointer: "/data\(pointer)", rule: "enum", message: "unknown value"))
            return nil
        }
        return value
    }

    mutating func decimalString(_ pointer: String) -> Decimal? {
        guard let text = string(pointer) else { return nil }
        guard let value = DecimalText.parse(text), value >= 0 else {
            problems.append(
                ValidationError(.invalidFormat, pointer: "/data\(pointer)", rule: "R-GEN-3", message: "must be a decimal string"))
            return nil
        }
        return value
    }

    /// `{"value": "1250.00", "currency": "CNY"}` (the payments interface); `amount` is accepted for `value`.
    mutating func money(_ pointer: String, allowZero: Bool = false) -> Money? {
        guard let object = value(pointer) else {
            require(pointer)
            return nil
        }
        guard object.objectValue != nil else {
            problems.append(ValidationError(.wrongType, pointer: "/data\(pointer)", rule: "type", message: "must be an amount object"))
            return nil
        }
        let valuePointer = object["value"] != nil ? "\(pointer)/value" : "\(pointer)/amount"
        guard let text = string(valuePointer), let currency = string("\(pointer)/currency") else { return nil }
        do {
            let money = try Money(string: text, currencyCode: currency)
            guard !money.isNegative, allowZero || !money.isZero else {
                problems.append(
                    ValidationError(.outOfRange, pointer: "/data\(valuePointer)", rule: "R-GEN-3", message: "must be positive"))
                return nil
            }
            return money
        } catch {
            problems.append(error.under("/data\(pointer)"))
            return nil
        }
    }

    mutating func party(_ pointer: String, defaultKind: CustomerKind?) -> Party {
        guard value(pointer)?.objectValue != nil else {
            require(pointer)
            return Party()
        }
        var party = Party()
        party.name = optionalString("\(pointer)/name")
        party.account = optionalString("\(pointer)/account")
        party.agent = optionalString("\(pointer)/agent")
        party.wallet = optionalString("\(pointer)/wallet")
        party.walletOperator = optionalString("\(pointer)/walletOperator")
        if let kind = optionalString("\(pointer)/kind") {
            if let parsed = CustomerKind(rawValue: kind) {
                party.kind = parsed
            } else {
                problems.append(
                    ValidationError(.invalidValue, pointer: "/data\(pointer)/kind", rule: "enum", message: "must be enterprise or person"))
            }
        } else {
            party.kind = defaultKind
        }
        return party
    }
}
