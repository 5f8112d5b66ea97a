public import Foundation
public import HubCore

/// Whether a customer is a natural person or not (R-AML-2 vs R-AML-3/4).
public enum CustomerKind: String, Sendable, Hashable {
    /// A non-natural person: an enterprise, an institution (`kind: "enterprise"` on the wire).
    case enterprise
    /// A natural person (`kind: "person"`).
    case person
}

/// The direction of a flow seen from the customer: inflows and outflows are summed separately, never netted
/// (R-AML-5).
public enum FlowDirection: String, Sendable, Hashable {
    /// Money in.
    case inflow = "in"
    /// Money out.
    case outflow = "out"
}

/// A party of a transaction as the message names it. Values are kept as given; they leave this module only in
/// R-AML-8 reports (which must carry them) and are masked everywhere else.
public struct Party: Sendable, Hashable {
    /// The name.
    public var name: String?
    /// The account number.
    public var account: String?
    /// The bank (CNAPS code or BIC).
    public var agent: String?
    /// The e-CNY wallet id.
    public var wallet: String?
    /// The e-CNY operator.
    public var walletOperator: String?
    /// Enterprise or person.
    public var kind: CustomerKind?
    /// The USCC (enterprises).
    public var uscc: String?
    /// The resident ID number (persons).
    public var idNumber: String?

    /// Creates a party.
    public init(
        name: String? = nil, account: String? = nil, agent: String? = nil, wallet: String? = nil,
        walletOperator: String? = nil, kind: CustomerKind? = nil, uscc: String? = nil, idNumber: String? = nil
    ) {
        self.name = name
        self.account = account
        self.agent = agent
        self.wallet = wallet
        self.walletOperator = walletOperator
        self.kind = kind
        self.uscc = uscc
        self.idNumber = idNumber
    }

    /// A stable key for the counterparty (account at agent, or wallet at operator).
    var counterpartyKey: String? {
        if let account { return "acct:\(agent ?? "")/\(account)" }
        if let wallet { return "wallet:\(walletOperator ?? "")/\(wallet)" }
        return nil
    }

    /// The party as a JSON object (R-AML-8 data elements); absent values are omitted.
    var jsonValue: JSONValue {
        var object = JSONObject()
        if let name { object["name"] = .string(name) }
        if let kind { object["kind"] = .string(kind.rawValue) }
        if let uscc { object["uscc"] = .string(uscc) }
        if let idNumber { object["idNumber"] = .string(idNumber) }
        if let account { object["account"] = .string(account) }
        if let agent { object["agent"] = .string(agent) }
        if let wallet { object["wallet"] = .string(wallet) }
        if let walletOperator { object["walletOperator"] = .string(walletOperator) }
        return .object(object)
    }
}

/// One money movement of a customer, as the rules see it.
public struct TransactionFact: Sendable, Hashable {
    /// Identifies the movement across resubmissions (e.g. `transfer:<uscc>:<channel>:<clientRequestId>`), so that a
    /// repeated request never counts twice towards a total.
    public var key: String
    /// The customer: a USCC, a resident ID or, failing both, an account.
    public var customerID: String
    /// Enterprise or person.
    public var customerKind: CustomerKind
    /// The customer's name.
    public var customerName: String?
    /// In or out.
    public var direction: FlowDirection
    /// Cash (R-AML-1) or an account transfer.
    public var isCash: Bool
    /// The amount.
    public var amount: Money
    /// Cross-border (R-AML-4).
    public var crossBorder: Bool
    /// When it happened.
    public var occurredAt: Date
    /// The paying party.
    public var debtor: Party
    /// The receiving party.
    public var creditor: Party
    /// The channel (`api`, `counter`, …).
    public var channel: String?
    /// The purpose.
    public var purpose: String?
    /// R-PAY-8's documented basis.
    public var documentedBasis: String?
    /// R-PAY-5's explicit override.
    public var duplicateOverride: Bool
    /// The value date (`YYYY-MM-DD`, Asia/Shanghai), if requested.
    public var valueDate: String?
    /// Whether this is a payment a domain service will execute (transfer and batch requests): R-PAY-5 and R-PAY-8
    /// apply.
    public var isPaymentOrder: Bool
    /// The batch line, if any.
    public var lineSequence: Int?

