public import Foundation
public import HubCore

/// The ISO 20022 namespaces the hub writes.
public enum ISO20022Namespace {
    /// FI to FI customer credit transfer.
    public static let pacs008 = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
    /// FI to FI payment status report.
    public static let pacs002 = "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10"
    /// FI to FI payment status request.
    public static let pacs028 = "urn:iso:std:iso:20022:tech:xsd:pacs.028.001.03"
    /// Bank to customer account report (intraday).
    public static let camt052 = "urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"
    /// Bank to customer statement.
    public static let camt053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
}

/// Collects rule findings while a message is read.
struct IssueCollector {
    var issues: [ISO20022Issue] = []

    mutating func add(_ path: String, _ rule: String, _ message: String) {
        issues.append(ISO20022Issue(path: path, rule: rule, message: message))
    }

    /// The text at `path` under `node`, or a `mandatory` issue.
    mutating func require(_ node: XMLNode?, _ base: String, _ path: String...) -> String {
        let full = ([base] + path).filter { !$0.isEmpty }.joined(separator: "/")
        guard let node, let found = node.at(path), !found.text.isEmpty else {
            add(full, "mandatory", "the mandatory element is missing or empty")
            return ""
        }
        return found.text
    }

    /// The element at `path`, or a `mandatory` issue.
    mutating func requireNode(_ node: XMLNode?, _ base: String, _ path: String...) -> XMLNode? {
        guard let found = node?.at(path) else {
            add(([base] + path).filter { !$0.isEmpty }.joined(separator: "/"), "mandatory", "the mandatory element is missing")
            return nil
        }
        return found
    }

    /// An amount element `<X Ccy="CNY">1.00</X>`: positive, the currency's minor units at most.
    mutating func amount(_ node: XMLNode?, _ path: String) -> Money? {
        guard let node else {
            add(path, "mandatory", "the mandatory amount is missing")
            return nil
        }
        guard let code = node.attributes["Ccy"] else {
            add(path + "/@Ccy", "mandatory", "the amount has no Ccy attribute")
            return nil
        }
        do {
            let money = try Money(string: node.text, currencyCode: code)
            if money.amount <= 0 { add(path, "amount", "amounts are positive; the sign is carried elsewhere") }
            return money
        } catch {
            add(path, "amount", "the amount or its currency is invalid (\(error.rule))")
            return nil
        }
    }

    /// A Max35Text reference.
    mutating func reference(_ text: String, _ path: String) {
        if !text.isEmpty && !(1...35).contains(text.count) { add(path, "Max35Text", "a reference is at most 35 characters") }
    }

    func finish() throws(ISO20022Error) {
        if let first = issues.first { throw ISO20022Error(first, Array(issues.dropFirst())) }
    }
}

/// The ISO 20022 calendar date and date-time texts the hub writes.
public enum ISODate {
    /// `yyyy-MM-dd'T'HH:mm:ss+08:00` in Asia/Shanghai (R-GEN-4: explicit zone).
    public static func shanghaiDateTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssxxx"
        return formatter.string(from: date)
    }

    /// `yyyy-MM-dd` in Asia/Shanghai.
    public static func shanghaiDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    /// Whether a text is an ISO date-time with an explicit zone.
    static func isDateTime(_ text: String) -> Bool {
        (try? Timestamp(rfc3339: text)) != nil
    }
}

/// A party of a credit transfer in a pacs.008: name, account (`Othr/Id`; China has no IBAN, R-ID-9), CNAPS code.
public struct PacsParty: Sendable, Hashable {
    /// The holder's name.
    public var name: String
    /// The account.
    public var account: AccountNumber
    /// The account bank (ClrSysMmbId/MmbId).
    public var agent: CNAPSCode

    /// Creates a party.
    public init(name: String, account: AccountNumber, agent: CNAPSCode) {
        self.name = name
        self.account = account
        self.agent = agent
    }
}

