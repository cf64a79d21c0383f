/// Splits SQL text into statements at top-level semicolons, as psql does: semicolons inside
/// quotes, quoted identifiers, dollar quotes and comments do not count. Used to run a
/// no-transaction migration one statement at a time (so `CREATE INDEX CONCURRENTLY` is not
/// wrapped in an implicit transaction) and to find transaction control in transactional ones.
public enum SQLStatementSplitter {
    public struct Statement: Equatable, Sendable {
        /// The statement text without the terminating semicolon.
        public let text: String
        /// 1-based line of the statement's first character in the file.
        public let line: Int
        /// The first keyword, upper-cased, after leading comments (`CREATE`, `BEGIN`, …).
        public let keyword: String
    }

    public static func split(_ sql: String) -> [Statement] {
        let characters = Array(sql.unicodeScalars)
        // Where each scalar starts in `sql` (and its end), so a statement's text is one slice.
        let positions = Array(sql.unicodeScalars.indices) + [sql.unicodeScalars.endIndex]
        var statements: [Statement] = []
        // The current statement is characters[start..<index]: everything is taken in order, and
        // only the terminating semicolon is left out (see flush).
        var start = 0
        var hasCode = false
        var statementLine = 1
        var line = 1
        var index = 0

        func flush(upTo end: Int) {
            if hasCode {
                let text = String(sql.unicodeScalars[positions[start]..<positions[max(start, min(end, characters.count))]]).trimmingWhitespace()
                statements.append(Statement(text: String(text), line: statementLine, keyword: firstKeyword(of: String(text))))
            }
            start = index
            hasCode = false
        }
        func take(_ count: Int) {
            for offset in 0..<count where index + offset < characters.count && characters[index + offset] == "\n" {
                line += 1
            }
            index += count
        }
        // Compares in place: called for most characters of a quoted string or dollar-quoted body.
        func starts(with text: String, at position: Int) -> Bool {
            var position = position
            for scalar in text.unicodeScalars {
                guard position < characters.count, characters[position] == scalar else { return false }
                position += 1
            }
            return true
        }
        func markCode() {
            if !hasCode { hasCode = true; statementLine = line }
        }
        // SQL-standard function bodies (`BEGIN ATOMIC … END`) hold semicolons that do not end the
        // statement; like psql, count the block's depth (CASE … END nests inside it).
        var wordStart: Int?
        var previousWord = ""
        var atomicDepth = 0
        func finishWord() {
            guard let first = wordStart else { return }
            wordStart = nil
            // Only BEGIN, ATOMIC, CASE and END matter: longer words need no upper-casing.
            let upper = index - first <= 6 ? String(sql.unicodeScalars[positions[first]..<positions[index]]).uppercased() : ""
            if upper == "ATOMIC" && previousWord == "BEGIN" {
                atomicDepth += 1
            } else if atomicDepth > 0 && upper == "CASE" {
                atomicDepth += 1
            } else if atomicDepth > 0 && upper == "END" {
                atomicDepth -= 1
            }
            previousWord = upper
        }

        while index < characters.count {
            let scalar = characters[index]
            if isIdentifierScalar(scalar) {
                if wordStart == nil { wordStart = index }
            } else {
                finishWord()
            }
            if scalar == "-" && starts(with: "--", at: index) {
                while index < characters.count && characters[index] != "\n" { take(1) }
            } else if scalar == "/" && starts(with: "/*", at: index) {
                var depth = 0
                repeat {
                    if starts(with: "/*", at: index) { depth += 1; take(2) }
                    else if starts(with: "*/", at: index) { depth -= 1; take(2) }
                    else { take(1) }
                } while depth > 0 && index < characters.count
            } else if scalar == "'" {
                markCode()
                let backslashEscapes = index > 0 && (characters[index - 1] == "E" || characters[index - 1] == "e")
                    && (index < 2 || !isIdentifierScalar(characters[index - 2]))
                take(1)
                while index < characters.count {
                    if backslashEscapes && characters[index] == "\\" { take(2); continue }
                    if characters[index] == "'" {
                        if starts(with: "''", at: index) { take(2); continue }
                        take(1)
                        break
                    }
                    take(1)
                }
            } else if scalar == "\"" {
                markCode()
                take(1)
                while index < characters.count {
                    if starts(with: "\"\"", at: index) { take(2); continue }
                    let closing = characters[index] == "\""
                    take(1)
                    if closing { break }
                }
            } else if scalar == "$", let tag = dollarTag(at: index, in: characters),
                      index == 0 || !isIdentifierScalar(characters[index - 1]) {
                markCode()
                take(tag.unicodeScalars.count)
                while index < characters.count && !starts(with: tag, at: index) { take(1) }
                take(tag.unicodeScalars.count)
            } else if scalar == ";" && atomicDepth == 0 {
                index += 1
                previousWord = ""
                flush(upTo: index - 1)
            } else {
                if !isWhitespace(scalar) { markCode() }
                take(1)
            }
        }
        flush(upTo: characters.count)
        return statements
    }

    /// `$tag$` or `$$` starting at `position`, if there is one (a `$1` parameter is not).
    private static func dollarTag(at position: Int, in characters: [Unicode.Scalar]) -> String? {
        var end = position + 1
        while end < characters.count, characters[end] != "$" {
            let scalar = characters[end]
            let allowed = isIdentifierScalar(scalar) && !(end == position + 1 && ("0"..."9").contains(scalar))
            guard allowed else { return nil }
            end += 1
        }
        guard end < characters.count else { return nil }
        return String(String.UnicodeScalarView(characters[position...end]))
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? scalar == " " || ("\t"..."\r").contains(scalar) : scalar.properties.isWhitespace
    }

    private static func isIdentifierScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        return scalar.properties.isAlphabetic
    }

    /// The first word of a statement, skipping leading comments.
    static func firstKeyword(of text: String) -> String {
        var rest = Substring(text)
        while true {
            rest = rest.trimmingWhitespace()
            if rest.hasPrefix("--") {
                rest = rest.drop { $0 != "\n" }
            } else if rest.hasPrefix("/*"), let end = rest.range(of: "*/") {
                rest = rest[end.upperBound...]
            } else {
                break
            }
        }
        return String(rest.prefix { $0.isLetter }).uppercased()
    }
}

private extension Substring {
    func range(of needle: String) -> Range<Substring.Index>? {
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(needle) {
                return start..<index(start, offsetBy: needle.count)
            }
            start = index(after: start)
        }
        return nil
    }
}
