import Foundation
import HubCore

extension BenchWorkload {
    /// `payments.transfer.request.v1` (common message interface §1) against `huitong serve --roles payments` with
    /// the compliance gate off: one `payments.transfer.accepted.v1` per unique command completes it; a
    /// `payments.transfer.rejected.v1` is a failure of the run (the bench sends only valid requests).
    ///
    /// Every request is a valid interbank transfer between two enterprises, below the large-value thresholds,
    /// with a unique client request id and a creditor account unique to the command and the run, so that the
    /// duplicate-window rule (R-PAY-5) never fires, not even across runs; optional fields pad towards `bodyBytes`.
    /// Command `i` is paid by enterprise `i % 64` (``PaymentsCommands/benchPayers``): payments orders requests per
    /// enterprise, so a single payer would put the whole run in one lane and measure one lane, not the hub.
    public static let payments = BenchWorkload(
        name: "payments",
        roles: ["payments"],
        commandType: "payments.transfer.request.v1",
        completionEventType: "payments.transfer.accepted.v1",
        failureEventTypes: ["payments.transfer.rejected.v1"],
        environment: ["HUITONG_PAYMENTS_COMPLIANCE_GATE": "off"],
        makeCommand: { runID, index, bodyBytes in
            try PaymentsCommands.transfer(
                runID: runID, index: index, bodyBytes: bodyBytes,
                payer: PaymentsCommands.benchPayers[index % PaymentsCommands.benchPayers.count])
        }
    )
}

/// Builders of payments commands shared by the bench and the demo (message interface of common.md §1–2).
enum PaymentsCommands {
    /// The paying enterprise of synthetic traffic (a valid USCC, R-ID-1/2).
    static let payer = "91320500MA1Q7H2K3A"
    /// 64 paying enterprises for the bench: valid USCCs (R-ID-1/2) whose organisation code passes GB 11714 too
    /// (R-ID-3), in Suzhou (320500), differing in positions 15–16.
    static let benchPayers: [String] = (0..<64).map { payerUSCC(number: $0) }

    /// `91320500` + organisation code `MA1Q7H` + two digits + its GB 11714 check + the USCC check character.
    static func payerUSCC(number: Int) -> String {
        let body = "MA1Q7H" + String(format: "%02d", number % 100)
        let weights = [3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body.utf8, weights).reduce(0) { total, pair in
            let value = pair.0 <= 0x39 ? Int(pair.0) - 0x30 : Int(pair.0) - 0x41 + 10
            return total + value * pair.1
        }
        let check = 11 - sum % 11
        let organizationCode = body + (check == 10 ? "X" : check == 11 ? "0" : String(check))
        let first17 = "91320500" + organizationCode
        return first17 + String(USCC.checkCharacter(for: first17) ?? "0")
    }

    /// CNAPS codes of a few banks (12 digits).
    static let agents = ["102100099996", "103100000026", "104100000004", "105100000017", "308584000013"]

    /// A number from the run id, so that creditor accounts differ between runs: R-PAY-5 (same debtor, creditor,
    /// amount and date within the window) must never fire across two bench runs on the same day.
    static func runSeed(_ runID: String) -> Int { Int(runID.prefix(6), radix: 16) ?? 0 }

    static func money(minorUnits: Int) -> JSONValue {
        let text = "\(minorUnits / 100).\(String(format: "%02d", minorUnits % 100))"
        return ["value": .string(text), "currency": "CNY"]
    }

    static func account(_ seed: Int) -> String {
        let digits = String(format: "%016d", (seed &* 7_919 &+ 1_000_003) % 10_000_000_000_000_000)
        return "6217" + digits.suffix(15)
    }

    /// A single interbank transfer between enterprises.
    static func transfer(
        runID: String, index: Int, bodyBytes: Int, minorUnits: Int? = nil, creditor: JSONValue? = nil,
        clientRequestID: String? = nil, id: MessageID = .generate(), payer: String = PaymentsCommands.payer
    ) throws -> Envelope {
        let amount = minorUnits ?? (10_000 + index)  // 100.00 + index cents: unique per index
        // The required fields only, short names: a CloudEvents envelope with these is about 500 bytes; optional
        // fields (purpose, remittance text) are added only while the body stays within `bodyBytes`.
        var data: JSONObject = [
            "clientRequestId": .string(clientRequestID ?? "b\(runID)-\(index)"),
            "debtor": [
                "name": "华东制造", "account": .string(account(1)), "agent": .string(agents[0]), "kind": "enterprise",
            ],
            "creditor": creditor ?? [
                "name": "苏州供应链", "account": .string(account(runSeed(runID) * 100_000 + index + 2)),
                "agent": .string(agents[1 + index % (agents.count - 1)]), "kind": "enterprise",
            ],
            "amount": money(minorUnits: amount),
        ]
        var envelope = try make(id: id, type: "payments.transfer.request.v1", data: data, payer: payer)
        var missing = bodyBytes - envelope.encode().count
        let padded = missing >= 18
        if missing >= 18 {
            data["purpose"] = "SUPP"
            missing -= 18
        }
        if missing >= 30 {
            // "remittanceInformation":"…", plus a comma: 27 bytes of overhead.
            let text = "INV-\(index) " + String(repeating: "x", count: max(0, missing - 27 - "INV-\(index) ".utf8.count))
            data["remittanceInformation"] = .string(String(text.prefix(140)))
        }
        if padded { envelope = try make(id: id, type: "payments.transfer.request.v1", data: data, payer: payer) }
        return envelope
    }

    /// `a.b.c.v1` → `https://huitong.example.com/contracts/schemas/a/b-c.v1.schema.json` (contracts/README.md).
    static func schemaURL(_ type: String) -> String {
        let parts = type.split(separator: ".")
        let middle = parts.dropFirst().dropLast().joined(separator: "-")
        return "https://huitong.example.com/contracts/schemas/\(parts.first ?? "")/\(middle).\(parts.last ?? "v1").schema.json"
    }

    static func make(id: MessageID, type: String, data: JSONObject, payer: String = PaymentsCommands.payer) throws -> Envelope {
        try Envelope(
            id: id,
            source: "urn:huitong:bench",
            type: MessageType(type),
            dataSchema: schemaURL(type),
            data: data,
            correlationID: id.uuid,
            enterpriseID: try USCC(payer)
        )
    }
}
