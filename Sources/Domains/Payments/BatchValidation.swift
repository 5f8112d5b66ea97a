public import Foundation
public import HubCore

/// A batch that passed the whole-file checks; each line carries its own instruction or rejection.
public struct ValidatedBatch: Sendable {
    /// One line's outcome.
    public struct Line: Sendable {
        /// The sequence number.
        public var sequence: Int
        /// The instruction, or why the line is refused.
        public var result: Result<TransferInstruction, Rejection>
    }

    /// The payer's USCC.
    public var enterpriseID: String
    /// The channel.
    public var channel: String
    /// The client's batch reference.
    public var batchId: String
    /// `payroll` or `transfers`.
    public var kind: String
    /// The control sum (verified).
    public var controlSum: Money
    /// The original batch of a retry (R-PAY-7).
    public var originalBatchId: String?
    /// The lines, in request order.
    public var lines: [Line]
}

extension TransferValidation {
    /// Validates a batch request: the whole file first (R-PAY-6: NbOfTxs and CtrlSum, payer, currency, dates),
    /// then each line on its own (payee, amount, ID number, R-PAY-8 unless a payroll batch has a documented basis).
    /// - Parameters:
    ///   - payload: The structurally decoded payload.
    ///   - enterpriseID: The envelope's `enterpriseid`.
    ///   - now: The current instant.
    /// - Returns: The batch with per-line outcomes.
    /// - Throws: ``Rejection`` for the whole batch.
    public func validate(_ payload: BatchRequestPayload, enterpriseID: USCC?, now: Date) throws(Rejection)
        -> ValidatedBatch
    {
        guard let enterpriseID else {
            throw Rejection(.missingDebtorIdentification, "the envelope has no enterpriseid (the payer's USCC)",
                            pointer: "/enterpriseid")
        }
        let channel = try Self.channel(payload.channel)
        guard payload.kind == "payroll" || payload.kind == "transfers" else {
            throw Rejection(.invalidFileFormat, "kind is 'payroll' or 'transfers'", pointer: "/data/kind")
        }
        let payer = try debtor(payload.payer, pointer: "/data/payer")
        guard payload.currency == "CNY" else {
            throw Rejection(.invalidCurrency, "only CNY is offered on these rails", pointer: "/data/currency")
        }
        guard let controlSum = try? Money(string: payload.controlSum, currency: .cny), !controlSum.isNegative else {
            throw Rejection(.invalidFileFormat, "controlSum is a decimal string with at most 2 decimals",
                            pointer: "/data/controlSum")
        }
        guard (1...configuration.batchMaximumLines).contains(payload.lines.count) else {
            throw Rejection(.invalidFileFormat, "a batch has 1 to \(configuration.batchMaximumLines) lines",
                            pointer: "/data/lines")
        }
        guard payload.numberOfTransactions == payload.lines.count else {
            throw Rejection(.invalidFileFormat,
                            "numberOfTransactions is \(payload.numberOfTransactions) but the batch has "
                                + "\(payload.lines.count) lines (R-PAY-6)",
                            pointer: "/data/numberOfTransactions")
        }
        var sequences = Set<Int>()
        var sum = Money.zero(.cny)
        for (index, line) in payload.lines.enumerated() {
            guard line.sequence >= 1, sequences.insert(line.sequence).inserted else {
                throw Rejection(.invalidFileFormat, "line sequence numbers are unique and start at 1",
                                pointer: "/data/lines/\(index)/sequence")
            }
            guard line.amount.currency == payload.currency,
                  let amount = try? Money(string: line.amount.value, currency: .cny),
                  let total = try? sum.adding(amount)
            else {
                throw Rejection(.invalidFileFormat,
                                "every line amount is a CNY decimal string, so that the control sum can be checked "
                                    + "(R-PAY-6)",
                                pointer: "/data/lines/\(index)/amount")
            }
            sum = total
        }
        guard sum == controlSum else {
            throw Rejection(.invalidFileFormat,
                            "controlSum \(controlSum.amountString) differs from the sum of the lines "
                                + "\(sum.amountString) (R-PAY-6)",
                            pointer: "/data/controlSum")
        }
        let date = try executionDate(payload.requestedExecutionDate, now: now)
        try Self.text(payload.purpose, max: 35, pointer: "/data/purpose")
        try Self.text(payload.documentedBasis, max: 140, pointer: "/data/documentedBasis")
        if let original = payload.originalBatchId, !Self.isClientReference(original) {
            throw Rejection(.invalidFileFormat, "originalBatchId is ≤ 35 of [A-Za-z0-9._:/-]",
                            pointer: "/data/originalBatchId")
        }
        if payload.originalBatchId == payload.batchId {
            throw Rejection(.invalidFileFormat, "a retry is a new batch: batchId must differ from originalBatchId",
                            pointer: "/data/originalBatchId")
        }
        // R-PAY-8: a payroll batch with a documented basis (payroll agreement and payee list) covers its lines.
        let batchBasis = payload.kind == "payroll" ? payload.documentedBasis : nil
        let lines = payload.lines.enumerated().map { index, line -> ValidatedBatch.Line in
            let pointer = "/data/lines/\(index)"
            do throws(Rejection) {
                let creditor = try creditor(line.creditor, pointer: pointer + "/creditor")
                let amount = try amount(line.amount, pointer: pointer + "/amount")
                if let idNumber = line.idNumber, (try? ResidentID(idNumber, now: now)) == nil {
                    throw Rejection(.invalidFileFormat, "idNumber is not a valid resident ID number (R-ID-4)",
                                    pointer: pointer + "/idNumber")
                }
                let instruction = TransferInstruction(
                    enterpriseID: enterpriseID.value, channel: channel, clientRequestId: payload.batchId,
                    debtor: payer, creditor: creditor, amount: amount, requestedExecutionDate: date?.description,
                    purpose: payload.purpose, remittanceInformation: nil, duplicateOverride: false,
                    documentedBasis: batchBasis)
                try checkPersonLimit(instruction, basis: batchBasis, pointer: "/data/documentedBasis")
                return ValidatedBatch.Line(sequence: line.sequence, result: .success(instruction))
            } catch {
                return ValidatedBatch.Line(sequence: line.sequence, result: .failure(error))
            }
        }
        return ValidatedBatch(
            enterpriseID: enterpriseID.value, channel: channel, batchId: payload.batchId, kind: payload.kind,
            controlSum: controlSum, originalBatchId: payload.originalBatchId, lines: lines)
    }
}
