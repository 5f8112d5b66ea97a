import Foundation
public import HubCore

// Payloads of the interbank and e-CNY adapters' commands and events (contracts/schemas/interbank/…,
// contracts/schemas/ecny/…, contracts/schemas/accounts/…). Decoding validates every field, so the contract checker
// proves the Swift side refuses what the schemas refuse, and the adapters decode with the same types.

/// An amount on the adapters' wire: `{"value": "1250.00", "currency": "CNY"}` (decimal string, R-GEN-3).
public struct AmountValue: Sendable, Hashable, Codable {
    /// The exact money.
    public var money: Money

    /// Wraps money.
    /// - Parameter money: The amount.
    public init(_ money: Money) { self.money = money }

    private enum CodingKeys: String, CodingKey { case value, currency }

    /// Decodes `{"value", "currency"}`; the value must be a string with at most the currency's minor units.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` whose underlying error is a `ValidationError` at `/value`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try container.decode(CurrencyCode.self, forKey: .currency)
        let value = try container.decode(String.self, forKey: .value)
        do {
            money = try Money(string: value, currency: currency)
        } catch {
            throw DecodingError.dataCorrupted(.init(
                codingPath: container.codingPath + [CodingKeys.value], debugDescription: error.description,
                underlyingError: error))
        }
        guard money.amount > 0 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: container.codingPath + [CodingKeys.value], debugDescription: "not positive",
                underlyingError: ValidationError(
                    .outOfRange, rule: "amount-positive", message: "the amount must be greater than zero")))
        }
    }

    /// Encodes `{"value": "<canonical>", "currency": "<code>"}`.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(money.amountString, forKey: .value)
        try container.encode(money.currency, forKey: .currency)
    }

    /// The JSON form.
    public var jsonValue: JSONValue {
        ["value": .string(money.amountString), "currency": .string(money.currency.code)]
    }
}

/// Field checks shared by the adapter payloads.
public enum AdapterFields {
    /// ISO 20022 Max35Text as the hub sends it: 1–35 characters of `[A-Za-z0-9/-?:().,'+ ]`, not starting with a
    /// space (R-PAY-2).
    public static func isMax35Reference(_ text: String) -> Bool {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-?:().,'+ ")
        return (1...35).contains(text.count) && text.first != " " && text.allSatisfy { allowed.contains($0) }
    }

    /// Whether `text` is a lowercase UUID of version 4 (a UETR).
    public static func isUETR(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36, text == text.lowercased(), UUID(uuidString: text) != nil else { return false }
        return bytes[14] == UInt8(ascii: "4") && [UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(bytes[19])
    }

    /// Whether `text` is a lowercase canonical UUID.
    public static func isLowercaseUUID(_ text: String) -> Bool {
        text.utf8.count == 36 && text == text.lowercased() && UUID(uuidString: text) != nil
    }

    /// Whether `text` is a real calendar date `YYYY-MM-DD` (R-GEN-4: a calendar date, no zone).
    public static func isCalendarDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1
        else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// Whether `text` is 1…`maximum` characters with no control characters.
    public static func isText(_ text: String, maximum: Int) -> Bool {
        (1...maximum).contains(text.count) && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    static func corrupted(_ key: some CodingKey, in container: some KeyedDecodingContainerProtocol, _ error: ValidationError) -> DecodingError {
        DecodingError.dataCorrupted(.init(
            codingPath: container.codingPath + [key], debugDescription: error.description, underlyingError: error))
    }
}

/// A party on an interbank rail: name, account and the account bank's CNAPS code.
public struct InterbankParty: Sendable, Hashable, Codable {
    /// The account holder's name (1–140 characters).
    public var name: String
    /// The account (masked in logs).
    public var account: AccountNumber
    /// The account bank's CNAPS code.
    public var agent: CNAPSCode

    /// Creates a party.
    /// - Parameters:
    ///   - name: The holder's name.
    ///   - account: The account.
    ///   - agent: The bank's CNAPS code.
    public init(name: String, account: AccountNumber, agent: CNAPSCode) {
        self.name = name
        self.account = account
        self.agent = agent
    }

    private enum CodingKeys: String, CodingKey { case name, account, agent }

    /// Decodes and validates the party.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the member.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        guard AdapterFields.isText(name, maximum: 140) else {
            throw AdapterFields.corrupted(CodingKeys.name, in: container, ValidationError(
                .invalidValue, rule: "Max140Text", message: "a name is 1 to 140 characters without control characters"))
        }
        account = try container.decode(AccountNumber.self, forKey: .account)
        agent = try container.decode(CNAPSCode.self, forKey: .agent)
    }
}

