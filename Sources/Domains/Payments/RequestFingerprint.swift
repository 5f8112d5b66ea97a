import Foundation

/// The bytes that identify a request's payload for R-PAY-3 ("same key, same payload"): the decoded payload with its
/// defaults applied (`channel` "api", `crossBorder` and `duplicateOverride` false), encoded with sorted keys. Member
/// order, whitespace and spelled-out defaults therefore do not make two requests differ; any value that changes
/// the instruction does. The database stores `sha256` of these bytes.
public enum RequestFingerprint {
    /// The canonical bytes of a transfer request.
    /// - Parameter payload: The payload.
    /// - Returns: The bytes.
    public static func canonicalBytes(_ payload: TransferRequestPayload) -> [UInt8] {
        var normalized = payload
        normalized.channel = payload.channel ?? "api"
        normalized.crossBorder = payload.crossBorder ?? false
        normalized.duplicateOverride = payload.duplicateOverride ?? false
        return encode(normalized)
    }

    /// The canonical bytes of a batch request.
    /// - Parameter payload: The payload.
    /// - Returns: The bytes.
    public static func canonicalBytes(_ payload: BatchRequestPayload) -> [UInt8] {
        var normalized = payload
        normalized.channel = payload.channel ?? "api"
        return encode(normalized)
    }

    private static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data())
    }
}
