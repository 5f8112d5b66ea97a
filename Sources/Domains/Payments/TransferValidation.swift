public import Foundation
public import HubCore

/// An ISO 20022 status reason code carried by `payments.transfer.rejected.v1` / `failed.v1` (docs/payments.md lists
/// when payments uses each).
public struct ReasonCode: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The 4-character code.
    public let code: String

    /// Wraps a code.
    /// - Parameter code: The code.
    public init(_ code: String) { self.code = code }

    /// AM01 ZeroAmount.
    public static let zeroAmount = ReasonCode("AM01")
    /// AM02 NotAllowedAmount: above `huitong.payments.maximum-amount`.
    public static let notAllowedAmount = ReasonCode("AM02")
    /// AM05 Duplication: R-PAY-3 (same key, other payload) and R-PAY-5 (duplicate window).
    public static let duplication = ReasonCode("AM05")
    /// AM11 InvalidTransactionCurrency.
    public static let invalidCurrency = ReasonCode("AM11")
    /// AM12 InvalidAmount: not a decimal string, negative, or more than 2 decimals for CNY.
    public static let invalidAmount = ReasonCode("AM12")
    /// AC02 InvalidDebtorAccountNumber.
    public static let invalidDebtorAccount = ReasonCode("AC02")
    /// AC03 InvalidCreditorAccountNumber (also an invalid e-CNY wallet id).
    public static let invalidCreditorAccount = ReasonCode("AC03")
    /// RC01 BankIdentifierIncorrect: a CNAPS code or wallet operator that is not valid.
    public static let bankIdentifierIncorrect = ReasonCode("RC01")
    /// RR01 MissingDebtorAccountOrIdentification: no `enterpriseid`.
    public static let missingDebtorIdentification = ReasonCode("RR01")
    /// RR02 MissingDebtorNameOrAddress.
    public static let missingDebtorName = ReasonCode("RR02")
    /// RR03 MissingCreditorNameOrAddress.
    public static let missingCreditorName = ReasonCode("RR03")
    /// RR04 RegulatoryReason: corporate→person above the limit without a documented basis (R-PAY-8).
    public static let regulatoryReason = ReasonCode("RR04")
    /// LEGL LegalDecision: compliance rejected the held transfer.
    public static let legalDecision = ReasonCode("LEGL")
    /// DT01 InvalidDate: the requested execution date.
    public static let invalidDate = ReasonCode("DT01")
    /// FF01 InvalidFileFormat: a value breaks the message format (kinds, lengths, batch totals R-PAY-6).
    public static let invalidFileFormat = ReasonCode("FF01")
    /// NARR Narrative: cross-border transfers are not offered on these rails.
    public static let narrative = ReasonCode("NARR")
    /// NOOR: the original batch of a retry (R-PAY-7) is unknown, or the line is not in it.
    public static let noOriginal = ReasonCode("NOOR")

    /// The code.
    public var description: String { code }

    /// Decodes a code string.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` if not a string.
    public init(from decoder: any Decoder) throws {
        code = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the code string.
    /// - Parameter encoder: The encoder.
    /// - Throws: An encoding error.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}

/// A business refusal: an ISO 20022 reason code, a log-safe text (never an account or ID number) and the JSON
/// pointer of the offending value.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The reason code.
    public var code: ReasonCode
    /// Why, without personal data.
    public var reason: String
    /// The offending value's pointer (under `/data`), if one value is to blame.
    public var pointer: String?

    /// Creates a rejection.
    /// - Parameters:
    ///   - code: The reason code.
    ///   - reason: Why.
    ///   - pointer: The pointer.
    public init(_ code: ReasonCode, _ reason: String, pointer: String? = nil) {
        self.code = code
        self.reason = reason
        self.pointer = pointer
    }

    /// `AM05 at /data/…: reason`.
    public var description: String { "\(code)\(pointer.map { " at \($0)" } ?? ""): \(reason)" }
}