/// The interbank rail.
public enum InterbankRail: String, Sendable, Hashable, Codable, CaseIterable {
    /// 大额实时支付系统.
    case hvps = "HVPS"
    /// 小额批量支付系统.
    case beps = "BEPS"
    /// 超级网银.
    case ibps = "IBPS"
}

/// `interbank.credit-transfer.submit.v1`: payments asks the interbank adapter to send one pacs.008.
public struct CreditTransferSubmit: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "interbank.credit-transfer.submit.v1"
    /// The transfer (chosen by payments); the adapter's idempotency key.
    public var transferId: String
    /// The UETR (UUIDv4, lowercase), R-PAY-2.
    public var uetr: String
    /// The end-to-end id (≤ 35).
    public var endToEndId: String
    /// The instruction id (≤ 35).
    public var instructionId: String
    /// The rail.
    public var rail: InterbankRail
    /// The interbank settlement date (Asia/Shanghai calendar date).
    public var settlementDate: String
    /// The amount.
    public var amount: AmountValue
    /// The payer.
    public var debtor: InterbankParty
    /// The payee.
    public var creditor: InterbankParty
    /// Unstructured remittance information (≤ 140).
    public var remittanceInformation: String?
    /// The purpose (an ISO external purpose code such as `SUPP`, or text ≤ 35).
    public var purpose: String?

    private enum CodingKeys: String, CodingKey {
        case transferId, uetr, endToEndId, instructionId, rail, settlementDate, amount, debtor, creditor
        case remittanceInformation, purpose
    }

    /// Creates a submit payload.
    public init(
        transferId: String, uetr: String, endToEndId: String, instructionId: String, rail: InterbankRail,
        settlementDate: String, amount: Money, debtor: InterbankParty, creditor: InterbankParty,
        remittanceInformation: String? = nil, purpose: String? = nil
    ) {
        self.transferId = transferId
        self.uetr = uetr
        self.endToEndId = endToEndId
        self.instructionId = instructionId
        self.rail = rail
        self.settlementDate = settlementDate
        self.amount = AmountValue(amount)
        self.debtor = debtor
        self.creditor = creditor
        self.remittanceInformation = remittanceInformation
        self.purpose = purpose
    }

    /// Decodes and validates every member.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the member (its underlying `ValidationError` names the rule).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transferId = try c.decode(String.self, forKey: .transferId)
        guard AdapterFields.isLowercaseUUID(transferId) else {
            throw AdapterFields.corrupted(CodingKeys.transferId, in: c, ValidationError(
                .invalidFormat, rule: "uuid", message: "transferId is a lowercase UUID"))
        }
        uetr = try c.decode(String.self, forKey: .uetr)
        guard AdapterFields.isUETR(uetr) else {
            throw AdapterFields.corrupted(CodingKeys.uetr, in: c, ValidationError(
                .invalidFormat, rule: "R-PAY-2", message: "uetr is a lowercase UUID of version 4"))
        }
        endToEndId = try c.decode(String.self, forKey: .endToEndId)
        guard AdapterFields.isMax35Reference(endToEndId) else {
            throw AdapterFields.corrupted(CodingKeys.endToEndId, in: c, ValidationError(
                .invalidFormat, rule: "R-PAY-2", message: "endToEndId is 1 to 35 characters of the ISO 20022 set"))
        }
        instructionId = try c.decode(String.self, forKey: .instructionId)
        guard AdapterFields.isMax35Reference(instructionId) else {
            throw AdapterFields.corrupted(CodingKeys.instructionId, in: c, ValidationError(
                .invalidFormat, rule: "R-PAY-2", message: "instructionId is 1 to 35 characters of the ISO 20022 set"))
        }
        rail = try c.decode(InterbankRail.self, forKey: .rail)
        settlementDate = try c.decode(String.self, forKey: .settlementDate)
        guard AdapterFields.isCalendarDate(settlementDate) else {
            throw AdapterFields.corrupted(CodingKeys.settlementDate, in: c, ValidationError(
                .invalidFormat, rule: "R-GEN-4", message: "settlementDate is a real calendar date YYYY-MM-DD"))
        }
        amount = try c.decode(AmountValue.self, forKey: .amount)
        guard amount.money.currency.code == "CNY" else {
            throw AdapterFields.corrupted(CodingKeys.amount, in: c, ValidationError(
                .currencyMismatch, rule: "CNAPS-currency", message: "HVPS, BEPS and IBPS settle CNY only"))
        }
        debtor = try c.decode(InterbankParty.self, forKey: .debtor)
        creditor = try c.decode(InterbankParty.self, forKey: .creditor)
        remittanceInformation = try c.decodeIfPresent(String.self, forKey: .remittanceInformation)
        if let text = remittanceInformation, !AdapterFields.isText(text, maximum: 140) {
            throw AdapterFields.corrupted(CodingKeys.remittanceInformation, in: c, ValidationError(
                .invalidValue, rule: "Max140Text", message: "remittanceInformation is 1 to 140 characters"))
        }
        purpose = try c.decodeIfPresent(String.self, forKey: .purpose)
        if let text = purpose, !AdapterFields.isText(text, maximum: 35) {
            throw AdapterFields.corrupted(CodingKeys.purpose, in: c, ValidationError(
                .invalidValue, rule: "Max35Text", message: "purpose is 1 to 35 characters"))
        }
    }
}

