/// A `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON table` statement, read with the
/// same lexer that splits files. A cancelled concurrent build leaves an INVALID index behind,
/// which a retry with `IF NOT EXISTS` would silently keep: knowing its name and table lets the
/// retry drop exactly that index, and only while it is invalid.
public struct ConcurrentIndexStatement: Sendable, Equatable {
    /// The index name as PostgreSQL stores it: unquoted and folded to lower case, or the quoted
    /// name with its doubled quotes undone.
    public var indexName: String
    /// The table as written (possibly schema-qualified and quoted), for `to_regclass`.
    public var table: String

    public init(indexName: String, table: String) {
        self.indexName = indexName
        self.table = table
    }

    /// The statement's index and table, or nil for any other statement (or an unnamed index,
    /// whose generated name cannot be known beforehand).
    public static func parse(_ sql: String) -> ConcurrentIndexStatement? {
        var lexer = SQLLexer(sql)
        var words: [(kind: SQLLexer.Kind, text: String)] = []
        while let token = lexer.next() {
            switch token.kind {
            case .whitespace, .lineComment, .blockComment: continue
            default: words.append((token.kind, lexer.text(of: token)))
            }
            if words.count > 16 { break }
        }
        var index = 0
        func keyword(_ expected: String) -> Bool {
            guard index < words.count, words[index].kind == .identifier, words[index].text.lowercased() == expected else { return false }
            index += 1
            return true
        }
        guard keyword("create") else { return nil }
        _ = keyword("unique")
        guard keyword("index"), keyword("concurrently") else { return nil }
        if keyword("if") {
            guard keyword("not"), keyword("exists") else { return nil }
        }
        guard index < words.count, let name = storedName(words[index]), words[index].text.lowercased() != "on" else { return nil }
        index += 1
        guard keyword("on") else { return nil }
        _ = keyword("only")
        var table = ""
        while index < words.count {
            let word = words[index]
            let isName = word.kind == .identifier || (word.kind == .literal && word.text.hasPrefix("\""))
            guard isName || (word.kind == .other && word.text == ".") else { break }
            // "USING" ends the table name; identifiers follow each other only across a dot.
            if isName, !table.isEmpty, !table.hasSuffix(".") { break }
            table += word.text
            index += 1
        }
        guard !table.isEmpty, !table.hasSuffix(".") else { return nil }
        return ConcurrentIndexStatement(indexName: name, table: table)
    }

    private static func storedName(_ word: (kind: SQLLexer.Kind, text: String)) -> String? {
        switch word.kind {
        case .identifier:
            return word.text.lowercased()
        case .literal where word.text.hasPrefix("\"") && word.text.hasSuffix("\"") && word.text.count >= 2:
            return String(word.text.dropFirst().dropLast()).replacing("\"\"", with: "\"")
        default:
            return nil
        }
    }
}