/// Where the money goes: an account at a bank (interbank rails) or an e-CNY wallet.
public enum Destination: Sendable, Hashable, Codable {
    /// An account and its bank's CNAPS code.
    case account(AccountNumber, agent: CNAPSCode)
    /// A 16-digit wallet id and its operator.
    case wallet(String, walletOperator: String)

    /// A stable key for the R-PAY-5 duplicate index (the raw account; stored, never logged).
    var duplicateKey: String {
        switch self {
        case .account(let account, let agent): "acct:\(agent.value):\(account.unmaskedValue)"
        case .wallet(let wallet, let walletOperator): "wallet:\(walletOperator):\(wallet)"
        }
    }
}

/// A validated party.
public struct ValidatedParty: Sendable, Hashable, Codable {
    /// The name.
    public var name: String
    /// `enterprise` or `person`.
    public var kind: String
    /// The destination (a debtor always has an account).
    public var destination: Destination
}

/// A transfer that passed validation: typed, with the defaults applied.
public struct TransferInstruction: Sendable, Hashable, Codable {
    /// The payer's USCC.
    public var enterpriseID: String
    /// The channel.
    public var channel: String
    /// The client's reference (for a batch line: the batch id).
    public var clientRequestId: String
    /// The payer.
    public var debtor: ValidatedParty
    /// The payee.
    public var creditor: ValidatedParty
    /// The amount (CNY, > 0, ≤ 2 decimals).
    public var amount: Money
    /// The requested execution date, if any.
    public var requestedExecutionDate: String?
    /// The purpose.
    public var purpose: String?
    /// The remittance information.
    public var remittanceInformation: String?
    /// R-PAY-5 override.
    public var duplicateOverride: Bool
    /// R-PAY-8 basis.
    public var documentedBasis: String?

    /// The value date: the requested date, or today in Asia/Shanghai.
    /// - Parameter now: The current instant.
    /// - Returns: The date.
    public func valueDate(now: Date) -> CalendarDate {
        requestedExecutionDate.flatMap(CalendarDate.init) ?? CalendarDate(containing: now)
    }

    /// Whether the payee is an e-CNY wallet.
    public var toWallet: Bool {
        if case .wallet = creditor.destination { return true }
        return false
    }
}

/// Business validation of transfer and batch requests (REFERENCE.md §1 and §7). Pure.
public struct TransferValidation: Sendable {
    /// The settings (limits, operators).
    public let configuration: PaymentsConfiguration

    /// Creates the validator.
    /// - Parameter configuration: The settings.
    public init(configuration: PaymentsConfiguration) {
        self.configuration = configuration
    }

