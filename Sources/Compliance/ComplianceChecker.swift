import CoreMetrics
import Foundation
public import HubCore
public import HubRuntime
import HubStore
import Logging

/// The compliance checker: a tap on all traffic (`tap.compliance`, bound to `#`), run by the consumer runtime
/// (inbox dedupe, one transaction, findings through the outbox).
///
/// Per message: its facts (``FactExtractors``; a type no rule concerns is only recorded as seen, by the inbox, and
/// produces nothing), then every rule; each finding is stored in `compliance.findings` and emitted as
/// `compliance.finding.raised.v1`; large-value criteria met produce `compliance.report.large-value.v1`; and every
/// command of a screened type gets exactly one verdict, `compliance.screening.cleared.v1` or
/// `compliance.hold.placed.v1`.
public struct ComplianceChecker: MessageHandler {
    /// The consumer queue of the `compliance` role.
    public static let queue = "tap.compliance"

    /// The parameters.
    public let parameters: ComplianceParameters
    /// The watchlists (reloaded by ``WatchlistReloader``).
    public let watchlists: WatchlistStore
    /// The working-day calendar for R-AML-8 deadlines (Asia/Shanghai).
    public let calendar: BusinessCalendar

    /// Creates the checker.
    /// - Parameters:
    ///   - parameters: Rule parameters.
    ///   - watchlists: The watchlist store.
    ///   - calendar: The working-day calendar.
    public init(parameters: ComplianceParameters, watchlists: WatchlistStore, calendar: BusinessCalendar) {
        self.parameters = parameters
        self.watchlists = watchlists
        self.calendar = calendar
    }

    /// The types with rules, and the screened types.
    public var messageTypes: Set<String> { FactExtractors.types.union(parameters.screenedTypes) }

    /// A tap: every type is accepted (and most produce nothing).
    public var acceptsEveryMessageType: Bool { true }

    /// One customer's messages in order: the enterprise, else the customer or person in the payload.
    public func aggregateKey(for envelope: Envelope) -> String {
        if let enterprise = envelope.enterpriseID { return enterprise.value }
        if let id = envelope.data["customer"]?["id"]?.stringValue { return id }
        if let id = envelope.data["person"]?["idNumber"]?.stringValue { return id }
        return envelope.correlationID.map { $0.uuidString } ?? envelope.id.description
    }

