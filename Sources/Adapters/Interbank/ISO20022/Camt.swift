import Foundation
public import HubCore

/// A bank-to-customer account report: camt.052 (intraday, `BkToCstmrAcctRpt/Rpt`) or camt.053 (statement,
/// `BkToCstmrStmt/Stmt`), with the fields of REFERENCE.md §7.
public struct AccountReport: Sendable, Hashable {
    /// Which message.
    public enum Kind: String, Sendable, Hashable {
        /// camt.052.
        case intraday
        /// camt.053.
        case statement

        var document: String { self == .intraday ? "BkToCstmrAcctRpt" : "BkToCstmrStmt" }
        var report: String { self == .intraday ? "Rpt" : "Stmt" }
        var namespace: String { self == .intraday ? ISO20022Namespace.camt052 : ISO20022Namespace.camt053 }
    }

    /// Credit or debit: amounts are positive and the sign is carried by CdtDbtInd.
    public enum CreditDebit: String, Sendable, Hashable, Codable {
        /// A credit (plus).
        case credit = "CRDT"
        /// A debit (minus).
        case debit = "DBIT"
    }

    /// A balance.
    public struct Balance: Sendable, Hashable {
        /// Tp/CdOrPrtry/Cd: OPBD, CLBD, CLAV, ITBD, ITAV, FWAV, PRCD, OPAV.
        public var type: String
        /// Amt (≥ 0).
        public var amount: Money
        /// CdtDbtInd.
        public var creditDebit: CreditDebit
        /// Dt/Dt.
        public var date: String

        /// Creates a balance.
        public init(type: String, amount: Money, creditDebit: CreditDebit, date: String) {
            self.type = type
            self.amount = amount
            self.creditDebit = creditDebit
            self.date = date
        }

        /// The signed amount.
        public var signed: Money { creditDebit == .credit ? amount : amount.negated }
    }

    /// An entry.
    public struct Entry: Sendable, Hashable {
        /// Amt (> 0).
        public var amount: Money
        /// CdtDbtInd.
        public var creditDebit: CreditDebit
        /// RvslInd.
        public var reversal: Bool
        /// Sts/Cd: BOOK, PDNG or INFO.
        public var status: String
        /// BookgDt/Dt.
        public var bookingDate: String?
        /// ValDt/Dt.
        public var valueDate: String?
        /// AcctSvcrRef.
        public var servicerReference: String?
        /// NtryDtls/TxDtls/Refs/EndToEndId.
        public var endToEndId: String?
        /// NtryDtls/TxDtls/RmtInf/Ustrd.
        public var remittanceInformation: String?

        /// Creates an entry.
        public init(
            amount: Money, creditDebit: CreditDebit, reversal: Bool = false, status: String = "BOOK",
            bookingDate: String?, valueDate: String?, servicerReference: String?, endToEndId: String? = nil,
            remittanceInformation: String? = nil
        ) {
            self.amount = amount
            self.creditDebit = creditDebit
            self.reversal = reversal
            self.status = status
            self.bookingDate = bookingDate
            self.valueDate = valueDate
            self.servicerReference = servicerReference
            self.endToEndId = endToEndId
            self.remittanceInformation = remittanceInformation
        }

        /// The signed amount.
        public var signed: Money { creditDebit == .credit ? amount : amount.negated }
    }

    /// The balance type codes the hub accepts.
    public static let balanceTypes: Set<String> = ["OPBD", "CLBD", "CLAV", "ITBD", "ITAV", "FWAV", "PRCD", "OPAV"]
    /// The entry status codes.
    public static let entryStatuses: Set<String> = ["BOOK", "PDNG", "INFO"]

    /// camt.052 or camt.053.
    public var kind: Kind
    /// GrpHdr/MsgId.
    public var messageId: String
    /// Rpt|Stmt/Id.
    public var id: String
    /// ElctrncSeqNb.
    public var sequenceNumber: Int?
    /// CreDtTm.
    public var creationDateTime: String
    /// Acct/Id/Othr/Id.
    public var account: AccountNumber
    /// Acct/Ccy.
    public var currency: CurrencyCode
    /// FrToDt/FrDtTm…ToDtTm as the business date it covers.
    public var date: String
    /// Bal.
    public var balances: [Balance]
    /// Ntry.
    public var entries: [Entry]