/// `interbank.credit-transfer.status-query.v1`: payments asks for the status of a transfer it submitted.
public struct CreditTransferStatusQuery: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "interbank.credit-transfer.status-query.v1"
    /// The transfer.
    public var transferId: String
    /// Its UETR.
    public var uetr: String
    /// Its end-to-end id.
    public var endToEndId: String

    private enum CodingKeys: String, CodingKey { case transferId, uetr, endToEndId }

    /// Creates a query.
    public init(transferId: String, uetr: String, endToEndId: String) {
        self.transferId = transferId
        self.uetr = uetr
        self.endToEndId = endToEndId
    }

    /// Decodes and validates.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the member.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transferId = try c.decode(String.self, forKey: .transferId)
        guard AdapterFields.isLowercaseUUID(transferId) else {
            throw AdapterFields.corrupted(CodingKeys.transferId, in: c, ValidationError(
                .invalidFormat, rule: "uuid", message: "transferId is a lowercase UUID"))
        }
        uetr = try c.decode(String.self, forKey: .uetr)
        guard AdapterFields.isUETR(uetr) else {
            throw AdapterFields.corrupted(CodingKeys.uetr, in: c, ValidationError(
                .invalidFormat, rule: "R-PAY-2", message: "uetr is a lowercase UUID of version 4"))
        }
        endToEndId = try c.decode(String.self, forKey: .endToEndId)
        guard AdapterFields.isMax35Reference(endToEndId) else {
            throw AdapterFields.corrupted(CodingKeys.endToEndId, in: c, ValidationError(
                .invalidFormat, rule: "R-PAY-2", message: "endToEndId is 1 to 35 characters of the ISO 20022 set"))
        }
    }
}

