extension PostgresConnection {
    /// Bulk-inserts rows with `COPY … FROM STDIN` in text format, streamed in chunks of about 64 KiB.
    ///
    /// Values are escaped for COPY's text format (backslash, tab, newline and carriage return; NULL is `\N`).
    /// The COPY is atomic: one bad row makes the server reject all of them, and the error carries the server's
    /// report (in `debugDescription`).
    /// - Parameters:
    ///   - isolation: The caller's isolation (inferred).
    ///   - table: The table.
    ///   - schema: The table's schema (default: the search path).
    ///   - columns: The columns each row fills, in order.
    ///   - rows: The rows; each has one value per column (`Optional.none` is NULL).
    /// - Returns: The number of rows stored.
    /// - Throws: `PostgresError` with code `copyFailed` (nothing stored) or `encodingFailed` (a row has the wrong
    ///   number of values or a text value holds a NUL character; the COPY is aborted).
    @discardableResult
    public func copyFrom<Rows: Sequence>(
        isolation: isolated (any Actor)? = #isolation,
        table: SQLIdentifier,
        schema: SQLIdentifier? = nil,
        columns: [SQLIdentifier],
        rows: Rows
    ) async throws -> Int where Rows.Element == [any PostgresEncodable] {
        guard !columns.isEmpty else {
            throw PostgresError(code: .copyFailed, message: "COPY needs at least one column")
        }
        let target = (schema.map { "\($0.quoted)." } ?? "") + table.quoted
        let sql = "COPY \(target) (\(columns.map(\.quoted).joined(separator: ", "))) FROM STDIN"
        try await startCopy(sql)
        var buffer: [UInt8] = []
        let chunkSize = 64 * 1024
        buffer.reserveCapacity(chunkSize + 4096)
        var rowNumber = 0
        do {
            for row in rows {
                rowNumber += 1
                guard row.count == columns.count else {
                    throw PostgresError(
                        code: .encodingFailed,
                        message: "COPY row \(rowNumber) has \(row.count) values for \(columns.count) columns"
                    )
                }
                try CopyText.appendRow(row, rowNumber: rowNumber, to: &buffer)
                if buffer.count >= chunkSize {
                    try await putCopyData(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
                if rowNumber % 1024 == 0 { try Task.checkCancellation() }
            }
            if !buffer.isEmpty { try await putCopyData(buffer) }
        } catch {
            _ = try? await endCopy(abortReason: "aborted by the client")
            throw error
        }
        return try await endCopy(abortReason: nil)
    }
}

/// COPY's text format.
enum CopyText {
    /// Appends one row: values separated by tabs, escaped, NULL as `\N`, ended by a newline.
    static func appendRow(_ row: [any PostgresEncodable], rowNumber: Int, to buffer: inout [UInt8]) throws {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            guard let text = value.postgresBind().textForm else {
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "N"))
                continue
            }
            guard appendEscaped(text, to: &buffer) else {
                throw PostgresError(
                    code: .encodingFailed,
                    message: "COPY row \(rowNumber), value \(index + 1) contains a NUL character, which PostgreSQL "
                        + "text cannot hold"
                )
            }
        }
        buffer.append(UInt8(ascii: "\n"))
    }

    /// Appends a value escaped for COPY text format; false if it contains a NUL byte.
    static func appendEscaped(_ bytes: [UInt8], to buffer: inout [UInt8]) -> Bool {
        for byte in bytes {
            switch byte {
            case 0:
                return false
            case UInt8(ascii: "\\"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\t"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "t"))
            case UInt8(ascii: "\n"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "r"))
            default:
                buffer.append(byte)
            }
        }
        return true
    }

    /// One value's escaped text (for tests and diagnostics); nil for NULL is `\N`.
    static func escape(_ value: String?) -> String {
        guard let value else { return "\\N" }
        var buffer: [UInt8] = []
        _ = appendEscaped(Array(value.utf8), to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
