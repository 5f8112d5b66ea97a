import Foundation
import HubContracts
import HubCore
import HubCrypto
@testable import ECNYAdapter
import Testing

@Suite("e-CNY protocol: SM2 signing (R-ECNY-2, R-SEC-2), tier caps (R-ECNY-1), reason mapping")
struct ECNYProtocolTests {
    static let submit = ECNYTransferSubmit(
        transferId: "019a1b2c-3d4f-7a00-9b1b-2c3d4e5f6075", payerAccount: .init(account: try! AccountNumber("32250199880600001234"), agent: try! CNAPSCode("102305012345")),
        payeeWallet: "3000000000190000", payeeOperator: "ICBC", amount: try! Money(string: "1000.00", currencyCode: "CNY"),
        purpose: "工资", enterpriseId: try! USCC("91320500MA1Q7H2K3A"), authoriser: "财务 张三")

    @Test("R-ECNY-2: the request carries message id, payer, payee wallet and operator, amount in fen, purpose, timestamp, USCC, authoriser")
    func requestFields() throws {
        let id = try #require(UUID(uuidString: Self.submit.transferId))
        let body = ECNYRequest.transfer(Self.submit, messageId: ECNYProtocol.messageId(for: id))
        let object = try #require(try JSONValue.parse(body).objectValue)
        #expect(object["messageId"]?.stringValue == "EC019a1b2c3d4f7a009b1b2c3d4e5f6075")
        #expect(object["payee"]?["wallet"]?.stringValue == "3000000000190000")
        #expect(object["payee"]?["operator"]?.stringValue == "ICBC")
        #expect(object["payer"]?["agent"]?.stringValue == "102305012345")
        #expect(object["amountFen"] == .number(JSONNumber(100000)))
        #expect(object["purpose"]?.stringValue == "工资")
        #expect(object["enterpriseId"]?.stringValue == "91320500MA1Q7H2K3A")
        #expect(object["authoriser"]?.stringValue == "财务 张三")
        #expect((try? Timestamp(rfc3339: object["timestamp"]?.stringValue ?? "")) != nil)
    }

    @Test("A signed body verifies; a changed byte, another signer ID (R-SEC-2) or another key does not")
    func signatures() throws {
        let key = try SM2.PrivateKey()
        let other = try SM2.PrivateKey()
        let id = try SM2.SignerID("huitong-hub")
        let body = Array(#"{"messageId":"EC1","amountFen":100000}"#.utf8)
        let header = try ECNYProtocol.sign(body, key: key, signerID: id)
        #expect(ECNYProtocol.verify(body, header: header, key: key.publicKey, signerID: id))
        var tampered = body
        tampered[tampered.count - 3] = UInt8(ascii: "1")
        #expect(!ECNYProtocol.verify(tampered, header: header, key: key.publicKey, signerID: id))
        #expect(!ECNYProtocol.verify(body, header: header, key: key.publicKey, signerID: .default))
        #expect(!ECNYProtocol.verify(body, header: header, key: other.publicKey, signerID: id))
        #expect(!ECNYProtocol.verify(body, header: nil, key: key.publicKey, signerID: id))
        #expect(!ECNYProtocol.verify(body, header: "not base64!", key: key.publicKey, signerID: id))
    }

    @Test("Vector 24 (R-ECNY-1): tier 3 cap 20,000, balance 19,000: 1,000.00 accepted, 1,000.01 refused")
    func tierCaps() throws {
        let caps = try TierCaps(parsing: "1=none,2=500000,3=20000,4=10000")
        let balance = try Money(string: "19000.00", currencyCode: "CNY")
        #expect(caps.allowsCredit(try Money(string: "1000.00", currencyCode: "CNY"), toBalance: balance, tier: 3))
        #expect(!caps.allowsCredit(try Money(string: "1000.01", currencyCode: "CNY"), toBalance: balance, tier: 3))
        #expect(caps.allowsCredit(try Money(string: "9999999.00", currencyCode: "CNY"), toBalance: balance, tier: 1))
        #expect(throws: ValidationError.self) { try TierCaps(parsing: "5=100") }
    }

    @Test("Operator rejection codes map to ISO 20022 reason codes")
    func reasonCodes() {
        #expect(ECNYProtocol.isoReasonCode(for: "BALANCE_CAP_EXCEEDED") == "AM14")
        #expect(ECNYProtocol.isoReasonCode(for: "WALLET_NOT_FOUND") == "AC01")
        #expect(ECNYProtocol.isoReasonCode(for: "WALLET_FROZEN") == "AC06")
        #expect(ECNYProtocol.isoReasonCode(for: "INSUFFICIENT_BALANCE") == "AM04")
        #expect(ECNYProtocol.isoReasonCode(for: "SOMETHING_NEW") == "NARR")
    }

    @Test("Operator messages: a settlement without its transaction id or time, or an unknown status, is malformed")
    func operatorMessages() {
        let good = OperatorMessage(messageId: "EC1", transferId: "t", status: "SETTLED", operatorTransactionId: "OP1",
                                   settledAt: "2026-11-23T10:00:00.000+08:00", notificationId: "N1")
        #expect(OperatorMessage.parse(good.bytes) == good)
        var missing = good
        missing.operatorTransactionId = nil
        #expect(OperatorMessage.parse(missing.bytes) == nil)
        var unknown = good
        unknown.status = "DONE"
        #expect(OperatorMessage.parse(unknown.bytes) == nil)
    }

    @Test("Dev keys are created once, pairs match, and a second run keeps them")
    func keys() throws {
        let directory = NSTemporaryDirectory() + "huitong-keys-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try ECNYKeys.ensure(directory: directory).count == 4)
        #expect(try ECNYKeys.ensure(directory: directory).isEmpty)
        let hub = try ECNYKeys.privateKey(directory, ECNYKeys.hubPrivate)
        let hubPublic = try ECNYKeys.publicKey(directory, ECNYKeys.hubPublic)
        let signature = try hub.signature(for: Array("x".utf8))
        #expect(hubPublic.isValidSignature(signature, for: Array("x".utf8)))
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/" + ECNYKeys.hubPrivate)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
