import Foundation
public import HubCore

/// camt.060.001.05 AcctRptgReq: asks the account's bank for a camt.052 or camt.053 (他行账户信息查询). The account
/// travels in the body, never in a URL (URLs end up in access logs).
public struct AccountReportingRequest: Sendable, Hashable {
    /// GrpHdr/MsgId.
    public var messageId: String
    /// GrpHdr/CreDtTm.
    public var creationDateTime: String
    /// RptgReq/ReqdMsgNmId: `camt.052.001.08` or `camt.053.001.08`.
    public var requestedMessage: String
    /// RptgReq/Acct/Id/Othr/Id.
    public var account: AccountNumber
    /// RptgReq/AcctSvcr (CNAPS).
    public var servicer: CNAPSCode
    /// RptgReq/RptgPrd/FrToDt/FrDt (= ToDt): the business date.
    public var date: String

    /// Creates a request.
    public init(messageId: String, creationDateTime: String, requestedMessage: String, account: AccountNumber, servicer: CNAPSCode, date: String) {
        self.messageId = messageId
        self.creationDateTime = creationDateTime
        self.requestedMessage = requestedMessage
        self.account = account
        self.servicer = servicer
        self.date = date
    }

    /// The XML document.
    public var xml: String {
        var w = XMLWriter()
        w.open("Document", [("xmlns", "urn:iso:std:iso:20022:tech:xsd:camt.060.001.05")])
        w.open("AcctRptgReq")
        w.open("GrpHdr")
        w.element("MsgId", messageId)
        w.element("CreDtTm", creationDateTime)
        w.close()
        w.open("RptgReq")
        w.element("ReqdMsgNmId", requestedMessage)
        w.open("Acct")
        w.open("Id")
        w.open("Othr")
        w.element("Id", account.unmaskedValue)
        w.close()
        w.close()
        w.close()
        w.open("AcctOwnr")
        w.close()
        w.open("AcctSvcr")
        w.open("FinInstnId")
        w.open("ClrSysMmbId")
        w.element("MmbId", servicer.value)
        w.close()
        w.close()
        w.close()
        w.open("RptgPrd")
        w.open("FrToDt")
        w.element("FrDt", date)
        w.element("ToDt", date)
        w.close()
        w.element("Tp", "ALLL")
        return w.finish()
    }

    /// Reads a request (the simulator's side).
    /// - Parameter bytes: The document.
    /// - Returns: The request.
    /// - Throws: ``ISO20022Error``.
    public static func parse(_ bytes: [UInt8]) throws(ISO20022Error) -> AccountReportingRequest {
        let root = try XMLNode.parse(bytes)
        guard let body = root.child("AcctRptgReq") else {
            throw ISO20022Error(ISO20022Issue(path: "Document/AcctRptgReq", rule: "mandatory", message: "not a camt.060 document"))
        }
        var c = IssueCollector()
        let messageId = c.require(body, "", "GrpHdr", "MsgId")
        let created = c.require(body, "", "GrpHdr", "CreDtTm")
        let requested = c.require(body, "", "RptgReq", "ReqdMsgNmId")
        let accountText = c.require(body, "", "RptgReq", "Acct", "Id", "Othr", "Id")
        let servicerText = c.require(body, "", "RptgReq", "AcctSvcr", "FinInstnId", "ClrSysMmbId", "MmbId")
        let date = c.require(body, "", "RptgReq", "RptgPrd", "FrToDt", "FrDt")
        let account = try? AccountNumber(accountText)
        let servicer = try? CNAPSCode(servicerText)
        if !accountText.isEmpty && account == nil { c.add("RptgReq/Acct/Id/Othr/Id", "account-format", "malformed account") }
        if !servicerText.isEmpty && servicer == nil { c.add("RptgReq/AcctSvcr", "R-ID-7", "a CNAPS code is 12 digits") }
        try c.finish()
        guard let account, let servicer else { throw ISO20022Error(ISO20022Issue(path: "RptgReq", rule: "mandatory", message: "account missing")) }
        return AccountReportingRequest(
            messageId: messageId, creationDateTime: created, requestedMessage: requested, account: account,
            servicer: servicer, date: date)
    }
}