/// pacs.008.001.08 FIToFICstmrCdtTrf, with the key fields of REFERENCE.md §7.
public struct Pacs008: Sendable, Hashable {
    /// One credit transfer transaction.
    public struct Transaction: Sendable, Hashable {
        /// InstrId.
        public var instructionId: String
        /// EndToEndId.
        public var endToEndId: String
        /// TxId.
        public var transactionId: String
        /// UETR (UUIDv4, lowercase).
        public var uetr: String
        /// IntrBkSttlmAmt with Ccy.
        public var amount: Money
        /// IntrBkSttlmDt.
        public var settlementDate: String
        /// ChrgBr (SLEV on CNAPS).
        public var chargeBearer: String
        /// Dbtr, DbtrAcct, DbtrAgt.
        public var debtor: PacsParty
        /// Cdtr, CdtrAcct, CdtrAgt.
        public var creditor: PacsParty
        /// Purp/Cd (a 4-letter code) or Purp/Prtry.
        public var purpose: String?
        /// RmtInf/Ustrd.
        public var remittanceInformation: String?

        /// Creates a transaction.
        public init(
            instructionId: String, endToEndId: String, transactionId: String, uetr: String, amount: Money,
            settlementDate: String, chargeBearer: String = "SLEV", debtor: PacsParty, creditor: PacsParty,
            purpose: String? = nil, remittanceInformation: String? = nil
        ) {
            self.instructionId = instructionId
            self.endToEndId = endToEndId
            self.transactionId = transactionId
            self.uetr = uetr
            self.amount = amount
            self.settlementDate = settlementDate
            self.chargeBearer = chargeBearer
            self.debtor = debtor
            self.creditor = creditor
            self.purpose = purpose
            self.remittanceInformation = remittanceInformation
        }
    }

    /// GrpHdr/MsgId.
    public var messageId: String
    /// GrpHdr/CreDtTm (with zone).
    public var creationDateTime: String
    /// GrpHdr/SttlmInf/SttlmMtd (CLRG: through the clearing system).
    public var settlementMethod: String
    /// GrpHdr/SttlmInf/ClrSys/Prtry: HVPS, BEPS or IBPS.
    public var clearingSystem: String
    /// GrpHdr/InstgAgt (CNAPS).
    public var instructingAgent: CNAPSCode
    /// GrpHdr/InstdAgt (CNAPS).
    public var instructedAgent: CNAPSCode
    /// CdtTrfTxInf, one or more.
    public var transactions: [Transaction]

    /// Creates a message.
    public init(
        messageId: String, creationDateTime: String, settlementMethod: String = "CLRG", clearingSystem: String,
        instructingAgent: CNAPSCode, instructedAgent: CNAPSCode, transactions: [Transaction]
    ) {
        self.messageId = messageId
        self.creationDateTime = creationDateTime
        self.settlementMethod = settlementMethod
        self.clearingSystem = clearingSystem
        self.instructingAgent = instructingAgent
        self.instructedAgent = instructedAgent
        self.transactions = transactions
    }

    /// The sum of the transactions' amounts (all must share one currency).
    public var controlSum: Money? {
        guard let first = transactions.first else { return nil }
        var sum = Money.zero(first.amount.currency)
        for transaction in transactions {
            guard let next = try? sum.adding(transaction.amount) else { return nil }
            sum = next
        }
        return sum
    }

    /// The XML document.
    public var xml: String {
        var w = XMLWriter()
        w.open("Document", [("xmlns", ISO20022Namespace.pacs008)])
        w.open("FIToFICstmrCdtTrf")
        w.open("GrpHdr")
        w.element("MsgId", messageId)
        w.element("CreDtTm", creationDateTime)
        w.element("NbOfTxs", String(transactions.count))
        if let sum = controlSum {
            w.element("CtrlSum", sum.amountString)
            w.element("TtlIntrBkSttlmAmt", sum.amountString, [("Ccy", sum.currency.code)])
        }
        w.open("SttlmInf")
        w.element("SttlmMtd", settlementMethod)
        w.open("ClrSys")
        w.element("Prtry", clearingSystem)
        w.close()
        w.close()
        Self.agent(&w, "InstgAgt", instructingAgent)
        Self.agent(&w, "InstdAgt", instructedAgent)
        w.close()
        for tx in transactions {
            w.open("CdtTrfTxInf")
            w.open("PmtId")
            w.element("InstrId", tx.instructionId)
            w.element("EndToEndId", tx.endToEndId)
            w.element("TxId", tx.transactionId)
            w.element("UETR", tx.uetr)
            w.close()
            w.element("IntrBkSttlmAmt", tx.amount.amountString, [("Ccy", tx.amount.currency.code)])
            w.element("IntrBkSttlmDt", tx.settlementDate)
            w.element("ChrgBr", tx.chargeBearer)
            Self.party(&w, "Dbtr", tx.debtor)
            Self.party(&w, "Cdtr", tx.creditor)
            if let purpose = tx.purpose {
                w.open("Purp")
                let isCode = purpose.utf8.count == 4 && purpose.utf8.allSatisfy { (0x41...0x5A).contains($0) }
                w.element(isCode ? "Cd" : "Prtry", purpose)
                w.close()
            }
            if let remittance = tx.remittanceInformation {
                w.open("RmtInf")
                w.element("Ustrd", remittance)
                w.close()
            }
            w.close()
        }
        return w.finish()
    }

