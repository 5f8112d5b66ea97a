import Foundation
import Testing

@testable import HubStore

@Suite("PostgresQuery and SQLIdentifier")
struct PostgresQueryTests {
    @Test("interpolated values become $1…$n with their binds, in order")
    func interpolation() throws {
        let name = "o'neil; DROP TABLE x; --"
        let id = 42
        let note: String? = nil
        let query: PostgresQuery =
            "SELECT * FROM t WHERE name = \(name) AND id = \(id) AND note IS NOT DISTINCT FROM \(note)"
        #expect(query.sql == "SELECT * FROM t WHERE name = $1 AND id = $2 AND note IS NOT DISTINCT FROM $3")
        #expect(query.binds.count == 3)
        #expect(query.binds[0] == .text(name, type: .text))
        #expect(query.binds[1] == .text("42", type: .int8))
        #expect(query.binds[2] == .null(type: .text))
        #expect(!query.description.contains("o'neil"))
    }

    @Test("identifiers are quoted, not bound")
    func identifiers() throws {
        let schema = try SQLIdentifier("t_abc")
        let columns = [try SQLIdentifier("a"), try SQLIdentifier("b_2")]
        let query: PostgresQuery = "INSERT INTO \(schema).items (\(columns)) VALUES (\(1), \(true))"
        #expect(query.sql == #"INSERT INTO "t_abc".items ("a", "b_2") VALUES ($1, $2)"#)
        #expect(query.binds == [.text("1", type: .int8), .text("t", type: .bool)])
    }

    @Test("each type encodes to PostgreSQL's text form, bytea to binary")
    func encodings() throws {
        #expect(Int32(7).postgresBind() == .text("7", type: .int4))
        #expect(Int64(-7).postgresBind() == .text("-7", type: .int8))
        #expect(
            Decimal(string: "12345678901234567890.123456789")!.postgresBind()
                == .text("12345678901234567890.123456789", type: .numeric)
        )
        let uuid = UUID(uuidString: "0192F0E2-7C4B-7D3A-9E5F-0123456789AB")!
        #expect(uuid.postgresBind() == .text("0192f0e2-7c4b-7d3a-9e5f-0123456789ab", type: .uuid))
        #expect([UInt8]([0, 255]).postgresBind() == .bytea([0, 255]))
        #expect(PostgresJSON(#"{"a":1}"#).postgresBind() == .text(#"{"a":1}"#, type: .jsonb))
        let date = Date(timeIntervalSince1970: 1_709_253_000.123456)
        #expect(date.postgresBind() == .text("2024-03-01T00:30:00.123456+00:00", type: .timestamptz))
    }

    @Test(
        "valid identifiers",
        arguments: ["a", "_", "t_0123abcd", "hub", String(repeating: "x", count: 63)]
    )
    func validIdentifiers(name: String) throws {
        #expect(try SQLIdentifier(name).quoted == "\"\(name)\"")
    }

    @Test(
        "invalid identifiers are rejected",
        arguments: [
            "", "A", "Payments", "1abc", "a-b", "a b", "a\"b", "a;drop", "é", "a.b",
            String(repeating: "x", count: 64),
        ]
    )
    func invalidIdentifiers(name: String) {
        #expect(throws: PostgresError.self) { try SQLIdentifier(name) }
    }
}

@Suite("Text forms")
struct TextFormTests {
    @Test("COPY text escaping: backslash, tab, newline, carriage return; NULL is \\N")
    func copyEscaping() throws {
        #expect(CopyText.escape("a\\b\tc\nd\re") == #"a\\b\tc\nd\re"#)
        #expect(CopyText.escape(nil) == #"\N"#)
        #expect(CopyText.escape(#"\N"#) == #"\\N"#)
        #expect(CopyText.escape("\\.") == "\\\\.")
        #expect(CopyText.escape("plain 中文") == "plain 中文")
        var buffer: [UInt8] = []
        try CopyText.appendRow(["x\ty", Int?.none, 3, [UInt8]([0x5c, 0x00])], rowNumber: 1, to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "x\\ty\t\\N\t3\t\\\\x5c00\n")
    }