    /// Applies every rule to one message in the runtime's transaction.
    /// - Parameters:
    ///   - message: The message.
    ///   - context: The transaction and logger.
    /// - Returns: Findings, reports and the verdict.
    /// - Throws: A database error (transient: retried).
    public func handle(_ message: InboundMessage, context: HandlerContext) async throws -> [OutboundMessage] {
        let envelope = message.envelope
        let screened = parameters.screenedTypes.contains(envelope.type.value)
        // Compliance's own types have no extractor and are not screened, so they produce nothing. (Never trust
        // `source` for this: a partner could set it to evade screening.)
        guard var facts = FactExtractors.facts(of: envelope) ?? (screened ? MessageFacts() : nil) else { return [] }
        if screened, facts.subjects.isEmpty, let uscc = envelope.enterpriseID?.value {
            facts.subjects.append(ScreeningSubject(field: .uscc, value: uscc, pointer: "/enterpriseid"))
        }
        var evaluation = Evaluation()
        let transaction = context.transaction

        if !facts.problems.isEmpty {
            let pointers = facts.problems.prefix(10).map { JSONValue.string("\($0.pointer) (\($0.code))") }
            evaluation.findings.append(
                Finding(
                    rule: "CMP-INPUT", severity: screened ? .error : .warning,
                    summary: "the message cannot be fully checked: values are missing or malformed",
                    evidence: ["problems": .array(pointers)]))
            if screened { evaluation.holdReasons.append(("CMP-INPUT", "the command could not be fully screened")) }
        }

        // R-AML-9: watchlist screening.
        let hits = watchlists.index.screen(facts.subjects)
        for hit in hits {
            evaluation.findings.append(
                Finding(
                    rule: "R-AML-9", severity: .error, summary: "a party matches a watchlist entry",
                    evidence: [
                        "list": .string(hit.list), "entryId": .string(hit.entryID), "field": .string(hit.field.rawValue),
                        "pointer": .string(hit.pointer),
                    ]))
        }
        for hit in hits {
            // Remembered so that a re-screening after a list update does not raise it again.
            try await transaction.execute(
                """
                INSERT INTO compliance.watchlist_hits (list, entry_id, subject_key, first_message_id) \
                VALUES (\(hit.list), \(hit.entryID), \(hit.subjectKey), \(envelope.id.uuid)) ON CONFLICT DO NOTHING
                """)
        }
        if !hits.isEmpty && parameters.holds.onScreeningHit {
            evaluation.holdReasons.append(("R-AML-9", "watchlist match (\(Set(hits.map(\.list)).sorted().joined(separator: ", ")))"))
        }

        for fact in facts.transactions {
            try await evaluate(fact, envelope: envelope, in: transaction, into: &evaluation, logger: context.logger)
        }
        if let fx = facts.fx, let finding = Rules.fxQuota(fx, parameters: parameters) { evaluation.findings.append(finding) }
        if let credit = facts.ecnyCredit, let finding = Rules.ecnyTierCap(credit, parameters: parameters) {
            evaluation.findings.append(finding)
        }
        if let packet = facts.redPacket, let finding = Rules.redPacket(packet, parameters: parameters) {
            evaluation.findings.append(finding)
        }

        var emitted: [OutboundMessage] = []
        let subjectKey = envelope.id.description
        for finding in evaluation.findings {
            emitted.append(try await record(finding, about: envelope, in: transaction))
            context.logger.info(
                "compliance finding",
                metadata: ["compliance.rule": "\(finding.rule)", "compliance.severity": "\(finding.severity.rawValue)"])
            Counter(label: "compliance_findings_total", dimensions: [("rule", finding.rule), ("severity", finding.severity.rawValue)])
                .increment()
        }
        emitted += evaluation.reports.map { OutboundMessage(envelope: $0, aggregateKey: subjectKey) }

        if screened {
            if parameters.holds.onErrorFinding {
                for finding in evaluation.findings where finding.severity == .error && finding.rule != "R-AML-9" && finding.rule != "CMP-INPUT" {
                    evaluation.holdReasons.append((finding.rule, finding.summary))
                }
            }
            emitted.append(try await verdict(for: envelope, reasons: evaluation.holdReasons, in: transaction, logger: context.logger))
        }
        return emitted
    }

    /// What one message's rules found.
    struct Evaluation {
        var findings: [Finding] = []
        var reports: [Envelope] = []
        var holdReasons: [(rule: String, text: String)] = []
    }

    // MARK: Transactions: R-AML-1..8, R-PAY-5, R-PAY-8, detectors

