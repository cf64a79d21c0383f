/// Splits SQL text into statements where psql would: at a semicolon outside quotes, comments,
/// parentheses and the body of a SQL-standard function (`BEGIN ATOMIC … END`). Used to run a
/// no-transaction migration one statement at a time (so `CREATE INDEX CONCURRENTLY` is not
/// wrapped in an implicit transaction) and to find transaction control in transactional ones.
public enum SQLStatementSplitter {
    public struct Statement: Equatable, Sendable {
        /// The statement text without the terminating semicolon, leading comments included.
        public let text: String
        /// 1-based line of the statement's first character in the file, after leading comments.
        public let line: Int
        /// The first keyword, upper-cased, after leading comments (`CREATE`, `BEGIN`, …).
        public let keyword: String
    }

    public static func split(_ sql: String) -> [Statement] {
        var statements: [Statement] = []
        scan(SQLLexer(sql)) { bytes, range, line, keyword in
            statements.append(Statement(text: String(decoding: bytes[range], as: UTF8.self), line: line, keyword: keyword))
        }
        return statements
    }

    /// The line and first keyword of each statement, without a copy of its text: enough to check
    /// a file, which may be large.
    public static func heads(_ sql: String) -> [(line: Int, keyword: String)] {
        heads(utf8: Array(sql.utf8))
    }

    static func heads(utf8 bytes: [UInt8]) -> [(line: Int, keyword: String)] {
        var heads: [(line: Int, keyword: String)] = []
        scan(SQLLexer(utf8: bytes)) { _, _, line, keyword in heads.append((line, keyword)) }
        return heads
    }

    /// Whether `sql` ends outside any quote, comment, dollar quote, parentheses and function
    /// body, so that a statement put after it, behind a newline and a semicolon, is a statement
    /// of its own. Then schemagate's own statements can follow a migration's text in the same
    /// round trip without becoming part of its last token.
    public static func endsAtStatementBoundary(_ sql: String) -> Bool {
        var lexer = SQLLexer(utf8: Array(sql.utf8) + [UInt8(ascii: "\n"), UInt8(ascii: ";")])
        var depth = StatementDepth()
        var endedHere = false
        while let token = lexer.next() {
            if token.kind == .semicolon && depth.endsStatement {
                depth = StatementDepth()
                endedHere = token.range.upperBound == lexer.bytes.count
                continue
            }
            depth.observe(token.kind, word: token.kind == .identifier && depth.readsWords ? lexer.text(of: token) : nil)
        }
        return endedHere
    }

    /// Calls `found` for each statement with the text's UTF-8 bytes, the statement's range in
    /// them (trailing whitespace left out), its line and its first keyword.
    private static func scan(_ lexer: consuming SQLLexer, _ found: ([UInt8], Range<Int>, Int, String) -> Void) {
        var lexer = lexer
        // The current statement's text runs from its first to its last non-whitespace token.
        var textRange: Range<Int>?
        // Where its code starts: comments alone make no statement (a comment left open does: the
        // server is then the one to report it).
        var code: (line: Int, keyword: String)?
        var depth = StatementDepth()

        func flush() {
            if let textRange, let code {
                // A last line comment keeps its trailing spaces in its token; the text does not.
                var end = textRange.upperBound
                while end > textRange.lowerBound && SQLLexer.isSpace(lexer.bytes[end - 1]) { end -= 1 }
                found(lexer.bytes, textRange.lowerBound..<end, code.line, code.keyword)
            }
            textRange = nil
            code = nil
        }

        while let token = lexer.next() {
            if token.kind == .semicolon && depth.endsStatement {
                flush()
                depth = StatementDepth()
                continue
            }
            let word = token.kind == .identifier ? lexer.text(of: token) : nil
            depth.observe(token.kind, word: word)
            guard token.kind != .whitespace else { continue }
            textRange = (textRange?.lowerBound ?? token.range.lowerBound)..<token.range.upperBound
            if code == nil && token.kind != .lineComment && token.kind != .blockComment(closed: true) {
                code = (token.line, word.map { $0.uppercased() } ?? "")
            }
        }
        flush()
    }
}

/// What keeps a semicolon from ending a statement, counted as psql counts it: open parentheses,
/// and BEGIN … END blocks. psql's rule is a heuristic and is kept as it is: in a statement whose
/// first words are CREATE [OR REPLACE] FUNCTION or PROCEDURE, every BEGIN outside parentheses opens
/// a block (ATOMIC is not looked for), a CASE inside one opens another, and END closes one.
private struct StatementDepth {
    private var parentheses = 0
    private var blocks = 0
    private var words = 0
    /// The first letters of the statement's first four words, where they are one of CREATE, OR,
    /// REPLACE, FUNCTION, PROCEDURE.
    private var leadingWords: [Character?] = [nil, nil, nil, nil]

    var endsStatement: Bool { parentheses == 0 && blocks == 0 }

    /// Whether the next identifier's text matters (a caller may leave it out otherwise).
    var readsWords: Bool { words < leadingWords.count || definesRoutine }

    mutating func observe(_ kind: SQLLexer.Kind, word: String?) {
        switch kind {
        case .openParenthesis: parentheses += 1
        case .closeParenthesis: parentheses = max(0, parentheses - 1)
        case .identifier:
            // Past the first words, only a routine's body looks at words: no need to read them.
            if readsWords, let word {
                observe(word: Self.asciiLowercased(word))
            } else {
                words += 1
            }
        default: break
        }
    }

    private mutating func observe(word: String) {
        if words < leadingWords.count, ["create", "or", "replace", "function", "procedure"].contains(word) {
            leadingWords[words] = word.first
        }
        words += 1
        guard parentheses == 0, definesRoutine else { return }
        switch word {
        case "begin": blocks += 1
        case "case" where blocks > 0: blocks += 1
        case "end" where blocks > 0: blocks -= 1
        default: break
        }
    }

    /// CREATE FUNCTION, CREATE PROCEDURE, CREATE OR REPLACE FUNCTION or PROCEDURE.
    private var definesRoutine: Bool {
        guard leadingWords[0] == "c" else { return false }
        if leadingWords[1] == "f" || leadingWords[1] == "p" { return true }
        return leadingWords[1] == "o" && leadingWords[2] == "r" && (leadingWords[3] == "f" || leadingWords[3] == "p")
    }

    /// psql compares words ignoring ASCII case only.
    private static func asciiLowercased(_ word: String) -> String {
        String(String.UnicodeScalarView(word.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32)! : $0 }))
    }
}
