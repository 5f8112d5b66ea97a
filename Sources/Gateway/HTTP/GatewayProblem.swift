public import HubCore

/// A refused or failed request, answered as RFC 9457 `application/problem+json`.
///
/// `code` is bounded (a metric label and the `reason` of `gateway.request.refused.v1`); `rule` names the rule that
/// failed (docs/gateway.md, "Rules"); `errors` carry the JSON pointer and rule of each contract violation.
public struct GatewayProblem: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public var status: Int
    /// A bounded code, e.g. `signature-invalid`.
    public var code: String
    /// The rule, e.g. `GW-AUTH-4`.
    public var rule: String
    /// A short title.
    public var title: String
    /// What went wrong, without personal data.
    public var detail: String
    /// Contract violations (pointer, rule, code, message).
    public var errors: [ValidationError]
    /// Seconds for `Retry-After` (429, 503).
    public var retryAfter: Int?

    /// Creates a problem.
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - code: The bounded code.
    ///   - rule: The rule.
    ///   - title: The title.
    ///   - detail: The detail.
    ///   - errors: Contract violations (default none).
    ///   - retryAfter: `Retry-After` seconds (default none).
    public init(
        status: Int, code: String, rule: String, title: String, detail: String, errors: [ValidationError] = [],
        retryAfter: Int? = nil
    ) {
        self.status = status
        self.code = code
        self.rule = rule
        self.title = title
        self.detail = detail
        self.errors = errors
        self.retryAfter = retryAfter
    }

    /// The problem type URI.
    public var type: String { "https://huitong.example.com/problems/\(code)" }

    /// `status code (rule): detail`.
    public var description: String { "\(status) \(code) (\(rule)): \(detail)" }

    /// The problem document.
    /// - Parameter instance: The request path (`instance`).
    /// - Returns: The JSON object.
    public func document(instance: String) -> JSONValue {
        var object: JSONObject = [
            "type": .string(type),
            "title": .string(title),
            "status": .number(JSONNumber(status)),
            "detail": .string(detail),
            "instance": .string(instance),
            "code": .string(code),
            "rule": .string(rule),
        ]
        if let first = errors.first {
            object["pointer"] = .string(first.pointer)
        }
        if !errors.isEmpty {
            object["errors"] = .array(
                errors.prefix(50).map { error in
                    .object([
                        "pointer": .string(error.pointer),
                        "rule": .string(error.rule),
                        "code": .string(error.code.description),
                        "detail": .string(error.message),
                    ])
                })
        }
        return .object(object)
    }

    // MARK: The gateway's refusals

    static func unauthenticated(_ code: String, _ rule: String, _ detail: String) -> GatewayProblem {
        GatewayProblem(status: 401, code: code, rule: rule, title: "Unauthorized", detail: detail)
    }

    static func forbidden(_ code: String, _ rule: String, _ detail: String) -> GatewayProblem {
        GatewayProblem(status: 403, code: code, rule: rule, title: "Forbidden", detail: detail)
    }

    static func tooLarge(limit: Int) -> GatewayProblem {
        GatewayProblem(
            status: 413, code: "body-too-large", rule: "GW-LIMIT-1", title: "Content Too Large",
            detail: "the body is larger than the \(limit)-byte limit")
    }

    static func rateLimited(retryAfter: Int) -> GatewayProblem {
        GatewayProblem(
            status: 429, code: "rate-limited", rule: "GW-LIMIT-2", title: "Too Many Requests",
            detail: "the partner's request rate is over its limit", retryAfter: retryAfter)
    }

    static func unavailable(_ code: String, _ rule: String, _ detail: String, retryAfter: Int) -> GatewayProblem {
        GatewayProblem(
            status: 503, code: code, rule: rule, title: "Service Unavailable", detail: detail, retryAfter: retryAfter)
    }

    static func invalid(_ code: String, _ rule: String, _ detail: String, errors: [ValidationError]) -> GatewayProblem {
        GatewayProblem(status: 422, code: code, rule: rule, title: "Unprocessable Content", detail: detail, errors: errors)
    }
}
