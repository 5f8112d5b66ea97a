internal import CLibPQ
import HubCore
public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One PostgreSQL connection (a libpq `PGconn`), confined to its own thread.
///
/// The actor's executor is a `DedicatedThreadExecutor`: every libpq call, blocking ones included, runs on that
/// thread, and the `PGconn*` never leaves it. Serve one task at a time; a `PostgresPool` hands connections out
/// exclusively. Close it with `close()`; a connection that reports `isUsable == false` is broken and must be
/// discarded.
public actor PostgresConnection {
    private let executor: DedicatedThreadExecutor
    /// The dedicated thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The configuration the connection was opened with.
    public nonisolated let configuration: PostgresConfiguration
    /// A process-unique number, for logs.
    public nonisolated let id: Int
    private var logger: Logger
    private let box = HandleBox()
    /// Cancels the running statement from another thread, for task cancellation.
    private nonisolated let canceller = QueryCanceller()
    private var handle: OpaquePointer? {
        get { box.pointer }
        set { box.pointer = newValue }
    }
    private var copyInProgress = false
    private var savepointCounter = 0
    /// A transaction was begun but its BEGIN not sent yet: it goes with the transaction's first statement, in one
    /// round trip (libpq pipeline mode).
    private var beginPending = false
    /// A statement to run with COMMIT, in the same round trip (``PostgresTransaction/executeAtCommit(_:)``).
    private var statementAtCommit: PostgresQuery?
    private var pendingNotifications: [PostgresNotification] = []
    /// Named prepared statements of this session (``PreparedStatements``).
    private var prepared = PreparedStatements()

    private init(configuration: PostgresConfiguration, logger: Logger, id: Int) {
        self.configuration = configuration
        self.id = id
        self.executor = DedicatedThreadExecutor(name: "pg-connection-\(id)")
        var logger = logger
        logger[metadataKey: LogKey.connectionID] = "\(id)"
        self.logger = logger
    }

    deinit {
        // The box finishes a connection nobody closed (a safety net: callers close explicitly).
        executor.shutdown()
    }

    /// Opens a connection, waiting at most `configuration.connectTimeout`.
    /// - Parameters:
    ///   - configuration: Where and how to connect.
    ///   - logger: The logger for the connection's debug messages.
    /// - Returns: The open connection.
    /// - Throws: `PostgresError` with code `connectionFailed` (server down or unreachable), `authenticationFailed`
    ///   (wrong credentials), `databaseNotFound`, or `timeout`.
    public static func connect(configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection
    {
        let connection = PostgresConnection(configuration: configuration, logger: logger, id: ConnectionIDs.next())
        try await connection.open()
        return connection
    }

    /// Whether the connection is open and healthy (`PQstatus` is `CONNECTION_OK`).
    public var isUsable: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Closes the connection. Safe to call more than once.
    public func close() {
        guard let handle else { return }
        canceller.detach()
        PQfinish(handle)
        self.handle = nil
        prepared.removeAll()
        logger.debug("postgres connection closed")
        executor.shutdown()
    }

    /// Runs one statement and returns all its rows.
    ///
    /// Cancelling the calling task sends a cancel request for the running statement (the server then reports
    /// SQLSTATE 57014, `isQueryCanceled`); a statement not started yet throws `CancellationError`.
    /// - Parameter query: The statement; interpolated values are parameters.
    /// - Returns: The columns, rows, command tag and affected-row count.
    /// - Throws: `PostgresError`: `serverError` with the SQLSTATE when the server rejects the statement,
    ///   `connectionClosed` when the connection broke, `timeout` when the server did not answer.
    @discardableResult
    public nonisolated func query(_ query: PostgresQuery) async throws -> PostgresQueryResult {
        try await pipeline([query])[0]
    }

    /// Runs one statement that returns no rows of interest.
    /// - Parameter query: The statement; interpolated values are parameters.
    /// - Returns: The number of rows affected, 0 when the command reports none.
    /// - Throws: `PostgresError` as `query(_:)`.
    @discardableResult
    public nonisolated func execute(_ query: PostgresQuery) async throws -> Int {
        try await self.query(query).affectedRows ?? 0
    }

    /// Runs statements in order, sent together and answered together: one round trip for all of them (libpq
    /// pipeline mode), for statements whose texts do not depend on each other's results.
    ///
    /// Each statement runs as it would on its own: under READ COMMITTED it takes its snapshot when it starts, so it
    /// sees what the statements before it did, and what other sessions committed while those waited (a lock taken by
    /// an earlier statement protects the reads of a later one, as it would in separate round trips). Outside a
    /// transaction the statements form one implicit transaction: all of them or none. The first failure is thrown;
    /// the statements after it are not run (inside a transaction, the transaction is aborted, as by any failed
    /// statement).
    /// - Parameter queries: The statements.
    /// - Returns: Each statement's result, in order.
    /// - Throws: `PostgresError` as `query(_:)`.
    @discardableResult
    public nonisolated func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresQueryResult] {
        guard !queries.isEmpty else { return [] }
        let token = canceller.newToken()
        return try await withTaskCancellationHandler {
            try await self.runCancellable(queries, token: token)
        } onCancel: {
            self.canceller.cancel(token: token)
        }
    }

    /// The statements, unless the task was cancelled before they start; a cancellation while they run is sent to
    /// the server (``QueryCanceller``).
    private func runCancellable(_ queries: [PostgresQuery], token: Int) throws -> [PostgresQueryResult] {
        guard canceller.begin(token: token) else { throw CancellationError() }
        defer { canceller.end(token: token) }
        return try send(queries, thenCommit: false).statements
    }

    /// Sends `SELECT pg_notify(channel, payload)`.
    /// - Parameters:
    ///   - channel: The channel.
    ///   - payload: The payload (at most 8000 bytes).
    /// - Throws: `PostgresError` as `query(_:)`.
    public func notify(channel: SQLIdentifier, payload: String) throws {
        try run("SELECT pg_notify(\(channel.name), \(payload))")
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: BEGIN, then COMMIT when it returns, ROLLBACK when it throws (and rethrows).
    ///
    /// If a statement failed inside the body and the body swallowed the error, the server has aborted the
    /// transaction; COMMIT then reports it and this method throws. A failed ROLLBACK leaves the connection
    /// unusable (`isUsable` false) so that a pool discards it.
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - body: The work; run statements through the transaction it receives.
    /// - Returns: The body's result.
    /// - Throws: The body's error, or `PostgresError` from BEGIN or COMMIT.
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresTransaction) async throws -> sending Result
    ) async throws -> sending Result {
        try await begin()
        let result: Result
        do {
            result = try await body(PostgresTransaction(connection: self))
        } catch {
            await rollbackAfterFailure()
            throw error
        }
        try await commit()
        return result
    }

    // MARK: Internals used by the transaction, COPY and LISTEN helpers

    /// Opens a transaction. Its BEGIN is sent with the first statement (``run(_:)`` pipelines them), or on its own
    /// before a COPY or a script (``sendPendingBegin()``); a transaction with no statement sends nothing.
    func begin() throws {
        let handle = try usableHandle()
        guard PQtransactionStatus(handle) == PQTRANS_IDLE, !beginPending else {
            throw PostgresError(
                code: .serverError,
                message: "a transaction is already open on this connection; use withSavepoint for a nested scope"
            )
        }
        beginPending = true
        statementAtCommit = nil
        savepointCounter = 0
    }

    /// Keeps `query` to run with COMMIT (one per transaction).
    func deferToCommit(_ query: PostgresQuery) throws {
        guard statementAtCommit == nil else {
            throw PostgresError(
                code: .serverError, message: "a statement is already deferred to this transaction's commit; only one can be")
        }
        statementAtCommit = query
    }

    /// Sends a BEGIN that is still pending, on its own (before statements that cannot be pipelined with it).
    func sendPendingBegin() throws {
        guard beginPending else { return }
        beginPending = false
        try run(PostgresQuery(trustedSQL: "BEGIN"))
    }

    func commit() throws {
        let final = statementAtCommit
        statementAtCommit = nil
        guard final != nil || !beginPending else {
            // Nothing ran in the transaction: there is nothing to commit.
            beginPending = false
            return
        }
        let result: PostgresQueryResult
        do {
            if let final {
                // The deferred statement, then COMMIT (and BEGIN first if nothing ran yet): one round trip.
                result = try runWithCommit(final)
            } else {
                result = try run(PostgresQuery(trustedSQL: "COMMIT"))
            }
        } catch var error as PostgresError where error.code == .connectionClosed || error.code == .timeout {
            // The server may have committed before the connection broke: say so, a blind retry could double it.
            error.message = "the connection broke during COMMIT; the transaction may or may not have committed: "
                + "check its effect (or rely on idempotency keys) before retrying"
            throw error
        }
        if result.commandTag == "ROLLBACK" {
            throw PostgresError(
                code: .serverError,
                message: "the transaction was rolled back, not committed, because a statement in it failed",
                server: .init(sqlState: "25P02")
            )
        }
    }

    func rollbackAfterFailure() {
        beginPending = false
        statementAtCommit = nil
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return }
        guard PQtransactionStatus(handle) != PQTRANS_IDLE else { return }
        do {
            try run(PostgresQuery(trustedSQL: "ROLLBACK"))
        } catch {
            logger.debug("postgres rollback failed; closing the connection", metadata: [LogKey.errorType: "\(error)"])
            close()
        }
    }

    func nextSavepointName() -> String {
        savepointCounter += 1
        return "huitong_sp_\(savepointCounter)"
    }

    /// Runs a statement assembled by this module from constants (BEGIN, SAVEPOINT …).
    func runTrusted(_ sql: String) throws {
        try run(PostgresQuery(trustedSQL: sql))
    }

    /// Runs one or more statements with the simple-query protocol (migrations only: the SQL is a constant that
    /// ships in the binary). Returns the last result.
    @discardableResult
    func runScript(_ sql: String) throws -> PostgresQueryResult {
        try sendPendingBegin()
        let handle = try usableHandle()
        guard PQsendQuery(handle, sql) == 1 else { throw sendFailure(handle) }
        let results = try collectResults(handle)
        if let error = results.error { throw error }
        return results.last ?? .empty
    }

    /// Checks, without blocking, that the server has not closed an idle connection (restart, idle timeout,
    /// termination). Closes it and returns false if it has.
    func probeIdle() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK, !copyInProgress else {
            close()
            return false
        }
        // Readable while idle: a notification, or the server's goodbye: a FATAL error report, then end of file. The
        // report alone settles it (the server may not have closed the socket yet, and a statement sent now would
        // meet the close); a few non-blocking rounds reach an end of file that came without one.
        for _ in 0..<4 {
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return true }
            // PQconsumeInput only reads; PQisBusy parses what was read, which hands an error report to the notice
            // receiver (and queues notifications for PQnotifies).
            let read = PQconsumeInput(handle) == 1
            if read { _ = PQisBusy(handle) }
            if !read || PQstatus(handle) != CONNECTION_OK || box.serverSentFatal {
                logger.debug("postgres connection found closed by the server")
                close()
                return false
            }
        }
        return true
    }

    /// Prepares the connection to go back to a pool: rolls back an open transaction. Returns whether it is
    /// still usable.
    func resetForReuse() -> Bool {
        beginPending = false
        statementAtCommit = nil
        guard let handle, PQstatus(handle) == CONNECTION_OK, !copyInProgress else {
            close()
            return false
        }
        if PQtransactionStatus(handle) != PQTRANS_IDLE {
            rollbackAfterFailure()
        }
        guard let handle = self.handle, PQstatus(handle) == CONNECTION_OK,
            PQtransactionStatus(handle) == PQTRANS_IDLE
        else {
            close()
            return false
        }
        return true
    }

    // MARK: COPY

    func startCopy(_ sql: String) throws {
        try sendPendingBegin()
        let handle = try usableHandle()
        guard PQsendQuery(handle, sql) == 1 else { throw sendFailure(handle) }
        let deadline = resultDeadline()
        try waitForResult(handle, deadline: deadline)
        guard let result = PQgetResult(handle) else {
            throw PostgresError(code: .copyFailed, message: "the server did not answer the COPY statement")
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        if status == PGRES_COPY_IN {
            copyInProgress = true
            return
        }
        var error = serverError(result, handle: handle, defaultCode: .copyFailed)
        error.message = "COPY could not start: " + error.message
        drainResults(handle)
        throw error
    }

    func putCopyData(_ chunk: [UInt8]) throws {
        let handle = try copyHandle()
        let status = chunk.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32(buffer.count)) }
        }
        guard status == 1 else {
            copyInProgress = false
            throw PostgresError(
                code: .copyFailed,
                message: "sending COPY data failed; the connection is broken",
                libpqMessage: errorText(handle)
            )
        }
    }

    /// Ends the COPY, successfully (`abortReason` nil) or not; returns the number of rows the server stored.
    func endCopy(abortReason: String?) throws -> Int {
        let handle = try copyHandle()
        copyInProgress = false
        guard PQputCopyEnd(handle, abortReason) == 1 else {
            throw PostgresError(
                code: .copyFailed,
                message: "ending COPY failed; the connection is broken",
                libpqMessage: errorText(handle)
            )
        }
        let results = try collectResults(handle)
        if var error = results.error {
            if abortReason != nil { return 0 }
            error.code = .copyFailed
            error.message = "COPY was rejected and stored no row: " + error.message
            throw error
        }
        return results.last?.affectedRows ?? 0
    }

    // MARK: LISTEN

    /// Waits up to `timeoutMilliseconds` for a notification on `channel`; nil if none arrived.
    func nextNotification(channel: String, timeoutMilliseconds: Int32) throws -> PostgresNotification? {
        if let index = pendingNotifications.firstIndex(where: { $0.channel == channel }) {
            return pendingNotifications.remove(at: index)
        }
        let handle = try usableHandle()
        drainNotifications(handle)
        if pendingNotifications.isEmpty {
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, timeoutMilliseconds)
            if ready > 0 {
                guard PQconsumeInput(handle) == 1 else {
                    throw PostgresError(
                        code: .connectionClosed,
                        message: "the listening connection broke",
                        libpqMessage: errorText(handle)
                    )
                }
                drainNotifications(handle)
            }
        }
        if let index = pendingNotifications.firstIndex(where: { $0.channel == channel }) {
            return pendingNotifications.remove(at: index)
        }
        return nil
    }

    private func drainNotifications(_ handle: OpaquePointer) {
        _ = PQconsumeInput(handle)
        while let notify = PQnotifies(handle) {
            let channel = String(cString: notify.pointee.relname)
            let payload = notify.pointee.extra.map { String(cString: $0) } ?? ""
            pendingNotifications.append(
                PostgresNotification(channel: channel, payload: payload, processID: Int(notify.pointee.be_pid))
            )
            PQfreemem(notify)
        }
    }

    // MARK: Connecting

    private func open() throws {
        let start = ContinuousClock.now
        let deadline = start + configuration.connectTimeout
        let parameters =
            configuration.connectionParameters + [
                ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"),
                ("keepalives_count", "3"),
            ]
        let keys = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            for pointer in keys { free(pointer) }
            for pointer in values {
                // Wipe the copies (one of them is the password) before giving the memory back.
                if let pointer { memset(pointer, 0, strlen(pointer)) }
                free(pointer)
            }
        }
        let keyArray: [UnsafePointer<CChar>?] = keys.map { $0.map { UnsafePointer($0) } } + [nil]
        let valueArray: [UnsafePointer<CChar>?] = values.map { $0.map { UnsafePointer($0) } } + [nil]
        // expand_dbname = 0: the database name is a name, never a conninfo string.
        guard let handle = PQconnectStartParams(keyArray, valueArray, 0) else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        self.handle = handle
        // Server notices (NOTICE, WARNING) would go to stderr and may quote values: drop them. One kind is kept as
        // a fact: libpq hands an error that arrives while no statement runs to the notice receiver, and a FATAL one
        // is the server's goodbye (termination, shutdown, idle timeout), sent before it closes the socket.
        box.serverSentFatal = false
        PQsetNoticeReceiver(
            handle,
            { argument, result in
                guard let argument, let result,
                    let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V")))
                else { return }
                let level = String(cString: severity)
                if level == "FATAL" || level == "PANIC" {
                    Unmanaged<HandleBox>.fromOpaque(argument).takeUnretainedValue().serverSentFatal = true
                }
            },
            Unmanaged.passUnretained(box).toOpaque()
        )
        var status = PQstatus(handle) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING
        while true {
            switch status {
            case PGRES_POLLING_OK:
                canceller.attach(PQgetCancel(handle))
                let elapsed = ContinuousClock.now - start
                logger.debug(
                    "postgres connection opened",
                    metadata: [
                        LogKey.host: "\(configuration.host):\(configuration.port)",
                        LogKey.durationMS: "\(elapsed.milliseconds)",
                    ]
                )
                return
            case PGRES_POLLING_FAILED:
                let error = connectFailure(handle)
                close()
                throw error
            default:
                let events = status == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
                guard waitForSocket(handle, events: events, deadline: deadline) else {
                    close()
                    throw PostgresError(
                        code: .timeout,
                        message: "no answer from \(endpoint) within the connect timeout "
                            + "(\(PostgresConfiguration.wholeSeconds(configuration.connectTimeout)) s): check that the "
                            + "host and port are a reachable PostgreSQL server, or raise connect_timeout"
                    )
                }
                status = PQconnectPoll(handle)
            }
        }
    }

    private nonisolated var endpoint: String {
        configuration.host.contains(":")
            ? "[\(configuration.host)]:\(configuration.port)"
            : "\(configuration.host):\(configuration.port)"
    }

    private func connectFailure(_ handle: OpaquePointer) -> PostgresError {
        let text = errorText(handle)
        let lower = text.lowercased()
        let user = configuration.user ?? "(default)"
        if lower.contains("password authentication failed") || lower.contains("authentication failed")
            || lower.contains("no password supplied") || PQconnectionNeedsPassword(handle) == 1
        {
            return PostgresError(
                code: .authenticationFailed,
                message: "\(endpoint) rejected the credentials of user '\(user)': check the user name and password "
                    + "in the database URL",
                server: .init(sqlState: "28P01", severity: "FATAL"),
                libpqMessage: text
            )
        }
        if lower.contains("no pg_hba.conf entry") || (lower.contains("role \"") && lower.contains("does not exist")) {
            return PostgresError(
                code: .authenticationFailed,
                message: "\(endpoint) does not accept user '\(user)' for database '\(configuration.database)': "
                    + "check the user name and the server's pg_hba.conf",
                server: .init(sqlState: "28000", severity: "FATAL"),
                libpqMessage: text
            )
        }
        if lower.contains("database \"") && lower.contains("does not exist") {
            return PostgresError(
                code: .databaseNotFound,
                message: "database '\(configuration.database)' does not exist on \(endpoint): create it or fix "
                    + "the database name in the URL",
                server: .init(sqlState: "3D000", severity: "FATAL"),
                libpqMessage: text
            )
        }
        if lower.contains("timeout expired") {
            return PostgresError(
                code: .timeout,
                message: "no answer from \(endpoint) within the connect timeout: check the host and port, or "
                    + "raise connect_timeout",
                libpqMessage: text
            )
        }
        if lower.contains("connection refused") {
            return PostgresError(
                code: .connectionFailed,
                message: "\(endpoint) refused the connection: is PostgreSQL running and listening on that port?",
                libpqMessage: text
            )
        }
        if lower.contains("ssl") || lower.contains("certificate") {
            return PostgresError(
                code: .connectionFailed,
                message: "TLS with \(endpoint) failed (sslmode=\(configuration.sslMode)): check sslmode, "
                    + "sslrootcert and the server's certificate",
                libpqMessage: text
            )
        }
        if lower.contains("could not translate host name") {
            return PostgresError(
                code: .connectionFailed,
                message: "the host name of \(endpoint) does not resolve: check the host in the database URL",
                libpqMessage: text
            )
        }
        return PostgresError(
            code: .connectionFailed,
            message: "could not connect to \(endpoint): check that the server is up and reachable "
                + "(debugDescription has libpq's message)",
            libpqMessage: text
        )
    }

    // MARK: Running statements

    @discardableResult
    private func run(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try send([query], thenCommit: false).statements[0]
    }

    /// Runs `query` and COMMIT in one pipeline and returns COMMIT's result. A failing statement leaves the transaction
    /// aborted (COMMIT is not run): it is rolled back here before the statement's error is thrown.
    private func runWithCommit(_ query: PostgresQuery) throws -> PostgresQueryResult {
        do {
            return try send([query], thenCommit: true).commit
        } catch let error as PostgresError where error.code != .connectionClosed && error.code != .timeout {
            rollbackAfterFailure()
            throw error
        }
    }

    /// One statement's parameters, laid out for libpq.
    private struct EncodedBinds {
        /// Every value in one buffer; text values are NUL-terminated, as libpq reads them with strlen.
        var storage: [UInt8] = []
        var offsets: [Int] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        var types: [Oid] = []

        init(_ binds: [PostgresBind]) throws {
            for (index, bind) in binds.enumerated() {
                types.append(Oid(bind.type.oid))
                formats.append(bind.isBinary ? 1 : 0)
                guard let bytes = bind.bytes else {
                    offsets.append(-1)
                    lengths.append(0)
                    continue
                }
                if !bind.isBinary && bytes.contains(0) {
                    throw PostgresError(
                        code: .encodingFailed,
                        message: "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot hold"
                    )
                }
                guard bytes.count < Int(Int32.max) else {
                    throw PostgresError(code: .encodingFailed, message: "parameter $\(index + 1) is larger than 2 GiB")
                }
                offsets.append(storage.count)
                lengths.append(Int32(bytes.count))
                storage.append(contentsOf: bytes)
                if !bind.isBinary { storage.append(0) }
            }
            storage.append(0)  // never empty, so the base address exists
        }
    }

    /// Sends `queries` in order (each by name when it is prepared), with a pending BEGIN before them and, with
    /// `thenCommit`, COMMIT after them: one pipeline and one round trip when there is more than one statement to send.
    /// Returns each statement's result and COMMIT's (`.empty` without `thenCommit`). The first failure is thrown; the
    /// server skips what follows it.
    private func send(_ queries: [PostgresQuery], thenCommit: Bool) throws
        -> (statements: [PostgresQueryResult], commit: PostgresQueryResult)
    {
        let handle = try usableHandle()
        let encoded = try queries.map { try EncodedBinds($0.binds) }
        // Preparing happens before the pipeline (and sends a pending BEGIN first: see preparedStatement).
        var prepared: [(key: PreparedStatements.Key, name: String)?] = []
        for (query, binds) in zip(queries, encoded) {
            prepared.append(try preparedStatement(query, types: binds.types, handle: handle))
        }
        // A pending BEGIN goes first and a COMMIT last, in the same round trip: one pipeline with a sync.
        let withBegin = beginPending
        let pipelined = withBegin || thenCommit || queries.count > 1
        if pipelined {
            guard PQenterPipelineMode(handle) == 1 else { throw sendFailure(handle) }
            // Only now: had pipeline mode failed, the BEGIN would still be owed to the transaction's next statement.
            beginPending = false
            if withBegin, PQsendQueryParams(handle, "BEGIN", 0, nil, nil, nil, nil, 0) != 1 {
                let failure = sendFailure(handle)
                close()
                throw failure
            }
        }
        for (index, query) in queries.enumerated() {
            let binds = encoded[index]
            let name = prepared[index]?.name
            let sent = binds.storage.withUnsafeBufferPointer { buffer -> Int32 in
                buffer.withMemoryRebound(to: CChar.self) { chars -> Int32 in
                    let values: [UnsafePointer<CChar>?] = binds.offsets.map { offset in
                        offset < 0 ? nil : chars.baseAddress.map { UnsafePointer($0 + offset) }
                    }
                    let count = Int32(binds.types.count)
                    if let name {
                        return PQsendQueryPrepared(handle, name, count, values, binds.lengths, binds.formats, 0)
                    }
                    return PQsendQueryParams(handle, query.sql, count, binds.types, values, binds.lengths, binds.formats, 0)
                }
            }
            guard sent == 1 else {
                let failure = sendFailure(handle)
                if pipelined { close() }  // a half-sent pipeline leaves the connection in an unknown state
                throw failure
            }
        }
        if thenCommit, PQsendQueryParams(handle, "COMMIT", 0, nil, nil, nil, nil, 0) != 1 {
            let failure = sendFailure(handle)
            close()
            throw failure
        }
        let (results, commit) = pipelined
            ? try collectPipelined(handle, begin: withBegin, statements: queries.count, commit: thenCommit)
            : ([try collectResults(handle)], nil)
        for (index, result) in results.enumerated() {
            guard let error = result.error else { continue }
            if let key = prepared[index]?.key, PreparedStatements.invalidates(error) { self.prepared.forget(key) }
            throw error
        }
        if let error = commit?.error { throw error }
        return (results.map { $0.last ?? .empty }, commit?.last ?? .empty)
    }

    /// Sends the sync of a pipeline ([BEGIN,] statements[, COMMIT]) and reads it back in order, then the sync, and
    /// leaves pipeline mode. Only the first failure is reported: after it the server skips the rest (a COMMIT after a
    /// failed statement is not run, and the transaction stays aborted for the caller to roll back).
    private func collectPipelined(_ handle: OpaquePointer, begin: Bool, statements count: Int, commit: Bool) throws
        -> (statements: [Results], commit: Results?)
    {
        guard PQpipelineSync(handle) == 1 else {
            let failure = sendFailure(handle)
            close()
            throw failure
        }
        let beginResults = begin ? try collectResults(handle) : nil
        var statements: [Results] = []
        for _ in 0..<count { statements.append(try collectResults(handle)) }
        var commitResults = commit ? try collectResults(handle) : nil
        var failed = beginResults?.error != nil
        if let error = beginResults?.error, !statements.isEmpty { statements[0].error = error }
        for index in statements.indices {
            if failed {
                // Skipped by the server after the first failure (or the BEGIN's, reported on the first statement).
                if index > 0 { statements[index].error = nil }
            } else if statements[index].error != nil {
                failed = true
            }
        }
        if failed { commitResults?.error = nil }
        // The sync point: its own result, with nothing after it.
        let deadline = resultDeadline()
        try waitForResult(handle, deadline: deadline)
        if let sync = PQgetResult(handle) {
            let status = PQresultStatus(sync)
            PQclear(sync)
            guard status == PGRES_PIPELINE_SYNC else {
                close()
                throw PostgresError(code: .connectionClosed, message: "the server's answer to a pipeline was out of order; the connection was closed")
            }
        }
        guard PQexitPipelineMode(handle) == 1 else {
            close()
            throw PostgresError(
                code: .connectionClosed, message: "the connection could not leave pipeline mode; it was closed",
                libpqMessage: errorText(handle))
        }
        return (statements, commitResults)
    }

    /// The prepared statement to run `query` by, preparing it first (one round trip, once per connection) when it is
    /// worth it (``PreparedStatements``); nil to run it unnamed.
    private func preparedStatement(_ query: PostgresQuery, types: [Oid], handle: OpaquePointer) throws
        -> (key: PreparedStatements.Key, name: String)?
    {
        guard configuration.preparedStatements else { return nil }
        let key = PreparedStatements.Key(sql: query.sql, types: types)
        if let name = prepared.name(for: key) { return (key, name) }
        guard PreparedStatements.isCandidate(query.sql, bindCount: types.count), !prepared.isFull else { return nil }
        // Inside a transaction the PREPARE belongs to it too: one that fails (an unknown table) must abort the
        // transaction as the statement itself would have, so a pending BEGIN goes first, on its own.
        try sendPendingBegin()
        guard let name = prepared.reserve(key) else { return nil }
        guard PQsendPrepare(handle, name, key.sql, Int32(key.types.count), key.types) == 1 else {
            prepared.forget(key)
            throw sendFailure(handle)
        }
        let results = try collectResults(handle)
        if let error = results.error {
            prepared.forget(key)
            throw error
        }
        return (key, name)
    }

    private func usableHandle() throws -> OpaquePointer {
        guard let handle else {
            throw PostgresError(code: .connectionClosed, message: "the connection is closed")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(code: .connectionClosed, message: "the connection is broken; open a new one")
        }
        guard !copyInProgress else {
            throw PostgresError(code: .connectionBusy, message: "the connection is in the middle of a COPY")
        }
        return handle
    }

    private func copyHandle() throws -> OpaquePointer {
        guard let handle, copyInProgress else {
            throw PostgresError(code: .copyFailed, message: "no COPY is in progress on this connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            copyInProgress = false
            throw PostgresError(code: .connectionClosed, message: "the connection broke during COPY")
        }
        return handle
    }

    private func sendFailure(_ handle: OpaquePointer) -> PostgresError {
        PostgresError(
            code: PQstatus(handle) == CONNECTION_OK ? .serverError : .connectionClosed,
            message: "the statement could not be sent to the server",
            libpqMessage: errorText(handle)
        )
    }

    /// When the client gives up waiting for a result: the server's statement_timeout plus a margin for the
    /// network; nil (wait for TCP keepalive to detect a dead peer) when there is no statement timeout.
    private func resultDeadline() -> ContinuousClock.Instant? {
        guard let timeout = configuration.queryTimeout else { return nil }
        return ContinuousClock.now + timeout + max(configuration.connectTimeout, .seconds(5))
    }

    private func waitForResult(_ handle: OpaquePointer, deadline: ContinuousClock.Instant?) throws {
        while PQisBusy(handle) == 1 {
            guard waitForSocket(handle, events: Int16(POLLIN), deadline: deadline) else {
                close()
                throw PostgresError(
                    code: .timeout,
                    message: "the server did not answer within the statement timeout plus a margin; "
                        + "the connection was closed"
                )
            }
            guard PQconsumeInput(handle) == 1 else {
                throw PostgresError(
                    code: .connectionClosed,
                    message: "the connection broke while waiting for the server's answer",
                    libpqMessage: errorText(handle)
                )
            }
        }
    }

    private struct Results {
        var last: PostgresQueryResult?
        var error: PostgresError?
    }

    private func collectResults(_ handle: OpaquePointer) throws -> Results {
        let deadline = resultDeadline()
        var results = Results()
        while true {
            try waitForResult(handle, deadline: deadline)
            guard let result = PQgetResult(handle) else { break }
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            if status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY {
                results.last = makeResult(result)
            } else if status == PGRES_COPY_IN {
                // A COPY through query(): refuse it and let the server roll it back.
                _ = PQputCopyEnd(handle, "COPY FROM STDIN is only supported through copyFrom")
                if results.error == nil {
                    results.error = PostgresError(
                        code: .copyFailed,
                        message: "COPY FROM STDIN must be run through copyFrom(table:columns:rows:)"
                    )
                }
            } else if status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
                if results.error == nil {
                    results.error = PostgresError(
                        code: .serverError,
                        message: "COPY TO STDOUT is not supported; the connection was closed"
                    )
                }
                close()
                return results
            } else if results.error == nil {
                results.error = serverError(result, handle: handle, defaultCode: .serverError)
            }
        }
        if results.error != nil, PQstatus(handle) != CONNECTION_OK {
            results.error?.code = .connectionClosed
        }
        return results
    }

    private func drainResults(_ handle: OpaquePointer) {
        while let result = PQgetResult(handle) { PQclear(result) }
    }

    private func makeResult(_ result: OpaquePointer) -> PostgresQueryResult {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns: [PostgresColumn] = []
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            let name = PQfname(result, Int32(column)).map { String(cString: $0) } ?? ""
            columns.append(
                PostgresColumn(name: name, type: PostgresDataType(oid: UInt32(PQftype(result, Int32(column)))))
            )
        }
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var cells: [String?] = []
            cells.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    cells.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(row), Int32(column)))
                    let pointer = PQgetvalue(result, Int32(row), Int32(column))
                    cells.append(
                        pointer.map {
                            String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
                        } ?? ""
                    )
                }
            }
            rows.append(PostgresRow(columns: columns, cells: cells))
        }
        let tag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) }
        return PostgresQueryResult(columns: columns, rows: rows, commandTag: tag, affectedRows: affected)
    }

    private func serverError(_ result: OpaquePointer, handle: OpaquePointer, defaultCode: PostgresError.Code)
        -> PostgresError
    {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let info = PostgresError.ServerInfo(
            sqlState: field(chub_pq_diag_sqlstate()),
            severity: field(chub_pq_diag_severity()),
            message: field(chub_pq_diag_message_primary()),
            detail: field(chub_pq_diag_message_detail()),
            hint: field(chub_pq_diag_message_hint()),
            schemaName: field(chub_pq_diag_schema_name()),
            tableName: field(chub_pq_diag_table_name()),
            columnName: field(chub_pq_diag_column_name()),
            constraintName: field(chub_pq_diag_constraint_name())
        )
        let broken = PQstatus(handle) != CONNECTION_OK
        let what = info.sqlState.map(SQLState.summary) ?? "the server rejected the statement"
        return PostgresError(
            code: broken ? .connectionClosed : defaultCode,
            message: broken ? "the connection broke: \(what)" : what,
            server: info,
            libpqMessage: info.message == nil ? errorText(handle) : nil
        )
    }

    private func errorText(_ handle: OpaquePointer) -> String {
        PQerrorMessage(handle).map { String(cString: $0) }?.trimmingSuffixWhitespace() ?? ""
    }

    /// Waits until the socket is ready for `events`, or the deadline passes (returns false). A nil deadline
    /// waits without limit.
    private func waitForSocket(_ handle: OpaquePointer, events: Int16, deadline: ContinuousClock.Instant?) -> Bool {
        let socket = PQsocket(handle)
        guard socket >= 0 else { return true }  // let libpq report the broken socket
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { return false }
                timeout = Int32(clamping: max(1, remaining.milliseconds))
            }
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, timeout)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return true }  // let libpq report the error
        }
    }
}

