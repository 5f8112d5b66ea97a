internal import CLibPQ

/// The named prepared statements of one connection: which SQL texts it has prepared, under which names.
///
/// Parsing, analysing and planning are a large share of the server's work for the short statements the hub runs
/// thousands of times (a third of PostgreSQL's CPU in the payments benchmark, docs/performance.md). A statement is
/// prepared the first time it runs on a connection and executed by name after that, so the server parses it once
/// per connection and can keep a generic plan.
///
/// Only plain DML and queries are prepared (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, `WITH`), never transaction
/// control or DDL, and only up to ``capacity`` texts per connection, so generated texts (multi-row `VALUES` of many
/// sizes) cannot grow the server's memory without bound; statements with more than ``maximumBinds`` parameters are
/// such generated texts and are not prepared. The key includes the parameter types: the same text bound with other
/// types is another statement. A server error that means the prepared statement no longer fits (its result type
/// changed after DDL, or it was deallocated) forgets it, so that the next run prepares it again.
struct PreparedStatements {
    struct Key: Hashable {
        var sql: String
        var types: [Oid]
    }

    /// The most statements prepared per connection.
    static let capacity = 256
    /// Statements with more parameters are not prepared (generated multi-row texts).
    static let maximumBinds = 48

    private var names: [Key: String] = [:]
    private var counter = 0

    /// Whether `sql` may be prepared: a query or DML statement with few enough parameters.
    static func isCandidate(_ sql: String, bindCount: Int) -> Bool {
        guard bindCount <= maximumBinds else { return false }
        let head = sql.utf8.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }).prefix(6)
        let word = String(decoding: head, as: UTF8.self).uppercased()
        return word.hasPrefix("SELECT") || word.hasPrefix("INSERT") || word.hasPrefix("UPDATE")
            || word.hasPrefix("DELETE") || word.hasPrefix("WITH")
    }

    /// Whether a server error means the prepared statement must be prepared again: `0A000` "cached plan must not
    /// change result type" (a table changed under it) or `26000` (no such prepared statement).
    static func invalidates(_ error: PostgresError) -> Bool {
        error.sqlState == "0A000" || error.sqlState == "26000"
    }

    /// The name `key` was prepared under.
    func name(for key: Key) -> String? { names[key] }

    /// Whether ``capacity`` statements are prepared already (no more will be).
    var isFull: Bool { names.count >= Self.capacity }

    /// A new name for `key`, recorded before it is prepared; nil when the cache is full.
    mutating func reserve(_ key: Key) -> String? {
        guard !isFull else { return nil }
        counter += 1
        let name = "huitong_\(counter)"
        names[key] = name
        return name
    }

    /// Forgets `key` (its PREPARE failed, or the server no longer accepts it). The server-side statement, if any,
    /// stays until the session ends under a name that is never reused.
    mutating func forget(_ key: Key) { names[key] = nil }

    /// Forgets everything (the session ended).
    mutating func removeAll() {
        names.removeAll()
    }
}