    private static func agent(_ w: inout XMLWriter, _ name: String, _ code: CNAPSCode) {
        w.open(name)
        w.open("FinInstnId")
        w.open("ClrSysMmbId")
        w.open("ClrSysId")
        w.element("Cd", "CNCNAPS")
        w.close()
        w.element("MmbId", code.value)
        w.close()
        w.close()
        w.close()
    }

    // ISO order: Dbtr, DbtrAcct, DbtrAgt, CdtrAgt, Cdtr, CdtrAcct.
    private static func party(_ w: inout XMLWriter, _ role: String, _ party: PacsParty) {
        func holder() {
            w.open(role)
            w.element("Nm", party.name)
            w.close()
            w.open(role + "Acct")
            w.open("Id")
            w.open("Othr")
            w.element("Id", party.account.unmaskedValue)
            w.close()
            w.close()
            w.close()
        }
        if role == "Dbtr" {
            holder()
            agent(&w, "DbtrAgt", party.agent)
        } else {
            agent(&w, "CdtrAgt", party.agent)
            holder()
        }
    }

    /// Reads and checks a pacs.008 (the simulator's side, and the fixtures' validator).
    ///
    /// Rules: every mandatory element of REFERENCE.md §7 present; NbOfTxs = number of CdtTrfTxInf; CtrlSum and
    /// TtlIntrBkSttlmAmt (when present) = Σ IntrBkSttlmAmt, in one currency; references ≤ 35; UETR a lowercase UUIDv4;
    /// agents and accounts well-formed.
    /// - Parameter bytes: The document.
    /// - Returns: The message.
    /// - Throws: ``ISO20022Error`` listing every issue.
    public static func parse(_ bytes: [UInt8]) throws(ISO20022Error) -> Pacs008 {
        let root = try XMLNode.parse(bytes)
        var c = IssueCollector()
        guard root.name == "Document", let body = root.child("FIToFICstmrCdtTrf") else {
            throw ISO20022Error(ISO20022Issue(path: "Document/FIToFICstmrCdtTrf", rule: "mandatory", message: "not a pacs.008 document"))
        }
        let header = c.requireNode(body, "", "GrpHdr")
        let messageId = c.require(header, "GrpHdr", "MsgId")
        c.reference(messageId, "GrpHdr/MsgId")
        let created = c.require(header, "GrpHdr", "CreDtTm")
        if !created.isEmpty && !ISODate.isDateTime(created) { c.add("GrpHdr/CreDtTm", "ISODateTime", "CreDtTm needs a date, a time and a zone") }
        let count = c.require(header, "GrpHdr", "NbOfTxs")
        let method = c.require(header, "GrpHdr", "SttlmInf", "SttlmMtd")
        let system = header?.text("SttlmInf", "ClrSys", "Prtry") ?? ""
        let instructing = agentCode(&c, header?.child("InstgAgt"), "GrpHdr/InstgAgt")
        let instructed = agentCode(&c, header?.child("InstdAgt"), "GrpHdr/InstdAgt")
        let nodes = body.all("CdtTrfTxInf")
        if nodes.isEmpty { c.add("CdtTrfTxInf", "mandatory", "a pacs.008 has at least one transaction") }
        if !count.isEmpty && Int(count) != nodes.count {
            c.add("GrpHdr/NbOfTxs", "NbOfTxs", "NbOfTxs differs from the number of CdtTrfTxInf (R-PAY-6)")
        }
        var transactions: [Transaction] = []
        for (index, node) in nodes.enumerated() {
            let base = "CdtTrfTxInf[\(index + 1)]"
            let instruction = c.require(node, base, "PmtId", "InstrId")
            let endToEnd = c.require(node, base, "PmtId", "EndToEndId")
            let txId = c.require(node, base, "PmtId", "TxId")
            let uetr = c.require(node, base, "PmtId", "UETR")
            for (text, name) in [(instruction, "InstrId"), (endToEnd, "EndToEndId"), (txId, "TxId")] {
                c.reference(text, "\(base)/PmtId/\(name)")
            }
            if !uetr.isEmpty && !isUETR(uetr) { c.add("\(base)/PmtId/UETR", "UETR", "the UETR is a lowercase UUID of version 4") }
            let amount = c.amount(node.child("IntrBkSttlmAmt"), "\(base)/IntrBkSttlmAmt")
            let date = c.require(node, base, "IntrBkSttlmDt")
            let bearer = c.require(node, base, "ChrgBr")
            let debtor = party(&c, node, base, "Dbtr")
            let creditor = party(&c, node, base, "Cdtr")
            let purpose = node.text("Purp", "Cd") ?? node.text("Purp", "Prtry")
            let remittance = node.text("RmtInf", "Ustrd")
            if let remittance, remittance.count > 140 { c.add("\(base)/RmtInf/Ustrd", "Max140Text", "at most 140 characters") }
            if let amount, let debtor, let creditor {
                transactions.append(Transaction(
                    instructionId: instruction, endToEndId: endToEnd, transactionId: txId, uetr: uetr, amount: amount,
                    settlementDate: date, chargeBearer: bearer, debtor: debtor, creditor: creditor, purpose: purpose,
                    remittanceInformation: remittance))
            }
        }
        // Totals: one currency, and CtrlSum / TtlIntrBkSttlmAmt equal to the sum.
        let currencies = Set(transactions.map(\.amount.currency.code))
        if currencies.count > 1 { c.add("CdtTrfTxInf/IntrBkSttlmAmt/@Ccy", "currency", "all transactions of a message share one currency") }
        if currencies.count == 1, transactions.count == nodes.count, let first = transactions.first {
            var sum = Money.zero(first.amount.currency)
            for tx in transactions { sum = (try? sum.adding(tx.amount)) ?? sum }
            if let text = header?.text("CtrlSum") {
                if (try? Money(string: text, currency: first.amount.currency)) != sum {
                    c.add("GrpHdr/CtrlSum", "CtrlSum", "CtrlSum differs from the sum of IntrBkSttlmAmt (R-PAY-6)")
                }
            }
            if let total = header?.child("TtlIntrBkSttlmAmt") {
                let money = c.amount(total, "GrpHdr/TtlIntrBkSttlmAmt")
                if let money, money.currency != first.amount.currency {
                    c.add("GrpHdr/TtlIntrBkSttlmAmt/@Ccy", "currency", "the total's currency differs from the transactions'")
                } else if let money, money != sum {
                    c.add("GrpHdr/TtlIntrBkSttlmAmt", "CtrlSum", "TtlIntrBkSttlmAmt differs from the sum of IntrBkSttlmAmt")
                }
            }
        }
        try c.finish()
        guard let instructing, let instructed else { throw ISO20022Error(c.issues.first ?? ISO20022Issue(path: "GrpHdr", rule: "mandatory", message: "agents missing")) }
        return Pacs008(
            messageId: messageId, creationDateTime: created, settlementMethod: method, clearingSystem: system,
            instructingAgent: instructing, instructedAgent: instructed, transactions: transactions)
    }