/// Owns the `PGconn*`. Not Sendable: only the owning actor touches it; its deinit runs when the actor is gone
/// and no other job can use the handle any more.
private final class HandleBox {
    var pointer: OpaquePointer?
    /// The server sent a FATAL error while no statement ran: it is closing this session.
    var serverSentFatal = false
    deinit {
        if let pointer { PQfinish(pointer) }
    }
}

/// Sends libpq cancel requests for a connection's running statement, from any thread.
///
/// libpq documents `PQcancel` as safe to call from any thread (even a signal handler) with the connection's
/// `PGcancel` object, which is separate from the `PGconn`. Each statement gets a token; a cancel request is sent
/// only while that token's statement runs, so a late cancellation never hits a later statement (of another lease).
final class QueryCanceller: Sendable {
    /// A `PGcancel*`. @unchecked Sendable: it is only used under `state`'s lock, and libpq allows `PQcancel` on
    /// it from any thread.
    struct CancelPointer: @unchecked Sendable {
        let raw: OpaquePointer
    }

    private struct State {
        var cancel: CancelPointer?
        var nextToken = 0
        var running: Int?
        var lastBegun = 0
        var cancelledEarly: Set<Int> = []
    }

    private let state = Mutex(State())

    func newToken() -> Int {
        state.withLock { state in
            state.nextToken += 1
            return state.nextToken
        }
    }