/// `interbank.account-report.request.v1`: fetch another bank's account report (他行账户信息查询) as camt.052
/// (`intraday`) or camt.053 (`statement`).
public struct AccountReportRequest: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "interbank.account-report.request.v1"
    /// Which report.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// camt.052, balances and entries so far today.
        case intraday
        /// camt.053, the statement of a closed business day.
        case statement
    }

    /// A request id chosen by the requester (≤ 35); the adapter's idempotency key.
    public var requestId: String
    /// The account.
    public var account: AccountNumber
    /// The account bank's CNAPS code.
    public var agent: CNAPSCode
    /// Intraday or statement.
    public var kind: Kind
    /// The business date (Asia/Shanghai).
    public var date: String

    private enum CodingKeys: String, CodingKey { case requestId, account, agent, kind, date }

    /// Creates a request.
    public init(requestId: String, account: AccountNumber, agent: CNAPSCode, kind: Kind, date: String) {
        self.requestId = requestId
        self.account = account
        self.agent = agent
        self.kind = kind
        self.date = date
    }

    /// Decodes and validates.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the member.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requestId = try c.decode(String.self, forKey: .requestId)
        guard AdapterFields.isMax35Reference(requestId) else {
            throw AdapterFields.corrupted(CodingKeys.requestId, in: c, ValidationError(
                .invalidFormat, rule: "R-PAY-2", message: "requestId is 1 to 35 characters of the ISO 20022 set"))
        }
        account = try c.decode(AccountNumber.self, forKey: .account)
        agent = try c.decode(CNAPSCode.self, forKey: .agent)
        kind = try c.decode(Kind.self, forKey: .kind)
        date = try c.decode(String.self, forKey: .date)
        guard AdapterFields.isCalendarDate(date) else {
            throw AdapterFields.corrupted(CodingKeys.date, in: c, ValidationError(
                .invalidFormat, rule: "R-GEN-4", message: "date is a real calendar date YYYY-MM-DD"))
        }
    }
}