    static func isUETR(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36, text == text.lowercased(), UUID(uuidString: text) != nil else { return false }
        return bytes[14] == UInt8(ascii: "4") && "89ab".utf8.contains(bytes[19])
    }

    static func agentCode(_ c: inout IssueCollector, _ node: XMLNode?, _ path: String) -> CNAPSCode? {
        let text = c.require(node, path, "FinInstnId", "ClrSysMmbId", "MmbId")
        guard !text.isEmpty else { return nil }
        guard let code = try? CNAPSCode(text) else {
            c.add("\(path)/FinInstnId/ClrSysMmbId/MmbId", "R-ID-7", "a CNAPS code is 12 digits")
            return nil
        }
        return code
    }

    private static func party(_ c: inout IssueCollector, _ node: XMLNode, _ base: String, _ role: String) -> PacsParty? {
        let name = c.require(node, base, role, "Nm")
        let accountText = c.require(node, base, role + "Acct", "Id", "Othr", "Id")
        let agent = agentCode(&c, node.child(role + "Agt"), "\(base)/\(role)Agt")
        var account: AccountNumber?
        if !accountText.isEmpty {
            account = try? AccountNumber(accountText)
            if account == nil { c.add("\(base)/\(role)Acct/Id/Othr/Id", "account-format", "the account number is malformed") }
        }
        guard !name.isEmpty, let account, let agent else { return nil }
        return PacsParty(name: name, account: account, agent: agent)
    }
}