    private func evaluate(
        _ fact: TransactionFact, envelope: Envelope, in transaction: PostgresTransaction, into evaluation: inout Evaluation,
        logger: Logger
    ) async throws {
        let exempt = Rules.exemption(of: fact, parameters.exemptions)
        guard let (column, columnAmount) = Rules.column(of: fact.amount, usdRates: parameters.usdRates) else {
            evaluation.findings.append(
                Finding(
                    rule: "R-AML-5", severity: .warning,
                    summary: "no USD rate is configured for the currency, so the amount cannot be compared with the USD column",
                    evidence: ["currency": .string(fact.amount.currency.code)]))
            return
        }
        let day = calendar.date(of: fact.occurredAt)
        let criterion = fact.criterion
        let duplicateKey: String? = fact.isPaymentOrder
            ? [fact.debtor.account ?? "", fact.creditor.counterpartyKey ?? "", fact.amount.amountString,
               fact.amount.currency.code, fact.valueDate ?? day.description].joined(separator: "|")
            : nil
        let elements = reportElements(fact, envelope: envelope)
        let threshold = parameters.threshold(for: criterion)
        let near = Rules.isNearThreshold(columnAmount, column: column, threshold, parameters: parameters)
        let checkDuplicates = duplicateKey != nil && !fact.duplicateOverride
        let window = Double(parameters.duplicateWindowSeconds)
        let counterparty = fact.direction == .outflow ? fact.creditor.counterpartyKey : nil
        // One statement, one round trip, for what used to take four: the movement recorded once (by its key), and
        // only if it is new: the R-PAY-5 look-back (its snapshot predates the statement, so it never counts this
        // movement), the counterparty remembered, and the R-AML-5 day total (not for an R-AML-7 exemption).
        let row = try await transaction.query(
            """
            WITH inserted AS (INSERT INTO compliance.transactions (fact_key, message_id, message_type, customer_id, \
            customer_kind, direction, criterion, amount_column, business_day, amount, currency, column_amount, occurred_at, \
            duplicate_key, exempt_reason, elements) VALUES (\(fact.key), \(envelope.id.uuid), \(envelope.type.value), \
            \(fact.customerID), \(fact.customerKind.rawValue), \(fact.direction.rawValue), \(criterion.rule), \(column), \
            \(day.description)::date, \(fact.amount.amount), \(fact.amount.currency.code), \(columnAmount), \(fact.occurredAt), \
            \(duplicateKey), \(exempt), \(PostgresJSON(elements.canonicalString))) ON CONFLICT (fact_key) DO NOTHING RETURNING id), \
            earlier AS (SELECT count(*)::int8 AS n FROM compliance.transactions WHERE \(checkDuplicates)::bool \
            AND EXISTS (SELECT 1 FROM inserted) AND duplicate_key = \(duplicateKey)::text AND fact_key <> \(fact.key) \
            AND occurred_at >= \(fact.occurredAt.addingTimeInterval(-window)) \
            AND occurred_at <= \(fact.occurredAt.addingTimeInterval(window))), \
            counterparty AS (INSERT INTO compliance.counterparties (customer_id, counterparty) \
            SELECT \(fact.customerID)::text, \(counterparty)::text WHERE \(counterparty)::text IS NOT NULL \
            AND EXISTS (SELECT 1 FROM inserted) ON CONFLICT DO NOTHING RETURNING 1), \
            totals AS (INSERT INTO compliance.daily_totals (customer_id, direction, criterion, amount_column, business_day, \
            total, transactions, near_count, near_total) SELECT \(fact.customerID)::text, \(fact.direction.rawValue)::text, \
            \(criterion.rule)::text, \(column)::text, \(day.description)::date, \(columnAmount)::numeric, 1, \
            \(near ? 1 : 0)::int4, \(near ? columnAmount : Decimal(0))::numeric \
            WHERE \(exempt == nil)::bool AND EXISTS (SELECT 1 FROM inserted) \
            ON CONFLICT (customer_id, direction, criterion, amount_column, business_day) DO UPDATE SET \
            total = compliance.daily_totals.total + EXCLUDED.total, \
            transactions = compliance.daily_totals.transactions + 1, \
            near_count = compliance.daily_totals.near_count + EXCLUDED.near_count, \
            near_total = compliance.daily_totals.near_total + EXCLUDED.near_total \
            RETURNING total, transactions, near_count, near_total, report_id, structuring_flagged) \
            SELECT (SELECT count(*) FROM inserted)::int8, (SELECT n FROM earlier), (SELECT count(*) FROM counterparty)::int8, \
            t.total, t.transactions, t.near_count, t.near_total, t.report_id, t.structuring_flagged \
            FROM (VALUES (1)) AS one (x) LEFT JOIN totals t ON true
            """
        ).rows[0]
        // A resubmitted request (same idempotency key) was counted when first seen. If that first request is held
        // (or was rejected), the resubmission is held too: it must never be the way around a hold.
        guard try row.decode(Int64.self, at: 0) == 1 else {
            let held = try await transaction.query(
                """
                SELECT h.status FROM compliance.transactions t JOIN compliance.holds h ON h.subject_message_id = t.message_id \
                WHERE t.fact_key = \(fact.key) AND h.status IN ('open', 'rejected', 'expired')
                """
            ).rows
            if !held.isEmpty {
                evaluation.holdReasons.append(("HOLD-RESUBMISSION", "resubmission of a command that is held or was rejected"))
            }
            return
        }

        // R-PAY-5: the same debtor, creditor, amount, currency and value date within the window.
        if checkDuplicates {
            let earlier = try row.decode(Int64.self, at: 1)
            if earlier > 0 {
                var evidence: JSONObject = [
                    "amount": ComplianceEvents.amount(fact.amount), "earlierRequests": .number(JSONNumber(Int(earlier))),
                    "windowSeconds": .number(JSONNumber(parameters.duplicateWindowSeconds)),
                ]
                if let line = fact.lineSequence { evidence["lineSequence"] = .number(JSONNumber(line)) }
                evaluation.findings.append(
                    Finding(
                        rule: "R-PAY-5", severity: .warning,
                        summary: "a payment with the same debtor, creditor, amount, currency and value date was requested within the window without an override",
                        evidence: evidence))
            }
        }
        if let finding = Rules.payrollBasis(fact, parameters: parameters) { evaluation.findings.append(finding) }
        if let finding = Rules.highRiskJurisdiction(fact, parameters: parameters) { evaluation.findings.append(finding) }

        // Hold policy: first payment to a new counterparty; large amounts.
        if counterparty != nil, try row.decode(Int64.self, at: 2) == 1, parameters.holds.onNewCounterparty {
            evaluation.holdReasons.append(("HOLD-NEW-COUNTERPARTY", "first payment to a new counterparty"))
        }
        if let limit = parameters.holds.amountThreshold, column == "RMB", fact.amount.amount >= limit {
            evaluation.holdReasons.append(("HOLD-AMOUNT", "amount at or above the review threshold"))
        }

        guard exempt == nil else { return }  // R-AML-7

        // R-AML-5: per customer, per direction, per criterion and column, per Asia/Shanghai day.
        let total = try row.decode(Decimal.self, at: 3)
        let count = Int(try row.decode(Int32.self, at: 4))
        let nearCount = Int(try row.decode(Int32.self, at: 5))
        let nearTotal = try row.decode(Decimal.self, at: 6)
        let existingReport = try row.decode(UUID?.self, at: 7)
        let structuringFlagged = try row.decode(Bool.self, at: 8)
        let key = DayKey(customerID: fact.customerID, direction: fact.direction, criterion: criterion, column: column, day: day)

        if Rules.meetsThreshold(total, column: column, threshold) {
            let single = Rules.meetsThreshold(columnAmount, column: column, threshold)
            let rules = single && count == 1 ? [criterion.rule] : [criterion.rule, "R-AML-5"]
            if let existingReport {
                // Already reported today (R-AML-6: one report per criterion): this movement supplements it.
                evaluation.reports.append(
                    contentsOf: try await report(
                        key, rules: rules, total: total, threshold: threshold, supplements: existingReport,
                        elements: [elements], fact: fact, envelope: envelope, in: transaction, logger: logger))
            } else {
                let reportID = UUID()
                let claimed = try await transaction.execute(
                    """
                    UPDATE compliance.daily_totals SET report_id = \(reportID) WHERE customer_id = \(key.customerID) \
                    AND direction = \(key.direction.rawValue) AND criterion = \(key.criterion.rule) \
                    AND amount_column = \(key.column) AND business_day = \(key.day.description)::date AND report_id IS NULL
                    """)
                if claimed == 1 {
                    let all = try await transaction.query(
                        """
                        SELECT elements::text FROM compliance.transactions WHERE customer_id = \(key.customerID) \
                        AND direction = \(key.direction.rawValue) AND criterion = \(key.criterion.rule) \
                        AND amount_column = \(key.column) AND business_day = \(key.day.description)::date \
                        AND exempt_reason IS NULL ORDER BY id
                        """
                    ).rows.map { row in try JSONValue.parse(try row.decode(String.self, at: 0)) }
                    evaluation.reports.append(
                        contentsOf: try await report(
                            key, rules: rules, total: total, threshold: threshold, supplements: nil, elements: all,
                            fact: fact, envelope: envelope, in: transaction, logger: logger, reportID: reportID))
                }
            }
        }

        // Detector: structuring — several just-below-threshold movements the same day that together reach it.
        if near, !structuringFlagged, nearCount >= parameters.structuringMinimumCount,
           Rules.meetsThreshold(nearTotal, column: column, threshold) {
            let flagged = try await transaction.execute(
                """
                UPDATE compliance.daily_totals SET structuring_flagged = true WHERE customer_id = \(key.customerID) \
                AND direction = \(key.direction.rawValue) AND criterion = \(key.criterion.rule) \
                AND amount_column = \(key.column) AND business_day = \(key.day.description)::date AND NOT structuring_flagged
                """)
            if flagged == 1 {
                let currency: CurrencyCode = column == "RMB" ? .cny : .usd
                evaluation.findings.append(
                    Finding(
                        rule: "AML-DET-STRUCTURING", severity: .warning,
                        summary: "several just-below-threshold movements on one day together reach the large-value threshold",
                        evidence: [
                            "criterion": .string(criterion.rule), "direction": .string(fact.direction.rawValue),
                            "businessDay": .string(day.description), "nearThresholdCount": .number(JSONNumber(nearCount)),
                            "nearThresholdTotal": ComplianceEvents.amount(nearTotal, currency: currency),
                            "threshold": ComplianceEvents.amount(column == "RMB" ? threshold.rmb : threshold.usd, currency: currency),
                        ]))
            }
        }
    }

