import Foundation
public import HubContracts
import HubCore
import PaymentsService

/// `huitong contracts check`: every schema loads, the AsyncAPI document matches the hub's exchanges, and every
/// example is accepted or refused as its name says.
public enum ContractsCheck {
    /// The outcome, ready to print.
    public struct Result: Sendable {
        /// One line per schema, document and example, then a summary.
        public var lines: [String]
        /// Whether everything passed.
        public var isSuccess: Bool
    }

    /// The typed payload decoders of every message type this binary knows: HubContracts' own (the adapters' and
    /// compliance's messages) and the domains'. A message's owner decodes it: payments also carries decoders for the
    /// adapter and compliance messages it consumes, which never replace the owners' stricter ones.
    public static var payloadDecoders: [String: ContractChecker.PayloadDecoder] {
        ContractChecker.builtInPayloadDecoders.merging(PaymentsContracts.payloadDecoders) { owner, _ in owner }
    }

    /// Runs the check.
    /// - Parameter directory: The contracts folder.
    /// - Returns: The result.
    /// - Throws: ``HubAppError`` when the folder does not exist.
    public static func run(directory: String) throws -> Result {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HubAppError(
                .contractsInvalid,
                "no contracts folder at '\(directory)'",
                fix: "run from the checkout's root or pass --dir PATH"
            )
        }
        let report = ContractChecker(configuration: ContractChecker.Configuration(payloadDecoders: payloadDecoders)).check(contractsDirectory: URL(fileURLWithPath: directory, isDirectory: true))
        return Result(lines: report.lines, isSuccess: report.isSuccess)
    }
}