/// A transaction status of pacs.002 (REFERENCE.md §7).
public enum TransactionStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case received = "RCVD"
    case acceptedTechnical = "ACTC"
    case acceptedCustomerProfile = "ACCP"
    case acceptedSettlementInProcess = "ACSP"
    case acceptedSettlementCompleted = "ACSC"
    case acceptedCreditSettlementCompleted = "ACCC"
    case acceptedWithChange = "ACWC"
    case pending = "PDNG"
    case rejected = "RJCT"

    /// Whether no later status can follow: settled (ACSC, ACCC) or rejected (RJCT).
    public var isFinal: Bool { self == .acceptedSettlementCompleted || self == .acceptedCreditSettlementCompleted || self == .rejected }

    /// The status as the interface reports it (ACWC, not in the interface, is reported as ACSP: accepted, in progress).
    public var reported: String { self == .acceptedWithChange ? "ACSP" : rawValue }
}

/// pacs.002.001.10 FIToFIPmtStsRpt for one transaction.
public struct Pacs002: Sendable, Hashable {
    /// GrpHdr/MsgId of the report.
    public var messageId: String
    /// GrpHdr/CreDtTm.
    public var creationDateTime: String
    /// OrgnlGrpInfAndSts/OrgnlMsgId.
    public var originalMessageId: String
    /// OrgnlGrpInfAndSts/OrgnlMsgNmId.
    public var originalMessageNameId: String
    /// TxInfAndSts/OrgnlInstrId.
    public var originalInstructionId: String?
    /// TxInfAndSts/OrgnlEndToEndId.
    public var originalEndToEndId: String
    /// TxInfAndSts/OrgnlTxId.
    public var originalTransactionId: String?
    /// TxInfAndSts/OrgnlUETR.
    public var originalUETR: String
    /// TxInfAndSts/TxSts.
    public var status: TransactionStatus
    /// TxInfAndSts/StsRsnInf/Rsn/Cd.
    public var reasonCode: String?
    /// TxInfAndSts/StsRsnInf/AddtlInf.
    public var additionalInformation: String?
    /// TxInfAndSts/AccptncDtTm.
    public var acceptanceDateTime: String?
    /// TxInfAndSts/OrgnlTxRef/IntrBkSttlmAmt, when the bank repeats it.
    public var originalAmount: Money?

    /// Creates a report.
    public init(
        messageId: String, creationDateTime: String, originalMessageId: String,
        originalMessageNameId: String = "pacs.008.001.08", originalInstructionId: String?, originalEndToEndId: String,
        originalTransactionId: String?, originalUETR: String, status: TransactionStatus, reasonCode: String? = nil,
        additionalInformation: String? = nil, acceptanceDateTime: String? = nil, originalAmount: Money? = nil
    ) {
        self.messageId = messageId
        self.creationDateTime = creationDateTime
        self.originalMessageId = originalMessageId
        self.originalMessageNameId = originalMessageNameId
        self.originalInstructionId = originalInstructionId
        self.originalEndToEndId = originalEndToEndId
        self.originalTransactionId = originalTransactionId
        self.originalUETR = originalUETR
        self.status = status
        self.reasonCode = reasonCode
        self.additionalInformation = additionalInformation
        self.acceptanceDateTime = acceptanceDateTime
        self.originalAmount = originalAmount
    }