    struct DayKey {
        var customerID: String
        var direction: FlowDirection
        var criterion: LargeValueCriterion
        var column: String
        var day: LocalDate
    }

    /// The data elements of one movement for an R-AML-8 report.
    private func reportElements(_ fact: TransactionFact, envelope: Envelope) -> JSONValue {
        var object: JSONObject = [
            "messageId": .string(envelope.id.description),
            "messageType": .string(envelope.type.value),
            "occurredAt": .string(Timestamp(fact.occurredAt).text),
            "amount": ComplianceEvents.amount(fact.amount),
            "crossBorder": .bool(fact.crossBorder),
            "cash": .bool(fact.isCash),
            "debtor": fact.debtor.jsonValue,
            "creditor": fact.creditor.jsonValue,
        ]
        if let channel = fact.channel { object["channel"] = .string(channel) }
        if let purpose = fact.purpose { object["purpose"] = .string(purpose) }
        if let line = fact.lineSequence { object["lineSequence"] = .number(JSONNumber(line)) }
        return .object(object)
    }

    private func report(
        _ key: DayKey, rules: [String], total: Decimal, threshold: ComplianceParameters.Threshold, supplements: UUID?,
        elements: [JSONValue], fact: TransactionFact, envelope: Envelope, in transaction: PostgresTransaction,
        logger: Logger, reportID: UUID = UUID()
    ) async throws -> [Envelope] {
        let currency: CurrencyCode = key.column == "RMB" ? .cny : .usd
        let deadline = calendar.addingWorkingDays(parameters.reportDeadlineWorkingDays, to: key.day)
        if !calendar.covers(key.day) || !calendar.covers(deadline) {
            // The holiday data ends before the deadline: the count assumed weekends only. An operator must load
            // the next year's calendar (R-GEN-4).
            logger.warning(
                "R-AML-8 deadline computed beyond the working-day calendar's coverage (weekends only)",
                metadata: ["compliance.calendar": "\(calendar.name)", "compliance.deadline": "\(deadline)"])
        }
        var customer: JSONObject = ["id": .string(key.customerID), "kind": .string(fact.customerKind.rawValue)]
        if let name = fact.customerName { customer["name"] = .string(name) }
        var data: JSONObject = [
            "reportId": .string(reportID.uuidString.lowercased()),
            "rules": .array(rules.map { .string($0) }),
            "criterion": .string(key.criterion.rule),
            "customer": .object(customer),
            "direction": .string(key.direction.rawValue),
            "businessDay": .string(key.day.description),
            "total": ComplianceEvents.amount(total, currency: currency),
            "threshold": ComplianceEvents.amount(key.column == "RMB" ? threshold.rmb : threshold.usd, currency: currency),
            "deadline": .string(deadline.description),
            "calendar": .string(calendar.name),
            "subjectMessageId": .string(envelope.id.description),
        ]
        if let supplements { data["supplementsReportId"] = .string(supplements.uuidString.lowercased()) }
        try await transaction.execute(
            """
            INSERT INTO compliance.reports (report_id, rules, customer_id, direction, criterion, business_day, total, \
            currency, deadline, supplements, subject_message_id) VALUES (\(reportID), \
            string_to_array(\(rules.joined(separator: ",")), ','), \(key.customerID), \(key.direction.rawValue), \
            \(key.criterion.rule), \(key.day.description)::date, \(total), \(currency.code), \(deadline.description)::date, \
            \(supplements), \(envelope.id.uuid))
            """)
        Counter(label: "compliance_reports_total", dimensions: [("criterion", key.criterion.rule)]).increment()
        // One message per share of the transactions, in order, so that none exceeds a consumer's body limit.
        let share = max(parameters.reportTransactionsPerMessage, 1)
        let parts = stride(from: 0, to: max(elements.count, 1), by: share).map {
            Array(elements[$0..<min($0 + share, elements.count)])
        }
        if parts.count > 1 {
            logger.info(
                "R-AML-8 report sent in parts",
                metadata: ["compliance.report": "\(reportID)", "compliance.parts": "\(parts.count)",
                           "compliance.transactions": "\(elements.count)"])
        }
        return try parts.enumerated().map { index, transactions in
            var part = data
            part["transactions"] = .array(transactions)
            if parts.count > 1 {
                part["part"] = .object(["number": .number(JSONNumber(index + 1)), "of": .number(JSONNumber(parts.count))])
            }
            return try ComplianceEvents.envelope(ComplianceEvents.largeValueReport, data: part, causedBy: envelope)
        }
    }