    /// Creates a report.
    public init(
        kind: Kind, messageId: String, id: String, sequenceNumber: Int?, creationDateTime: String,
        account: AccountNumber, currency: CurrencyCode, date: String, balances: [Balance], entries: [Entry]
    ) {
        self.kind = kind
        self.messageId = messageId
        self.id = id
        self.sequenceNumber = sequenceNumber
        self.creationDateTime = creationDateTime
        self.account = account
        self.currency = currency
        self.date = date
        self.balances = balances
        self.entries = entries
    }

    /// The XML document.
    public var xml: String {
        var w = XMLWriter()
        w.open("Document", [("xmlns", kind.namespace)])
        w.open(kind.document)
        w.open("GrpHdr")
        w.element("MsgId", messageId)
        w.element("CreDtTm", creationDateTime)
        w.close()
        w.open(kind.report)
        w.element("Id", id)
        if let sequenceNumber { w.element("ElctrncSeqNb", String(sequenceNumber)) }
        w.element("CreDtTm", creationDateTime)
        w.open("FrToDt")
        w.element("FrDtTm", "\(date)T00:00:00+08:00")
        w.element("ToDtTm", "\(date)T23:59:59+08:00")
        w.close()
        w.open("Acct")
        w.open("Id")
        w.open("Othr")
        w.element("Id", account.unmaskedValue)
        w.close()
        w.close()
        w.element("Ccy", currency.code)
        w.close()
        for balance in balances {
            w.open("Bal")
            w.open("Tp")
            w.open("CdOrPrtry")
            w.element("Cd", balance.type)
            w.close()
            w.close()
            w.element("Amt", balance.amount.amountString, [("Ccy", balance.amount.currency.code)])
            w.element("CdtDbtInd", balance.creditDebit.rawValue)
            w.open("Dt")
            w.element("Dt", balance.date)
            w.close()
            w.close()
        }
        for entry in entries {
            w.open("Ntry")
            w.element("Amt", entry.amount.amountString, [("Ccy", entry.amount.currency.code)])
            w.element("CdtDbtInd", entry.creditDebit.rawValue)
            if entry.reversal { w.element("RvslInd", "true") }
            w.open("Sts")
            w.element("Cd", entry.status)
            w.close()
            if let date = entry.bookingDate {
                w.open("BookgDt")
                w.element("Dt", date)
                w.close()
            }
            if let date = entry.valueDate {
                w.open("ValDt")
                w.element("Dt", date)
                w.close()
            }
            w.optional("AcctSvcrRef", entry.servicerReference)
            if entry.endToEndId != nil || entry.remittanceInformation != nil {
                w.open("NtryDtls")
                w.open("TxDtls")
                if let endToEnd = entry.endToEndId {
                    w.open("Refs")
                    w.element("EndToEndId", endToEnd)
                    w.close()
                }
                if let remittance = entry.remittanceInformation {
                    w.open("RmtInf")
                    w.element("Ustrd", remittance)
                    w.close()
                }
                w.close()
                w.close()
            }
            w.close()
        }
        return w.finish()
    }