    /// The XML document.
    public var xml: String {
        var w = XMLWriter()
        w.open("Document", [("xmlns", ISO20022Namespace.pacs002)])
        w.open("FIToFIPmtStsRpt")
        w.open("GrpHdr")
        w.element("MsgId", messageId)
        w.element("CreDtTm", creationDateTime)
        w.close()
        w.open("OrgnlGrpInfAndSts")
        w.element("OrgnlMsgId", originalMessageId)
        w.element("OrgnlMsgNmId", originalMessageNameId)
        w.close()
        w.open("TxInfAndSts")
        w.optional("OrgnlInstrId", originalInstructionId)
        w.element("OrgnlEndToEndId", originalEndToEndId)
        w.optional("OrgnlTxId", originalTransactionId)
        w.element("OrgnlUETR", originalUETR)
        w.element("TxSts", status.rawValue)
        if reasonCode != nil || additionalInformation != nil {
            w.open("StsRsnInf")
            if let reasonCode {
                w.open("Rsn")
                w.element("Cd", reasonCode)
                w.close()
            }
            w.optional("AddtlInf", additionalInformation)
            w.close()
        }
        w.optional("AccptncDtTm", acceptanceDateTime)
        if let originalAmount {
            w.open("OrgnlTxRef")
            w.element("IntrBkSttlmAmt", originalAmount.amountString, [("Ccy", originalAmount.currency.code)])
            w.close()
        }
        return w.finish()
    }

    /// Reads and checks a pacs.002: mandatory elements, a known TxSts, a reason code with RJCT, a well-formed
    /// AccptncDtTm and amount.
    /// - Parameter bytes: The document.
    /// - Returns: The report.
    /// - Throws: ``ISO20022Error`` listing every issue.
    public static func parse(_ bytes: [UInt8]) throws(ISO20022Error) -> Pacs002 {
        let root = try XMLNode.parse(bytes)
        guard root.name == "Document", let body = root.child("FIToFIPmtStsRpt") else {
            throw ISO20022Error(ISO20022Issue(path: "Document/FIToFIPmtStsRpt", rule: "mandatory", message: "not a pacs.002 document"))
        }
        var c = IssueCollector()
        let messageId = c.require(body, "", "GrpHdr", "MsgId")
        let created = c.require(body, "", "GrpHdr", "CreDtTm")
        let originalMessageId = c.require(body, "", "OrgnlGrpInfAndSts", "OrgnlMsgId")
        let originalName = c.require(body, "", "OrgnlGrpInfAndSts", "OrgnlMsgNmId")
        let transactions = body.all("TxInfAndSts")
        if transactions.count != 1 { c.add("TxInfAndSts", "mandatory", "the hub expects exactly one TxInfAndSts") }
        let tx = transactions.first
        let endToEnd = c.require(tx, "TxInfAndSts", "OrgnlEndToEndId")
        let uetr = c.require(tx, "TxInfAndSts", "OrgnlUETR")
        let statusText = c.require(tx, "TxInfAndSts", "TxSts")
        let status = TransactionStatus(rawValue: statusText)
        if !statusText.isEmpty && status == nil { c.add("TxInfAndSts/TxSts", "TxSts", "unknown transaction status code") }
        let reason = tx?.text("StsRsnInf", "Rsn", "Cd")
        if status == .rejected && reason == nil { c.add("TxInfAndSts/StsRsnInf/Rsn/Cd", "mandatory", "a rejection carries a reason code") }
        if let reason, !(reason.utf8.count == 4 && reason.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) })) {
            c.add("TxInfAndSts/StsRsnInf/Rsn/Cd", "ExternalStatusReason1Code", "a reason code is 4 letters or digits")
        }
        let accepted = tx?.text("AccptncDtTm")
        if let accepted, !ISODate.isDateTime(accepted) { c.add("TxInfAndSts/AccptncDtTm", "ISODateTime", "AccptncDtTm needs a zone") }
        var amount: Money?
        if let node = tx?.at("OrgnlTxRef", "IntrBkSttlmAmt") { amount = c.amount(node, "TxInfAndSts/OrgnlTxRef/IntrBkSttlmAmt") }
        try c.finish()
        return Pacs002(
            messageId: messageId, creationDateTime: created, originalMessageId: originalMessageId,
            originalMessageNameId: originalName, originalInstructionId: tx?.text("OrgnlInstrId"),
            originalEndToEndId: endToEnd, originalTransactionId: tx?.text("OrgnlTxId"), originalUETR: uetr,
            status: status ?? .pending, reasonCode: reason, additionalInformation: tx?.text("StsRsnInf", "AddtlInf"),
            acceptanceDateTime: accepted, originalAmount: amount)
    }

    /// Checks that the report answers the message the hub sent: OrgnlMsgId (for a pacs.008 answer), OrgnlEndToEndId,
    /// OrgnlUETR and, when repeated, the amount and currency.
    /// - Parameters:
    ///   - messageId: The MsgId sent.
    ///   - endToEndId: The EndToEndId sent.
    ///   - uetr: The UETR sent.
    ///   - amount: The amount sent.
    /// - Throws: ``ISO20022Error`` with rule `reference` or `amount`.
    public func check(answering messageId: String, endToEndId: String, uetr: String, amount: Money) throws(ISO20022Error) {
        var c = IssueCollector()
        if originalMessageId != messageId { c.add("OrgnlGrpInfAndSts/OrgnlMsgId", "reference", "OrgnlMsgId is not the MsgId sent") }
        if originalEndToEndId != endToEndId { c.add("TxInfAndSts/OrgnlEndToEndId", "reference", "OrgnlEndToEndId is not the EndToEndId sent") }
        if originalUETR.lowercased() != uetr { c.add("TxInfAndSts/OrgnlUETR", "reference", "OrgnlUETR is not the UETR sent") }
        if let originalAmount, originalAmount != amount {
            c.add("TxInfAndSts/OrgnlTxRef/IntrBkSttlmAmt", "amount", "the amount or currency differs from the amount sent")
        }
        try c.finish()
    }
}

