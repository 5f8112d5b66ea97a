public import Foundation
public import HubCore

/// The stateless rules, as pure functions of facts and parameters (the stateful ones — R-AML-5 totals, R-PAY-5
/// duplicates, new counterparties, holds — are in ``ComplianceChecker`` over the `compliance` schema).
public enum Rules {
    /// R-AML-7: why a movement is exempt from large-value totals, or nil.
    /// - Parameters:
    ///   - fact: The movement.
    ///   - exemptions: The configured exemptions.
    /// - Returns: A short reason (`purpose INTE`, `state-organ counterparty`, `same name and institution`), or nil.
    public static func exemption(of fact: TransactionFact, _ exemptions: ComplianceParameters.Exemptions) -> String? {
        if let purpose = fact.purpose, exemptions.purposes.contains(purpose) { return "purpose \(purpose)" }
        let counterparty = fact.direction == .outflow ? fact.creditor : fact.debtor
        if let uscc = counterparty.uscc,
           exemptions.counterpartyUSCCPrefixes.contains(where: { !$0.isEmpty && uscc.hasPrefix($0) }) {
            return "exempt counterparty category"
        }
        if exemptions.sameNameSameInstitution, !fact.isCash,
           let debtorName = fact.debtor.name, let creditorName = fact.creditor.name,
           let debtorAgent = fact.debtor.agent, debtorAgent == fact.creditor.agent,
           NameNormalizer.compact(debtorName) == NameNormalizer.compact(creditorName) {
            return "same name and institution"
        }
        return nil
    }

    /// The R-AML-5 column of an amount: CNY → RMB; USD → USD; other currencies → USD at the configured rate.
    /// - Parameters:
    ///   - amount: The amount.
    ///   - usdRates: USD per unit of each other currency.
    /// - Returns: ("RMB" or "USD", the amount in that column), or nil when no rate is configured.
    public static func column(of amount: Money, usdRates: [String: Decimal]) -> (column: String, amount: Decimal)? {
        if amount.currency == .cny { return ("RMB", amount.amount) }
        if amount.currency == .usd { return ("USD", amount.amount) }
        guard let rate = usdRates[amount.currency.code] else { return nil }
        return ("USD", amount.amount * rate)
    }

    /// R-AML-1..4: whether a total meets its threshold ("以上" includes the amount: ≥).
    /// - Parameters:
    ///   - total: The single amount or day total in its column.
    ///   - column: `RMB` or `USD`.
    ///   - threshold: The criterion's threshold.
    /// - Returns: Whether a report is due.
    public static func meetsThreshold(_ total: Decimal, column: String, _ threshold: ComplianceParameters.Threshold) -> Bool {
        total >= (column == "RMB" ? threshold.rmb : threshold.usd)
    }

    /// The structuring detector's "near the threshold" band: lower × threshold ≤ amount ≤ upper × threshold.
    public static func isNearThreshold(
        _ amount: Decimal, column: String, _ threshold: ComplianceParameters.Threshold, parameters: ComplianceParameters
    ) -> Bool {
        let limit = column == "RMB" ? threshold.rmb : threshold.usd
        return amount >= limit * parameters.structuringLowerRatio && amount <= limit * parameters.structuringUpperRatio
    }

    /// R-PAY-8: a corporate→person transfer strictly above the threshold without a documented basis.
    public static func payrollBasis(_ fact: TransactionFact, parameters: ComplianceParameters) -> Finding? {
        guard fact.isPaymentOrder, fact.customerKind == .enterprise, fact.creditor.kind == .person,
              fact.amount.currency == .cny, fact.amount.amount > parameters.personPaymentBasisThreshold,
              (fact.documentedBasis ?? "").trimmingCharacters(in: .whitespaces).isEmpty
        else { return nil }
        var evidence: JSONObject = [
            "amount": ComplianceEvents.amount(fact.amount),
            "threshold": ComplianceEvents.amount(parameters.personPaymentBasisThreshold, currency: .cny),
        ]
        if let line = fact.lineSequence { evidence["lineSequence"] = .number(JSONNumber(line)) }
        return Finding(
            rule: "R-PAY-8", severity: .error,
            summary: "a corporate-to-person transfer above the threshold has no documented basis", evidence: evidence)
    }

    /// R-FX-2: `used + request ≤ quota` is allowed; above that, documents are needed.
    public static func fxQuota(_ fact: FXQuotaFact, parameters: ComplianceParameters) -> Finding? {
        guard let request = fact.requestUSD else {
            return Finding(
                rule: "R-FX-2", severity: .warning,
                summary: "the request has no USD equivalent, so the quota cannot be checked",
                evidence: ["pointer": "/data/usdEquivalent"])
        }
        let total = fact.usedUSD + request
        guard total > parameters.fxAnnualQuotaUSD else { return nil }
        return Finding(
            rule: "R-FX-2", severity: .warning,
            summary: "the \(fact.kind) exceeds the individual annual quota; documents are needed",
            evidence: [
                "kind": .string(fact.kind),
                "usedUSD": ComplianceEvents.amount(fact.usedUSD, currency: .usd),
                "requestUSD": ComplianceEvents.amount(request, currency: .usd),
                "quotaUSD": ComplianceEvents.amount(parameters.fxAnnualQuotaUSD, currency: .usd),
                "excessUSD": ComplianceEvents.amount(total - parameters.fxAnnualQuotaUSD, currency: .usd),
                "outcome": "needs-documents",
            ])
    }