/// `ecny.transfer.submit.v1`: payments asks the e-CNY adapter to move money to a wallet.
public struct ECNYTransferSubmit: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "ecny.transfer.submit.v1"
    /// A bank account funding the payment (instead of a payer wallet).
    public struct PayerAccount: Sendable, Hashable, Codable {
        /// The account.
        public var account: AccountNumber
        /// Its bank.
        public var agent: CNAPSCode
        /// Creates it.
        public init(account: AccountNumber, agent: CNAPSCode) {
            self.account = account
            self.agent = agent
        }
    }

    /// The transfer (chosen by payments); the adapter's idempotency key.
    public var transferId: String
    /// The payer's wallet id (16 digits), or nil with `payerAccount`.
    public var payerWallet: String?
    /// The payer's bank account, or nil with `payerWallet`.
    public var payerAccount: PayerAccount?
    /// The payee's wallet id (16 digits).
    public var payeeWallet: String
    /// The payee wallet's operator code, e.g. `ICBC`.
    public var payeeOperator: String
    /// The amount (CNY).
    public var amount: AmountValue
    /// The purpose.
    public var purpose: String?
    /// The paying enterprise's USCC (R-ECNY-2).
    public var enterpriseId: USCC
    /// Who authorised the payment at the enterprise (R-ECNY-2).
    public var authoriser: String?

    private enum CodingKeys: String, CodingKey {
        case transferId, payerWallet, payerAccount, payeeWallet, payeeOperator, amount, purpose, enterpriseId, authoriser
    }

    /// Creates a submit payload.
    public init(
        transferId: String, payerWallet: String? = nil, payerAccount: PayerAccount? = nil, payeeWallet: String,
        payeeOperator: String, amount: Money, purpose: String? = nil, enterpriseId: USCC, authoriser: String? = nil
    ) {
        self.transferId = transferId
        self.payerWallet = payerWallet
        self.payerAccount = payerAccount
        self.payeeWallet = payeeWallet
        self.payeeOperator = payeeOperator
        self.amount = AmountValue(amount)
        self.purpose = purpose
        self.enterpriseId = enterpriseId
        self.authoriser = authoriser
    }

    /// Whether `text` is an e-CNY wallet id: 16 digits.
    public static func isWalletID(_ text: String) -> Bool {
        text.utf8.count == 16 && text.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// Whether `text` is an operator code: 2–16 uppercase letters or digits.
    public static func isOperatorCode(_ text: String) -> Bool {
        (2...16).contains(text.utf8.count) && text.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// Decodes and validates.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the member.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transferId = try c.decode(String.self, forKey: .transferId)
        guard AdapterFields.isLowercaseUUID(transferId) else {
            throw AdapterFields.corrupted(CodingKeys.transferId, in: c, ValidationError(
                .invalidFormat, rule: "uuid", message: "transferId is a lowercase UUID"))
        }
        payerWallet = try c.decodeIfPresent(String.self, forKey: .payerWallet)
        if let wallet = payerWallet, !Self.isWalletID(wallet) {
            throw AdapterFields.corrupted(CodingKeys.payerWallet, in: c, ValidationError(
                .invalidFormat, rule: "R-ECNY-2", message: "a wallet id is 16 digits"))
        }
        payerAccount = try c.decodeIfPresent(PayerAccount.self, forKey: .payerAccount)
        guard (payerWallet == nil) != (payerAccount == nil) else {
            throw AdapterFields.corrupted(CodingKeys.payerWallet, in: c, ValidationError(
                .invalidValue, rule: "R-ECNY-2", message: "exactly one of payerWallet and payerAccount is required"))
        }
        payeeWallet = try c.decode(String.self, forKey: .payeeWallet)
        guard Self.isWalletID(payeeWallet) else {
            throw AdapterFields.corrupted(CodingKeys.payeeWallet, in: c, ValidationError(
                .invalidFormat, rule: "R-ECNY-2", message: "a wallet id is 16 digits"))
        }
        payeeOperator = try c.decode(String.self, forKey: .payeeOperator)
        guard Self.isOperatorCode(payeeOperator) else {
            throw AdapterFields.corrupted(CodingKeys.payeeOperator, in: c, ValidationError(
                .invalidFormat, rule: "R-ECNY-2", message: "an operator code is 2 to 16 uppercase letters or digits"))
        }
        amount = try c.decode(AmountValue.self, forKey: .amount)
        guard amount.money.currency.code == "CNY" else {
            throw AdapterFields.corrupted(CodingKeys.amount, in: c, ValidationError(
                .currencyMismatch, rule: "R-ECNY-2", message: "e-CNY amounts are CNY"))
        }
        purpose = try c.decodeIfPresent(String.self, forKey: .purpose)
        if let text = purpose, !AdapterFields.isText(text, maximum: 35) {
            throw AdapterFields.corrupted(CodingKeys.purpose, in: c, ValidationError(
                .invalidValue, rule: "Max35Text", message: "purpose is 1 to 35 characters"))
        }
        enterpriseId = try c.decode(USCC.self, forKey: .enterpriseId)
        authoriser = try c.decodeIfPresent(String.self, forKey: .authoriser)
        if let text = authoriser, !AdapterFields.isText(text, maximum: 70) {
            throw AdapterFields.corrupted(CodingKeys.authoriser, in: c, ValidationError(
                .invalidValue, rule: "R-ECNY-2", message: "authoriser is 1 to 70 characters"))
        }
    }
}

