/// The rows of one statement, in PostgreSQL's text format. Small by design: schemagate reads a
/// handful of rows at a time, so values are copied out of the `PGresult` and it is freed at once.
public struct QueryResult: Sendable {
    public let columns: [String]
    public let rows: [Row]
    /// Rows touched by INSERT/UPDATE/DELETE, from `PQcmdTuples`.
    public let affectedRows: Int

    public init(columns: [String], rows: [Row], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var first: Row? { rows.first }
    public var isEmpty: Bool { rows.isEmpty }

    public struct Row: Sendable {
        public let columns: [String]
        public let values: [String?]

        public subscript(_ column: String) -> String? {
            guard let index = columns.firstIndex(of: column) else {
                preconditionFailure("no column \(column) in \(columns)")
            }
            return values[index]
        }

        public func int(_ column: String) -> Int? { self[column].flatMap { Int($0) } }
        public func double(_ column: String) -> Double? { self[column].flatMap { Double($0) } }
        public func bool(_ column: String) -> Bool? { self[column].map { $0 == "t" } }
    }
}