    /// The large-value criterion this movement counts towards.
    public var criterion: LargeValueCriterion {
        if isCash { return .cash }
        switch customerKind {
        case .enterprise: return .legalPersonTransfer
        case .person: return crossBorder ? .naturalPersonCrossBorder : .naturalPersonDomestic
        }
    }
}

/// R-FX-2: an individual's FX purchase or settlement request.
public struct FXQuotaFact: Sendable, Hashable {
    /// `purchase` (购汇) or `settlement` (结汇): separate quotas.
    public var kind: String
    /// The person.
    public var person: Party
    /// The request in USD (given, or converted with the configured rate).
    public var requestUSD: Decimal?
    /// The amount as requested.
    public var amount: Money
    /// The quota already used this calendar year in USD (SAFE's figure, queried by the bank).
    public var usedUSD: Decimal

    /// Creates the fact.
    public init(kind: String, person: Party, requestUSD: Decimal?, amount: Money, usedUSD: Decimal) {
        self.kind = kind
        self.person = person
        self.requestUSD = requestUSD
        self.amount = amount
        self.usedUSD = usedUSD
    }
}

/// R-ECNY-1: a credit to an e-CNY wallet.
public struct ECNYCreditFact: Sendable, Hashable {
    /// The wallet.
    public var wallet: Party
    /// The wallet's real-name tier (1–4).
    public var tier: Int
    /// The balance before the credit.
    public var balance: Money
    /// The credit.
    public var amount: Money

    /// Creates the fact.
    public init(wallet: Party, tier: Int, balance: Money, amount: Money) {
        self.wallet = wallet
        self.tier = tier
        self.balance = balance
        self.amount = amount
    }
}

/// R-TAX-3/4/5: a red-packet payout.
public struct RedPacketFact: Sendable, Hashable {
    /// The recipient.
    public var recipient: Party
    /// Whether the recipient is an employee (wages, R-TAX-5) rather than a non-employee (incidental income).
    public var recipientIsEmployee: Bool
    /// The amount paid (the net amount when the payer bears the tax).
    public var amount: Money
    /// The tax the payer says it withheld (or bears).
    public var taxWithheld: Money
    /// The payer bears the tax on top of the net amount.
    public var payerBorne: Bool

    /// Creates the fact.
    public init(recipient: Party, recipientIsEmployee: Bool, amount: Money, taxWithheld: Money, payerBorne: Bool) {
        self.recipient = recipient
        self.recipientIsEmployee = recipientIsEmployee
        self.amount = amount
        self.taxWithheld = taxWithheld
        self.payerBorne = payerBorne
    }
}

/// A name or identifier to screen against watchlists (R-AML-9), with where it came from.
public struct ScreeningSubject: Sendable, Hashable {
    /// What kind of value it is.
    public enum Field: String, Sendable, Hashable {
        /// A party's name.
        case name
        /// A USCC.
        case uscc
        /// A resident ID number.
        case idNumber
        /// A BIC.
        case bic
    }

    /// The field.
    public var field: Field
    /// The value.
    public var value: String
    /// A JSON pointer to it in the message.
    public var pointer: String

    /// Creates a subject.
    public init(field: Field, value: String, pointer: String) {
        self.field = field
        self.value = value
        self.pointer = pointer
    }
}

/// Everything the rules need from one message.
public struct MessageFacts: Sendable {
    /// Money movements.
    public var transactions: [TransactionFact] = []
    /// An FX quota request.
    public var fx: FXQuotaFact?
    /// An e-CNY wallet credit.
    public var ecnyCredit: ECNYCreditFact?
    /// A red-packet payout.
    public var redPacket: RedPacketFact?
    /// Values to screen.
    public var subjects: [ScreeningSubject] = []
    /// What could not be read (pointer and rule): the message is then held if screened, and a finding says why.
    public var problems: [ValidationError] = []
    /// The key that keeps one customer's messages in order (the runtime lane).
    public var customerKey: String?
}