    func attach(_ cancel: OpaquePointer?) {
        let pointer = cancel.map(CancelPointer.init(raw:))
        state.withLock { $0.cancel = pointer }
    }

    func detach() {
        state.withLock { state in
            if let cancel = state.cancel { PQfreeCancel(cancel.raw) }
            state.cancel = nil
        }
    }

    /// Marks the token's statement as running; false if the task was cancelled before it started.
    func begin(token: Int) -> Bool {
        state.withLock { state in
            if state.cancelledEarly.remove(token) != nil { return false }
            state.running = token
            state.lastBegun = max(state.lastBegun, token)
            return true
        }
    }

    func end(token: Int) {
        state.withLock { state in
            if state.running == token { state.running = nil }
        }
    }

    func cancel(token: Int) {
        state.withLock { state in
            if state.running == token, let cancel = state.cancel {
                var buffer = [CChar](repeating: 0, count: 256)
                _ = PQcancel(cancel.raw, &buffer, Int32(buffer.count))
            } else if token > state.lastBegun {
                state.cancelledEarly.insert(token)
            }
        }
    }
}

/// A notification received by LISTEN.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel it was sent on.
    public var channel: String
    /// The payload (may be empty). Application data: do not log it.
    public var payload: String
    /// The sending backend's process ID.
    public var processID: Int
}