    // MARK: Findings and verdicts

    private func record(_ finding: Finding, about envelope: Envelope, in transaction: PostgresTransaction) async throws
        -> OutboundMessage
    {
        let findingID = UUID()
        try await transaction.execute(
            """
            INSERT INTO compliance.findings (finding_id, rule, severity, subject_message_id, subject_type, correlation_id, \
            summary, evidence) VALUES (\(findingID), \(finding.rule), \(finding.severity.rawValue), \(envelope.id.uuid), \
            \(envelope.type.value), \(envelope.correlationID), \(finding.summary), \
            \(PostgresJSON(JSONValue.object(finding.evidence).canonicalString)))
            """)
        let event = try ComplianceEvents.envelope(
            ComplianceEvents.findingRaised,
            data: [
                "findingId": .string(findingID.uuidString.lowercased()),
                "rule": .string(finding.rule),
                "severity": .string(finding.severity.rawValue),
                "summary": .string(finding.summary),
                "subjectMessageId": .string(envelope.id.description),
                "subjectType": .string(envelope.type.value),
                "evidence": .object(finding.evidence),
            ],
            causedBy: envelope)
        return OutboundMessage(envelope: event, aggregateKey: envelope.id.description)
    }

    private func verdict(
        for envelope: Envelope, reasons: [(rule: String, text: String)], in transaction: PostgresTransaction, logger: Logger
    ) async throws -> OutboundMessage {
        let subject = envelope.id.description
        guard !reasons.isEmpty else {
            let cleared = try ComplianceEvents.envelope(
                ComplianceEvents.screeningCleared,
                data: ["subjectMessageId": .string(subject), "subjectType": .string(envelope.type.value)],
                causedBy: envelope)
            return OutboundMessage(envelope: cleared, aggregateKey: subject)
        }
        var rules: [String] = []
        for reason in reasons where !rules.contains(reason.rule) { rules.append(reason.rule) }
        var texts: [String] = []
        for reason in reasons where !texts.contains(reason.text) { texts.append(reason.text) }
        // Bounded (the contract allows 400 characters); the rule IDs carry the full set.
        let joined = texts.joined(separator: "; ")
        let reason = joined.count <= 400 ? joined : String(joined.prefix(399)) + "…"
        let holdID = UUID()
        try await transaction.execute(
            """
            INSERT INTO compliance.holds (hold_id, subject_message_id, subject_type, correlation_id, enterprise_id, rules, \
            reason, status, approvals_required, expires_at) VALUES (\(holdID), \(envelope.id.uuid), \(envelope.type.value), \
            \(envelope.correlationID), \(envelope.enterpriseID?.value), string_to_array(\(rules.joined(separator: ",")), ','), \
            \(reason), 'open', \(parameters.holds.fourEyes ? 2 : 1), \
            now() + make_interval(secs => \(parameters.holds.expirySeconds)))
            """)
        logger.info("compliance hold placed", metadata: ["compliance.hold": "\(holdID)", "compliance.rules": "\(rules.joined(separator: ","))"])
        Counter(label: "compliance_holds_placed_total").increment()
        let placed = try ComplianceEvents.envelope(
            ComplianceEvents.holdPlaced,
            data: [
                "holdId": .string(holdID.uuidString.lowercased()),
                "subjectMessageId": .string(subject),
                "subjectType": .string(envelope.type.value),
                "rules": .array(rules.map { .string($0) }),
                "reason": .string(reason),
            ],
            causedBy: envelope)
        return OutboundMessage(envelope: placed, aggregateKey: subject)
    }
}