    /// Characters of a client reference: `[A-Za-z0-9._:/-]`, 1 to 35 (R-PAY-2).
    /// - Parameter reference: The reference.
    /// - Returns: Whether it is well-formed.
    public static func isClientReference(_ reference: String) -> Bool {
        let bytes = reference.utf8
        return (1...35).contains(bytes.count) && bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2E || byte == 0x5F || byte == 0x3A || byte == 0x2F || byte == 0x2D
        }
    }

    /// Validates a single transfer request.
    /// - Parameters:
    ///   - payload: The structurally decoded payload.
    ///   - enterpriseID: The envelope's `enterpriseid` (already R-ID-1/2 checked by the envelope decoder).
    ///   - now: The current instant (for dates).
    /// - Returns: The instruction.
    /// - Throws: ``Rejection``.
    public func validate(_ payload: TransferRequestPayload, enterpriseID: USCC?, now: Date) throws(Rejection)
        -> TransferInstruction
    {
        guard let enterpriseID else {
            throw Rejection(.missingDebtorIdentification, "the envelope has no enterpriseid (the payer's USCC)",
                            pointer: "/enterpriseid")
        }
        let channel = try Self.channel(payload.channel)
        if payload.crossBorder == true {
            throw Rejection(.narrative, "cross-border transfers (CIPS) are not offered by this hub",
                            pointer: "/data/crossBorder")
        }
        let debtor = try debtor(payload.debtor, pointer: "/data/debtor")
        let creditor = try creditor(payload.creditor, pointer: "/data/creditor")
        let amount = try amount(payload.amount, pointer: "/data/amount")
        let date = try executionDate(payload.requestedExecutionDate, now: now)
        try Self.text(payload.purpose, max: 35, pointer: "/data/purpose")
        try Self.text(payload.remittanceInformation, max: 140, pointer: "/data/remittanceInformation")
        try Self.text(payload.documentedBasis, max: 140, pointer: "/data/documentedBasis")
        let instruction = TransferInstruction(
            enterpriseID: enterpriseID.value, channel: channel, clientRequestId: payload.clientRequestId,
            debtor: debtor, creditor: creditor, amount: amount, requestedExecutionDate: date?.description,
            purpose: payload.purpose, remittanceInformation: payload.remittanceInformation,
            duplicateOverride: payload.duplicateOverride ?? false, documentedBasis: payload.documentedBasis)
        try checkPersonLimit(instruction, basis: payload.documentedBasis, pointer: "/data/documentedBasis")
        return instruction
    }

    /// R-PAY-8: corporate→person above the limit needs a documented basis.
    /// - Parameters:
    ///   - instruction: The transfer.
    ///   - basis: The documented basis that applies (the request's, or the payroll batch's).
    ///   - pointer: Where the basis would be.
    /// - Throws: ``Rejection`` RR04.
    public func checkPersonLimit(_ instruction: TransferInstruction, basis: String?, pointer: String)
        throws(Rejection)
    {
        guard instruction.creditor.kind == "person",
              (try? instruction.amount.compare(configuration.personTransferLimit)) == .orderedDescending
        else { return }
        if let basis, !basis.trimmingCharacters(in: .whitespaces).isEmpty { return }
        throw Rejection(
            .regulatoryReason,
            "a corporate-to-person transfer above \(configuration.personTransferLimit.amountString) CNY needs a "
                + "documented basis (R-PAY-8)",
            pointer: pointer)
    }

    static func channel(_ channel: String?) throws(Rejection) -> String {
        let channel = channel ?? "api"
        let valid = (1...32).contains(channel.utf8.count)
            && channel.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
        guard valid else {
            throw Rejection(.invalidFileFormat, "channel is 1–32 of [a-z0-9-]", pointer: "/data/channel")
        }
        return channel
    }

    static func text(_ value: String?, max: Int, pointer: String) throws(Rejection) {
        guard let value else { return }
        guard !value.isEmpty, value.count <= max, !value.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw Rejection(.invalidFileFormat, "the text must be 1 to \(max) characters without control characters",
                            pointer: pointer)
        }
    }

    func name(_ name: String, code: ReasonCode, pointer: String) throws(Rejection) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, name.count <= 140, !name.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw Rejection(code, "the name must be 1 to 140 characters", pointer: pointer + "/name")
        }
        return name
    }

    func debtor(_ debtor: DebtorPayload, pointer: String) throws(Rejection) -> ValidatedParty {
        let name = try name(debtor.name, code: .missingDebtorName, pointer: pointer)
        guard debtor.kind == "enterprise" else {
            throw Rejection(.invalidFileFormat, "the debtor's kind must be 'enterprise'", pointer: pointer + "/kind")
        }
        guard let account = try? AccountNumber(debtor.account) else {
            throw Rejection(.invalidDebtorAccount, "the debtor account is 1 to 34 of [0-9A-Z-]",
                            pointer: pointer + "/account")
        }
        guard let agent = try? CNAPSCode(debtor.agent) else {
            throw Rejection(.bankIdentifierIncorrect, "the debtor agent is a 12-digit CNAPS code (R-ID-7)",
                            pointer: pointer + "/agent")
        }
        return ValidatedParty(name: name, kind: "enterprise", destination: .account(account, agent: agent))
    }

    func creditor(_ creditor: CreditorPayload, pointer: String) throws(Rejection) -> ValidatedParty {
        let name = try name(creditor.name, code: .missingCreditorName, pointer: pointer)
        guard creditor.kind == "enterprise" || creditor.kind == "person" else {
            throw Rejection(.invalidFileFormat, "the creditor's kind must be 'enterprise' or 'person'",
                            pointer: pointer + "/kind")
        }
        let hasAccount = creditor.account != nil || creditor.agent != nil
        let hasWallet = creditor.wallet != nil || creditor.walletOperator != nil
        guard hasAccount != hasWallet else {
            throw Rejection(.invalidFileFormat,
                            "the creditor has either account and agent, or wallet and walletOperator", pointer: pointer)
        }
        if hasWallet {
            guard let wallet = creditor.wallet, wallet.utf8.count == 16, wallet.utf8.allSatisfy({ (0x30...0x39).contains($0) })
            else {
                throw Rejection(.invalidCreditorAccount, "the e-CNY wallet id is 16 digits", pointer: pointer + "/wallet")
            }
            guard let walletOperator = creditor.walletOperator, configuration.walletOperators.contains(walletOperator) else {
                throw Rejection(.bankIdentifierIncorrect, "the wallet operator is not a designated e-CNY operator",
                                pointer: pointer + "/walletOperator")
            }
            return ValidatedParty(name: name, kind: creditor.kind, destination: .wallet(wallet, walletOperator: walletOperator))
        }
        guard let accountText = creditor.account, let account = try? AccountNumber(accountText) else {
            throw Rejection(.invalidCreditorAccount, "the creditor account is 1 to 34 of [0-9A-Z-]",
                            pointer: pointer + "/account")
        }
        guard let agentText = creditor.agent, let agent = try? CNAPSCode(agentText) else {
            throw Rejection(.bankIdentifierIncorrect, "the creditor agent is a 12-digit CNAPS code (R-ID-7)",
                            pointer: pointer + "/agent")
        }
        return ValidatedParty(name: name, kind: creditor.kind, destination: .account(account, agent: agent))
    }

    /// Validates an amount: CNY, a decimal string with ≤ 2 decimals (R-GEN-3), > 0, ≤ the maximum.
    /// - Parameters:
    ///   - amount: The wire amount.
    ///   - pointer: Its pointer.
    /// - Returns: The money.
    /// - Throws: ``Rejection`` AM11, AM12, AM01 or AM02.
    public func amount(_ amount: AmountPayload, pointer: String) throws(Rejection) -> Money {
        guard amount.currency == "CNY" else {
            throw Rejection(.invalidCurrency, "only CNY is offered on these rails", pointer: pointer + "/currency")
        }
        guard let money = try? Money(string: amount.value, currency: .cny) else {
            throw Rejection(.invalidAmount, "the amount is a decimal string with at most 2 decimals (R-GEN-3)",
                            pointer: pointer + "/value")
        }
        if money.isZero { throw Rejection(.zeroAmount, "the amount must be above zero", pointer: pointer + "/value") }
        if money.isNegative {
            throw Rejection(.invalidAmount, "the amount must be above zero", pointer: pointer + "/value")
        }
        if (try? money.compare(configuration.maximumAmount)) == .orderedDescending {
            throw Rejection(.notAllowedAmount,
                            "the amount is above the maximum of \(configuration.maximumAmount.amountString) CNY",
                            pointer: pointer + "/value")
        }
        return money
    }

    func executionDate(_ text: String?, now: Date) throws(Rejection) -> CalendarDate? {
        guard let text else { return nil }
        guard let date = CalendarDate(text) else {
            throw Rejection(.invalidDate, "requestedExecutionDate is a real date YYYY-MM-DD",
                            pointer: "/data/requestedExecutionDate")
        }
        let today = CalendarDate(containing: now)
        guard date >= today else {
            throw Rejection(.invalidDate, "requestedExecutionDate is in the past (Asia/Shanghai)",
                            pointer: "/data/requestedExecutionDate")
        }
        guard date <= today.adding(days: configuration.maximumDaysAhead) else {
            throw Rejection(.invalidDate,
                            "requestedExecutionDate is more than \(configuration.maximumDaysAhead) days ahead",
                            pointer: "/data/requestedExecutionDate")
        }
        return date
    }
}