/// pacs.028.001.03 FIToFIPmtStsReq: a status query by the original references (R-PAY-4).
public struct Pacs028: Sendable, Hashable {
    /// GrpHdr/MsgId of the request.
    public var messageId: String
    /// GrpHdr/CreDtTm.
    public var creationDateTime: String
    /// OrgnlGrpInf/OrgnlMsgId.
    public var originalMessageId: String
    /// TxInf/OrgnlEndToEndId.
    public var originalEndToEndId: String
    /// TxInf/OrgnlUETR.
    public var originalUETR: String

    /// Creates a request.
    public init(messageId: String, creationDateTime: String, originalMessageId: String, originalEndToEndId: String, originalUETR: String) {
        self.messageId = messageId
        self.creationDateTime = creationDateTime
        self.originalMessageId = originalMessageId
        self.originalEndToEndId = originalEndToEndId
        self.originalUETR = originalUETR
    }

    /// The XML document.
    public var xml: String {
        var w = XMLWriter()
        w.open("Document", [("xmlns", ISO20022Namespace.pacs028)])
        w.open("FIToFIPmtStsReq")
        w.open("GrpHdr")
        w.element("MsgId", messageId)
        w.element("CreDtTm", creationDateTime)
        w.close()
        w.open("OrgnlGrpInf")
        w.element("OrgnlMsgId", originalMessageId)
        w.element("OrgnlMsgNmId", "pacs.008.001.08")
        w.close()
        w.open("TxInf")
        w.element("OrgnlEndToEndId", originalEndToEndId)
        w.element("OrgnlUETR", originalUETR)
        return w.finish()
    }

    /// Reads a status request.
    /// - Parameter bytes: The document.
    /// - Returns: The request.
    /// - Throws: ``ISO20022Error``.
    public static func parse(_ bytes: [UInt8]) throws(ISO20022Error) -> Pacs028 {
        let root = try XMLNode.parse(bytes)
        guard root.name == "Document", let body = root.child("FIToFIPmtStsReq") else {
            throw ISO20022Error(ISO20022Issue(path: "Document/FIToFIPmtStsReq", rule: "mandatory", message: "not a pacs.028 document"))
        }
        var c = IssueCollector()
        let messageId = c.require(body, "", "GrpHdr", "MsgId")
        let created = c.require(body, "", "GrpHdr", "CreDtTm")
        let original = c.require(body, "", "OrgnlGrpInf", "OrgnlMsgId")
        let endToEnd = c.require(body, "", "TxInf", "OrgnlEndToEndId")
        let uetr = c.require(body, "", "TxInf", "OrgnlUETR")
        try c.finish()
        return Pacs028(messageId: messageId, creationDateTime: created, originalMessageId: original, originalEndToEndId: endToEnd, originalUETR: uetr)
    }
}