/// `ecny.transfer.status-query.v1`: payments asks for the state of an e-CNY transfer.
public struct ECNYStatusQuery: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "ecny.transfer.status-query.v1"
    /// The transfer.
    public var transferId: String

    private enum CodingKeys: String, CodingKey { case transferId }

    /// Creates a query.
    public init(transferId: String) { self.transferId = transferId }

    /// Decodes and validates.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the member.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transferId = try c.decode(String.self, forKey: .transferId)
        guard AdapterFields.isLowercaseUUID(transferId) else {
            throw AdapterFields.corrupted(CodingKeys.transferId, in: c, ValidationError(
                .invalidFormat, rule: "uuid", message: "transferId is a lowercase UUID"))
        }
    }
}


/// `interbank.credit-transfer.status-reported.v1`: the bank's pacs.002 status of a transfer (for payments).
public struct CreditTransferStatusReported: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "interbank.credit-transfer.status-reported.v1"
    /// The statuses of the interface: final ACSC/ACCC (settled) and RJCT (failed); the others are in progress.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case acsc = "ACSC", accc = "ACCC", acsp = "ACSP", accp = "ACCP", actc = "ACTC", pdng = "PDNG", rjct = "RJCT", rcvd = "RCVD"
    }
    /// Where the status came from.
    public enum Source: String, Sendable, Hashable, Codable {
        /// The bank's answer to the pacs.008.
        case pacs002 = "pacs.002"
        /// A status query (pacs.028), or an answer to payments' status-query command.
        case statusQuery = "status-query"
    }

    /// The transfer.
    public var transferId: String
    /// Its UETR.
    public var uetr: String
    /// Its end-to-end id.
    public var endToEndId: String
    /// The status.
    public var status: Status
    /// The ISO 20022 reason code (with RJCT).
    public var reasonCode: String?
    /// AccptncDtTm.
    public var acceptedAt: Timestamp?
    /// The source.
    public var source: Source

    private enum CodingKeys: String, CodingKey { case transferId, uetr, endToEndId, status, reasonCode, acceptedAt, source }

    /// Decodes and validates.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` naming the member.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transferId = try c.decode(String.self, forKey: .transferId)
        guard AdapterFields.isLowercaseUUID(transferId) else {
            throw AdapterFields.corrupted(CodingKeys.transferId, in: c, ValidationError(.invalidFormat, rule: "uuid", message: "transferId is a lowercase UUID"))
        }
        uetr = try c.decode(String.self, forKey: .uetr)
        guard AdapterFields.isUETR(uetr) else {
            throw AdapterFields.corrupted(CodingKeys.uetr, in: c, ValidationError(.invalidFormat, rule: "R-PAY-2", message: "uetr is a lowercase UUID of version 4"))
        }
        endToEndId = try c.decode(String.self, forKey: .endToEndId)
        guard AdapterFields.isMax35Reference(endToEndId) else {
            throw AdapterFields.corrupted(CodingKeys.endToEndId, in: c, ValidationError(.invalidFormat, rule: "R-PAY-2", message: "endToEndId is 1 to 35 characters"))
        }
        status = try c.decode(Status.self, forKey: .status)
        reasonCode = try c.decodeIfPresent(String.self, forKey: .reasonCode)
        if let code = reasonCode, !(code.utf8.count == 4 && code.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) })) {
            throw AdapterFields.corrupted(CodingKeys.reasonCode, in: c, ValidationError(.invalidFormat, rule: "ExternalStatusReason1Code", message: "a reason code is 4 letters or digits"))
        }
        if status == .rjct && reasonCode == nil {
            throw AdapterFields.corrupted(CodingKeys.reasonCode, in: c, ValidationError(.missingField, rule: "RJCT-reason", message: "a rejection carries its reason code"))
        }
        acceptedAt = try c.decodeIfPresent(Timestamp.self, forKey: .acceptedAt)
        source = try c.decode(Source.self, forKey: .source)
    }
}

/// A non-negative amount of a balance: `{"value", "currency"}` (the sign is `creditDebit`).
public struct BalanceAmount: Sendable, Hashable, Codable {
    /// The money (≥ 0).
    public var money: Money

    private enum CodingKeys: String, CodingKey { case value, currency }

