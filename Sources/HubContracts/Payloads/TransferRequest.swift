public import HubCore

/// The payload of `payments.transfer.request.v1` (contracts/schemas/payments/transfer-request.v1.schema.json), as a
/// typed Swift value whose decoding validates every field.
///
/// It lives here, beside the contract, until the payments domain module owns it; the contract checker uses it to
/// prove that the Swift side refuses what the schema refuses (for example an amount sent as a JSON number).
public struct TransferRequest: Sendable, Hashable, Codable {
    /// One side of a transfer.
    public struct Party: Sendable, Hashable, Codable {
        /// The account holder's name.
        public var name: String
        /// The account number (masked in logs).
        public var account: AccountNumber
        /// The account bank's CNAPS code.
        public var bank: CNAPSCode

        /// Creates a party.
        /// - Parameters:
        ///   - name: The account holder's name.
        ///   - account: The account number.
        ///   - bank: The bank's CNAPS code.
        public init(name: String, account: AccountNumber, bank: CNAPSCode) {
            self.name = name
            self.account = account
            self.bank = bank
        }
    }

    /// The message type this payload belongs to.
    public static let messageType = "payments.transfer.request.v1"

    /// The client-unique request reference (at most 35 characters, R-PAY-2).
    public var requestId: String
    /// The payer.
    public var payer: Party
    /// The payee.
    public var payee: Party
    /// The amount.
    public var amount: Money
    /// The purpose, free text.
    public var purpose: String?

    /// Creates a transfer request.
    /// - Parameters:
    ///   - requestId: The client-unique reference.
    ///   - payer: The payer.
    ///   - payee: The payee.
    ///   - amount: The amount.
    ///   - purpose: The purpose (default none).
    public init(requestId: String, payer: Party, payee: Party, amount: Money, purpose: String? = nil) {
        self.requestId = requestId
        self.payer = payer
        self.payee = payee
        self.amount = amount
        self.purpose = purpose
    }
}
