extension SQLStatementSplitter.Statement {
    /// Whether PostgreSQL refuses this statement inside a transaction block (`CREATE INDEX
    /// CONCURRENTLY`, `VACUUM`, …): Flyway runs such a file outside one, and golang-migrate's single
    /// query does too, so an imported file that holds one gets `-- schemagate: no-transaction`.
    public var refusesTransaction: Bool {
        // The text starts with the statement's leading comments; its code starts at the keyword.
        let code = text.split(whereSeparator: \.isNewline).filter { !$0.trimmingWhitespace().hasPrefix("--") }
        let words = code.joined(separator: " ").split(whereSeparator: \.isWhitespace).prefix(8).map { $0.uppercased() }
        switch keyword {
        case "VACUUM": return true
        case "CREATE", "DROP", "REINDEX":
            return words.contains("CONCURRENTLY") || (words.count > 1 && ["DATABASE", "TABLESPACE"].contains(words[1]))
        case "ALTER": return words.count > 1 && words[1] == "SYSTEM"
        default: return false
        }
    }
}
