import Foundation
import HubCore
@testable import PaymentsService

/// Fixed instants in Asia/Shanghai for routing tests (2026-11-23 is a Monday).
enum Fixtures {
    static func instant(_ date: String, _ hour: Int, _ minute: Int) -> Date {
        CalendarDate(date)!.at(hour: hour, minute: minute)
    }

    static let enterprise = try! USCC("91320500MA1Q7H2K3A")

    static func transferPayload(
        clientRequestId: String = "req-1", amount: String = "1250.00", currency: String = "CNY",
        creditorKind: String = "enterprise", wallet: Bool = false, documentedBasis: String? = nil
    ) -> TransferRequestPayload {
        TransferRequestPayload(
            clientRequestId: clientRequestId, channel: nil,
            debtor: DebtorPayload(name: "苏州汇通制造有限公司", account: "6222020200001234567", agent: "102305000014",
                                  kind: "enterprise"),
            creditor: wallet
                ? CreditorPayload(name: "张三", kind: creditorKind, account: nil, agent: nil, wallet: "0012345678901234",
                                  walletOperator: "ICBC")
                : CreditorPayload(name: "上海供应商有限公司", kind: creditorKind, account: "31001234567890",
                                  agent: "104290003019", wallet: nil, walletOperator: nil),
            amount: AmountPayload(value: amount, currency: currency), requestedExecutionDate: nil, purpose: "SUPP",
            remittanceInformation: "INV-2026-001", crossBorder: nil, duplicateOverride: nil,
            documentedBasis: documentedBasis)
    }
}