    /// R-ECNY-1: reject a credit if `balance + amount > cap` for the wallet's tier.
    public static func ecnyTierCap(_ fact: ECNYCreditFact, parameters: ComplianceParameters) -> Finding? {
        guard let cap = parameters.ecnyTierCaps[fact.tier] else { return nil }
        guard fact.balance.currency == .cny, fact.amount.currency == .cny else {
            return Finding(
                rule: "R-ECNY-1", severity: .error, summary: "e-CNY amounts must be in CNY",
                evidence: ["outcome": "reject"])
        }
        let after = fact.balance.amount + fact.amount.amount
        guard after > cap else { return nil }
        return Finding(
            rule: "R-ECNY-1", severity: .error,
            summary: "the credit would take the wallet above its tier's balance cap",
            evidence: [
                "tier": .number(JSONNumber(fact.tier)),
                "cap": ComplianceEvents.amount(cap, currency: .cny),
                "balance": ComplianceEvents.amount(fact.balance),
                "amount": ComplianceEvents.amount(fact.amount),
                "excess": ComplianceEvents.amount(after - cap, currency: .cny),
                "outcome": "reject",
            ])
    }

    /// R-TAX-4: the tax on a red packet to a non-employee.
    ///
    /// Withheld: tax = round_half_up(amount × rate, 2). Payer-borne: taxable = round_half_up(net / (1 − rate), 2),
    /// tax = taxable − net.
    /// - Returns: (taxable amount, tax).
    public static func redPacketTax(amount: Money, payerBorne: Bool, rate: Decimal) throws(ValidationError) -> (taxable: Money, tax: Money) {
        if payerBorne {
            let taxable = try Money.rounded(amount.amount / (1 - rate), currency: amount.currency)
            return (taxable, try taxable.subtracting(amount))
        }
        return (amount, try amount.multiplied(by: rate))
    }

    /// R-TAX-4/5: the withheld tax must be the computed one (non-employees); employees' red packets are wages.
    public static func redPacket(_ fact: RedPacketFact, parameters: ComplianceParameters) -> Finding? {
        if fact.recipientIsEmployee {
            guard !fact.taxWithheld.isZero else { return nil }
            return Finding(
                rule: "R-TAX-5", severity: .note,
                summary: "a red packet to an employee is wages: withhold through payroll, not at 20 %",
                evidence: ["taxWithheld": ComplianceEvents.amount(fact.taxWithheld)])
        }
        guard let (taxable, tax) = try? redPacketTax(amount: fact.amount, payerBorne: fact.payerBorne, rate: parameters.redPacketTaxRate),
              fact.taxWithheld.currency == tax.currency
        else {
            return Finding(rule: "R-TAX-4", severity: .error, summary: "the tax cannot be computed in the payout's currency")
        }
        guard fact.taxWithheld != tax else { return nil }
        return Finding(
            rule: "R-TAX-4", severity: .error,
            summary: "the tax withheld on a red packet to a non-employee differs from 20 % of the taxable amount",
            evidence: [
                "amount": ComplianceEvents.amount(fact.amount),
                "payerBorne": .bool(fact.payerBorne),
                "taxable": ComplianceEvents.amount(taxable),
                "expectedTax": ComplianceEvents.amount(tax),
                "taxWithheld": ComplianceEvents.amount(fact.taxWithheld),
            ])
    }

    /// Detector (REFERENCE §2, high-risk jurisdictions): the other party's bank is a BIC in a configured country.
    public static func highRiskJurisdiction(_ fact: TransactionFact, parameters: ComplianceParameters) -> Finding? {
        guard !parameters.highRiskCountries.isEmpty else { return nil }
        let (role, party) = fact.direction == .outflow ? ("creditor", fact.creditor) : ("debtor", fact.debtor)
        guard let agent = party.agent, let bic = try? BIC(agent) else { return nil }
        let country = String(bic.countryCode)
        guard parameters.highRiskCountries.contains(country) else { return nil }
        var evidence: JSONObject = ["country": .string(country), "party": .string(role), "amount": ComplianceEvents.amount(fact.amount)]
        if let line = fact.lineSequence { evidence["lineSequence"] = .number(JSONNumber(line)) }
        return Finding(
            rule: "AML-DET-HIGH-RISK-JURISDICTION", severity: .warning,
            summary: "the counterparty's bank is in a high-risk jurisdiction", evidence: evidence)
    }
}