    /// Decodes a non-negative amount.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` at `/value`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let currency = try container.decode(CurrencyCode.self, forKey: .currency)
        let value = try container.decode(String.self, forKey: .value)
        do {
            money = try Money(string: value, currency: currency)
        } catch {
            throw AdapterFields.corrupted(CodingKeys.value, in: container, error)
        }
        if money.isNegative {
            throw AdapterFields.corrupted(CodingKeys.value, in: container, ValidationError(.outOfRange, rule: "CdtDbtInd", message: "amounts are positive; the sign is creditDebit"))
        }
    }

    /// Encodes `{"value", "currency"}`.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(money.amountString, forKey: .value)
        try container.encode(money.currency, forKey: .currency)
    }
}

/// `accounts.statement.received.v1` (camt.053) and `accounts.balance.reported.v1` (camt.052).
public struct AccountReportReceived: Sendable, Hashable, Codable {
    /// The statement type.
    public static let statementType = "accounts.statement.received.v1"
    /// The intraday type.
    public static let intradayType = "accounts.balance.reported.v1"
    /// Credit or debit.
    public enum CreditDebit: String, Sendable, Hashable, Codable { case credit = "CRDT", debit = "DBIT" }
    /// A balance.
    public struct Balance: Sendable, Hashable, Codable {
        /// Balance type code.
        public enum Kind: String, Sendable, Hashable, Codable { case OPBD, CLBD, CLAV, ITBD, ITAV, FWAV, PRCD, OPAV }
        /// Tp/CdOrPrtry/Cd.
        public var type: Kind
        /// Amt.
        public var amount: BalanceAmount
        /// CdtDbtInd.
        public var creditDebit: CreditDebit
        /// Dt.
        public var date: String
    }
    /// An entry.
    public struct Entry: Sendable, Hashable, Codable {
        /// Entry status.
        public enum Status: String, Sendable, Hashable, Codable { case BOOK, PDNG, INFO }
        /// Amt (> 0).
        public var amount: AmountValue
        /// CdtDbtInd.
        public var creditDebit: CreditDebit
        /// RvslInd.
        public var reversal: Bool
        /// Sts.
        public var status: Status
        /// BookgDt.
        public var bookingDate: String?
        /// ValDt.
        public var valueDate: String?
        /// AcctSvcrRef.
        public var servicerReference: String?
        /// Refs/EndToEndId.
        public var endToEndId: String?
        /// RmtInf/Ustrd.
        public var remittanceInformation: String?
    }

    /// The request it answers.
    public var requestId: String
    /// The account.
    public var account: AccountNumber
    /// Its bank.
    public var agent: CNAPSCode
    /// intraday or statement.
    public var kind: AccountReportRequest.Kind
    /// The business date.
    public var date: String
    /// Stmt/Rpt Id.
    public var reportId: String
    /// The account currency.
    public var currency: CurrencyCode
    /// Balances.
    public var balances: [Balance]
    /// Entries.
    public var entries: [Entry]
}

/// `ecny.transfer.accepted.v1`.
public struct ECNYTransferAccepted: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "ecny.transfer.accepted.v1"
    /// The transfer.
    public var transferId: String
    /// The operator's transaction id.
    public var operatorTransactionId: String?
}

/// `ecny.transfer.settled.v1`.
public struct ECNYTransferSettled: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "ecny.transfer.settled.v1"
    /// The transfer.
    public var transferId: String
    /// The operator's transaction id.
    public var operatorTransactionId: String
    /// When it settled (RFC 3339 with zone).
    public var settledAt: Timestamp
}

/// `ecny.transfer.rejected.v1`.
public struct ECNYTransferRejected: Sendable, Hashable, Codable {
    /// The message type.
    public static let messageType = "ecny.transfer.rejected.v1"
    /// The transfer.
    public var transferId: String
    /// The ISO 20022 reason code.
    public var reasonCode: String
    /// The operator's code and text.
    public var reason: String
}