    @Test("COPY refuses a NUL character in text")
    func copyRefusesNUL() {
        var buffer: [UInt8] = []
        #expect(throws: PostgresError.self) {
            try CopyText.appendRow(["a\u{0}b"], rowNumber: 1, to: &buffer)
        }
    }

    @Test("timestamptz text with offsets parses to the right instant")
    func timestamps() throws {
        let expected = Date(timeIntervalSince1970: 1_709_253_000.5)
        #expect(TimestampText.parse("2024-03-01 00:30:00.5+00") == expected)
        #expect(TimestampText.parse("2024-03-01 08:30:00.5+08") == expected)
        #expect(TimestampText.parse("2024-02-29T19:00:00.500000-05:30") == expected)
        #expect(TimestampText.parse("2024-03-01T00:30:00.5Z") == expected)
        #expect(TimestampText.parse("2024-03-01 00:30:00") == nil)  // no offset: not an instant
        #expect(TimestampText.parse("infinity") == nil)
        let date = Date(timeIntervalSince1970: -86_400 * 365.25 * 80 + 0.000001)
        #expect(TimestampText.parse(TimestampText.format(date)) == date)
    }

    @Test("numeric text decodes exactly, or not at all")
    func decimals() {
        #expect(DecimalText.parse("12345678901234567890.123456789")?.description == "12345678901234567890.123456789")
        #expect(DecimalText.parse("-0.010")?.description == "-0.01")
        #expect(DecimalText.parse("100")?.description == "100")
        #expect(DecimalText.parse("NaN") == nil)
        #expect(DecimalText.parse("Infinity") == nil)
        #expect(DecimalText.parse("1e5") == nil)
        #expect(DecimalText.parse(String(repeating: "9", count: 39)) == nil)  // more digits than Decimal holds
    }

    @Test("the short form (up to 19 digits, built from an integer) gives what Foundation's parser gives")
    func decimalShortForm() {
        var texts = ["0", "-0", "0.00", "-0.000", "1", "-1", "0.01", "-0.010", "9999999999999999999", "-999999999999.9999999",
                     "0.0000000000000000000000000001", "1234567890123456789", "12345678901234567890", "5000000.00"]
        for _ in 0..<500 {
            let integer = String(UInt64.random(in: 0...999_999_999_999))
            let fraction = String(repeating: "0", count: Int.random(in: 0...3)) + String(UInt32.random(in: 0...9_999))
            texts.append((Bool.random() ? "-" : "") + integer + (Bool.random() ? "." + fraction : ""))
        }
        let posix = Locale(identifier: "en_US_POSIX")
        for text in texts {
            let expected = Decimal(string: text, locale: posix)
            #expect(DecimalText.parse(text) == expected, "\(text)")
            #expect(DecimalText.parse(text)?.description == expected?.description, "\(text)")
        }
    }

    @Test("bytea hex text decodes")
    func bytea() {
        #expect(ByteaText.parse("\\x00ff10") == [0, 255, 16])
        #expect(ByteaText.parse("\\x") == [])
        #expect(ByteaText.parse("00ff") == nil)
        #expect(ByteaText.parse("\\x0g") == nil)
    }

    @Test("decoding errors name the column and the expected type; NULL needs an Optional")
    func rowDecoding() throws {
        let row = PostgresRow(
            columns: [PostgresColumn(name: "n", type: .int8), PostgresColumn(name: "note", type: .text)],
            cells: ["12", nil]
        )
        #expect(try row.decode(Int.self, column: "n") == 12)
        #expect(try row.decode(Int32.self, at: 0) == 12)
        #expect(try row.decode(String?.self, column: "note") == nil)
        #expect {
            try row.decode(String.self, column: "note")
        } throws: { error in
            let text = (error as? PostgresError)?.description ?? ""
            return text.contains("'note'") && text.contains("NULL") && text.contains("String")
        }
        #expect {
            try row.decode(Bool.self, column: "n")
        } throws: { error in
            let text = (error as? PostgresError)?.description ?? ""
            return text.contains("'n'") && text.contains("int8") && text.contains("Bool")
        }
        #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "missing") }
        #expect(throws: PostgresError.self) { try row.decode(Int.self, at: 5) }
    }

    @Test("error descriptions are log-safe; the server's text is in debugDescription")
    func errorDescriptions() {
        let error = PostgresError(
            code: .serverError,
            message: SQLState.summary("23505"),
            server: .init(
                sqlState: "23505",
                severity: "ERROR",
                message: "duplicate key value violates unique constraint",
                detail: "Key (account)=(6222020200001234) already exists.",
                tableName: "items",
                constraintName: "items_pkey"
            )
        )
        #expect(error.isUniqueViolation)
        #expect(error.shortDescription == "serverError.23505")
        #expect(error.description.contains("SQLSTATE 23505"))
        #expect(error.description.contains("items_pkey"))
        #expect(!error.description.contains("6222020200001234"))
        #expect(error.debugDescription.contains("6222020200001234"))
    }
}
