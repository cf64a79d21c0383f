import CLibPQ

extension PQError {
    /// Reads the server's error fields from a failed `PGresult`.
    init(result: OpaquePointer, fallbackMessage: String) {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        self.init(
            kind: .server,
            sqlState: field("C").map(SQLState.init(rawValue:)),
            message: field("M") ?? fallbackMessage,
            detail: field("D"),
            hint: field("H"),
            position: field("P").flatMap { Int($0) }
        )
    }
}

extension QueryResult {
    /// Copies a successful `PGresult` (text format) into Swift values.
    init(_ result: OpaquePointer) {
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        let rows = (0..<Int(PQntuples(result))).map { row in
            Row(columns: columns, values: (0..<columnCount).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1
                    ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        self.init(columns: columns, rows: rows, affectedRows: affected)
    }
}