    /// Reads and checks a camt.052/053: mandatory elements; Bal/Tp codes known; amounts positive (balances ≥ 0)
    /// with a CdtDbtInd; every amount in the account's currency; entry status known; and for a statement with an
    /// opening and a closing booked balance, OPBD + Σ booked entries = CLBD.
    /// - Parameters:
    ///   - bytes: The document.
    /// - Returns: The report.
    /// - Throws: ``ISO20022Error`` listing every issue.
    public static func parse(_ bytes: [UInt8]) throws(ISO20022Error) -> AccountReport {
        let root = try XMLNode.parse(bytes)
        let kind: Kind
        if root.child("BkToCstmrStmt") != nil {
            kind = .statement
        } else if root.child("BkToCstmrAcctRpt") != nil {
            kind = .intraday
        } else {
            throw ISO20022Error(ISO20022Issue(path: "Document", rule: "mandatory", message: "not a camt.052 or camt.053 document"))
        }
        let body = root.child(kind.document)
        var c = IssueCollector()
        let messageId = c.require(body, "", "GrpHdr", "MsgId")
        let reports = body?.all(kind.report) ?? []
        if reports.count != 1 { c.add(kind.report, "mandatory", "the hub expects exactly one \(kind.report)") }
        let report = reports.first
        let base = kind.report
        let id = c.require(report, base, "Id")
        let created = c.require(report, base, "CreDtTm")
        let accountText = c.require(report, base, "Acct", "Id", "Othr", "Id")
        let account = try? AccountNumber(accountText)
        if !accountText.isEmpty && account == nil { c.add("\(base)/Acct/Id/Othr/Id", "account-format", "the account number is malformed") }
        let currencyText = c.require(report, base, "Acct", "Ccy")
        let currency = try? CurrencyCode(currencyText)
        if !currencyText.isEmpty && currency == nil { c.add("\(base)/Acct/Ccy", "R-ID-10", "not an ISO 4217 currency") }
        let from = report?.text("FrToDt", "FrDtTm") ?? ""
        let date = String(from.prefix(10))
        var balances: [Balance] = []
        for (index, node) in (report?.all("Bal") ?? []).enumerated() {
            let path = "\(base)/Bal[\(index + 1)]"
            let type = c.require(node, path, "Tp", "CdOrPrtry", "Cd")
            if !type.isEmpty && !balanceTypes.contains(type) { c.add("\(path)/Tp/CdOrPrtry/Cd", "Bal/Tp", "unknown balance type code") }
            let indicator = c.require(node, path, "CdtDbtInd")
            let creditDebit = CreditDebit(rawValue: indicator)
            if !indicator.isEmpty && creditDebit == nil { c.add("\(path)/CdtDbtInd", "CdtDbtInd", "CdtDbtInd is CRDT or DBIT") }
            let balanceDate = c.require(node, path, "Dt", "Dt")
            var amount: Money?
            if let amountNode = node.child("Amt"), let code = amountNode.attributes["Ccy"],
               let money = try? Money(string: amountNode.text, currencyCode: code), !money.isNegative
            {
                amount = money
                if let currency, money.currency != currency { c.add("\(path)/Amt/@Ccy", "currency", "the balance's currency is not the account's") }
            } else {
                c.add("\(path)/Amt", "amount", "a balance amount is a non-negative decimal with its Ccy")
            }
            if let amount, let creditDebit {
                balances.append(Balance(type: type, amount: amount, creditDebit: creditDebit, date: balanceDate))
            }
        }
        var entries: [Entry] = []
        for (index, node) in (report?.all("Ntry") ?? []).enumerated() {
            let path = "\(base)/Ntry[\(index + 1)]"
            let amount = c.amount(node.child("Amt"), "\(path)/Amt")
            if let amount, let currency, amount.currency != currency { c.add("\(path)/Amt/@Ccy", "currency", "the entry's currency is not the account's") }
            let indicator = c.require(node, path, "CdtDbtInd")
            let creditDebit = CreditDebit(rawValue: indicator)
            if !indicator.isEmpty && creditDebit == nil { c.add("\(path)/CdtDbtInd", "CdtDbtInd", "CdtDbtInd is CRDT or DBIT") }
            let status = node.text("Sts", "Cd") ?? node.text("Sts") ?? ""
            if !entryStatuses.contains(status) { c.add("\(path)/Sts", "Sts", "the entry status is BOOK, PDNG or INFO") }
            if let amount, let creditDebit {
                entries.append(Entry(
                    amount: amount, creditDebit: creditDebit, reversal: node.text("RvslInd") == "true", status: status,
                    bookingDate: node.text("BookgDt", "Dt"), valueDate: node.text("ValDt", "Dt"),
                    servicerReference: node.text("AcctSvcrRef"),
                    endToEndId: node.text("NtryDtls", "TxDtls", "Refs", "EndToEndId"),
                    remittanceInformation: node.text("NtryDtls", "TxDtls", "RmtInf", "Ustrd")))
            }
        }
        if kind == .statement, let currency,
           let opening = balances.first(where: { $0.type == "OPBD" }), let closing = balances.first(where: { $0.type == "CLBD" })
        {
            var running = opening.signed
            for entry in entries where entry.status == "BOOK" {
                let signed = entry.reversal ? entry.signed.negated : entry.signed
                running = (try? running.adding(signed)) ?? running
            }
            if running != closing.signed && running.currency == currency {
                c.add("\(base)/Bal", "balance-continuity", "opening balance plus booked entries differs from the closing balance")
            }
        }
        try c.finish()
        guard let account, let currency else {
            throw ISO20022Error(ISO20022Issue(path: "\(base)/Acct", rule: "mandatory", message: "account missing"))
        }
        return AccountReport(
            kind: kind, messageId: messageId, id: id, sequenceNumber: report?.text("ElctrncSeqNb").flatMap { Int($0) },
            creationDateTime: created, account: account, currency: currency, date: date, balances: balances,
            entries: entries)
    }
}
