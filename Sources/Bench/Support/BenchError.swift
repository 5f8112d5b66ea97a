/// A failure of `huitong bench` or `huitong demo`: one line saying what failed and, when known, what to do.
///
/// The CLI prints it as `huitong: <message>; fix: <fix>` and exits 1. Messages never carry payload values.
public struct BenchError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var message: String
    /// What the operator can do about it.
    public var fix: String?

    /// Creates an error.
    /// - Parameters:
    ///   - message: What failed.
    ///   - fix: What to do (optional).
    public init(_ message: String, fix: String? = nil) {
        self.message = message
        self.fix = fix
    }

    /// `message; fix: fix`.
    public var description: String { fix.map { "\(message); fix: \($0)" } ?? message }
}