/// The log metadata keys of this module.
enum LogKey {
    static let connectionID = "pg.connection.id"
    static let host = "pg.host"
    static let durationMS = "pg.duration_ms"
    static let errorType = "error.type"
    static let migration = "pg.migration"
    static let rows = "pg.rows"
    static let channel = "pg.channel"
}

/// Process-unique connection numbers.
enum ConnectionIDs {
    private static let counter = Counter()
    static func next() -> Int { counter.next() }
}

/// A thread-safe counter.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}

/// Log-safe summaries of common SQLSTATEs.
enum SQLState {
    static func summary(_ state: String) -> String {
        switch state {
        case "23505": "unique violation: a row with the same key exists"
        case "23503": "foreign key violation"
        case "23502": "not-null violation"
        case "23514": "check constraint violation"
        case "22P02": "invalid text representation of a value"
        case "22003": "numeric value out of range"
        case "22001": "string too long for its column"
        case "42P01": "undefined table"
        case "42703": "undefined column"
        case "42883": "undefined function"
        case "42601": "syntax error in the statement"
        case "42501": "insufficient privilege"
        case "42P07": "the table already exists"
        case "3F000": "undefined schema"
        case "25P02": "the transaction is aborted; roll it back"
        case "40001": "serialization failure; retry the transaction"
        case "40P01": "deadlock detected; retry the transaction"
        case "57014": "statement cancelled (statement_timeout or cancel request)"
        case "57P01": "the server is shutting down"
        case "53300": "too many connections on the server"
        default: "the server rejected the statement"
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension String {
    func trimmingSuffixWhitespace() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
