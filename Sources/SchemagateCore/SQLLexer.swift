/// SQL text cut into the tokens that decide where statements end, by the rules of psql 15's
/// scanner, so that a migration file reads to schemagate as it reads to psql: block comments nest,
/// `--` and `/*` start a comment even inside an operator, `$` continues an identifier, `$1` is a
/// parameter, `$tag$` opens a dollar quote, `E'…'` takes backslash escapes and `'…'` does not
/// (`standard_conforming_strings` is on, the default). Like psql, which scans a file line by line,
/// a string is never continued across a newline: `'a'` newline `'b'` is two strings.
/// psql's own additions (backslash commands, `:variables`) are not SQL and are not recognised.
struct SQLLexer: IteratorProtocol {
    enum Kind: Equatable {
        /// Spaces, tabs, newlines, carriage returns and form feeds: psql's whitespace, no more.
        case whitespace
        case lineComment
        /// `closed` is false for a comment still open at the end of the text.
        case blockComment(closed: Bool)
        case identifier
        /// A string, quoted identifier, dollar-quoted text, number or `$1` parameter.
        case literal
        case openParenthesis
        case closeParenthesis
        case semicolon
        /// Any other character: operators and punctuation.
        case other
    }

    struct Token: Equatable {
        let kind: Kind
        /// Offsets into `scalars`.
        let range: Range<Int>
        /// 1-based line of the token's first character.
        let line: Int
    }

    let scalars: [Unicode.Scalar]
    private var position = 0
    private var line = 1

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    /// The text of a token.
    func text(of token: Token) -> String {
        String(String.UnicodeScalarView(scalars[token.range]))
    }

    mutating func next() -> Token? {
        guard position < scalars.count else { return nil }
        let start = position
        let startLine = line
        let kind = scanToken()
        return Token(kind: kind, range: start..<position, line: startLine)
    }

    private mutating func scanToken() -> Kind {
        let scalar = scalars[position]
        switch scalar {
        case _ where Self.isSpace(scalar):
            advance(while: Self.isSpace)
            return .whitespace
        case "-" where peek(1) == "-":
            advance(while: { $0 != "\n" && $0 != "\r" })
            return .lineComment
        case "/" where peek(1) == "*":
            return .blockComment(closed: scanBlockComment())
        case "'", "\"":
            advance(1)
            scanQuoted(closing: scalar)
            return .literal
        case "$":
            return scanDollar()
        case "(":
            advance(1)
            return .openParenthesis
        case ")":
            advance(1)
            return .closeParenthesis
        case ";":
            advance(1)
            return .semicolon
        case _ where Self.isDigit(scalar), "." where peek(1).map(Self.isDigit) == true:
            scanNumber()
            return .literal
        case _ where Self.isIdentifierStart(scalar):
            return scanWord()
        default:
            advance(1)
            return .other
        }
    }

    /// `/* … */`, counting nested `/*` as PostgreSQL does; true if the comment was closed.
    private mutating func scanBlockComment() -> Bool {
        advance(2)
        var depth = 0
        while position < scalars.count {
            if scalars[position] == "/" && peek(1) == "*" {
                depth += 1
                advance(2)
            } else if scalars[position] == "*" && peek(1) == "/" {
                advance(2)
                if depth == 0 { return true }
                depth -= 1
            } else {
                advance(1)
            }
        }
        return false
    }

    /// The rest of a quoted string or identifier, after its opening quote: a doubled quote stays
    /// inside, and with `backslashEscapes` (`E'…'`) a backslash takes the next character with it.
    private mutating func scanQuoted(closing: Unicode.Scalar, backslashEscapes: Bool = false) {
        while position < scalars.count {
            let scalar = scalars[position]
            if backslashEscapes && scalar == "\\" {
                advance(2)
            } else if scalar == closing && peek(1) == closing {
                advance(2)
            } else if scalar == closing {
                advance(1)
                return
            } else {
                advance(1)
            }
        }
    }

    /// An identifier or keyword, or a string whose prefix letter starts it (`E'`, `B'`, `X'`,
    /// `N'`, `U&'`, `U&"`).
    private mutating func scanWord() -> Kind {
        let scalar = scalars[position]
        if peek(1) == "'" {
            switch scalar {
            case "e", "E":
                advance(2)
                scanQuoted(closing: "'", backslashEscapes: true)
                return .literal
            case "b", "B", "x", "X", "n", "N":
                advance(2)
                scanQuoted(closing: "'")
                return .literal
            default: break
            }
        }
        if scalar == "u" || scalar == "U", peek(1) == "&" {
            if let quote = peek(2), quote == "'" || quote == "\"" {
                advance(3)
                scanQuoted(closing: quote)
                return .literal
            }
            // psql takes a `U&` that opens nothing as a lone `U`, not as an identifier.
            advance(1)
            return .other
        }
        advance(1)
        advance(while: Self.isIdentifierContinuation)
        return .identifier
    }

    /// `$1` (a parameter), `$tag$ … $tag$` or `$$ … $$`, else a lone `$`.
    private mutating func scanDollar() -> Kind {
        if peek(1).map(Self.isDigit) == true {
            advance(1)
            advance(while: Self.isDigit)
            skipTrailingJunk()
            return .literal
        }
        var end = position + 1
        if end < scalars.count, Self.isIdentifierStart(scalars[end]) {
            end += 1
            while end < scalars.count, Self.isIdentifierStart(scalars[end]) || Self.isDigit(scalars[end]) { end += 1 }
        }
        guard end < scalars.count, scalars[end] == "$" else {
            advance(1)
            return .other
        }
        let tag = Array(scalars[position...end])
        advance(tag.count)
        while position < scalars.count {
            if scalars[position] == "$" && scalars[position...].starts(with: tag) {
                advance(tag.count)
                return .literal
            }
            advance(1)
        }
        return .literal
    }

    /// `12`, `1.5`, `.5`, `1e-3`. As in psql 15, an identifier right after a number is taken with
    /// it (`1e'…'` and `1xE'…'` are a number and a plain string, `1e$$` opens no dollar quote),
    /// `1e+` and `1e-` are taken whole (so `1e--x` holds no comment), and `1..2` leaves `..` alone.
    private mutating func scanNumber() {
        advance(while: Self.isDigit)
        if peek(0) == "." && peek(1) != "." {
            advance(1)
            advance(while: Self.isDigit)
        }
        if let e = peek(0), e == "e" || e == "E" {
            let sign = peek(1) == "+" || peek(1) == "-"
            let digit = peek(sign ? 2 : 1).map(Self.isDigit) == true
            if digit {
                advance(sign ? 2 : 1)
                advance(while: Self.isDigit)
            } else if sign {
                advance(2)
                return
            }
        }
        skipTrailingJunk()
    }

    /// psql 15 reads a number (or parameter) and an identifier right after it as one token (the
    /// server rejects it as trailing junk).
    private mutating func skipTrailingJunk() {
        guard let next = peek(0), Self.isIdentifierStart(next) else { return }
        advance(while: Self.isIdentifierContinuation)
    }

    private func peek(_ offset: Int) -> Unicode.Scalar? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private mutating func advance(_ count: Int) {
        for _ in 0..<count where position < scalars.count {
            if scalars[position] == "\n" { line += 1 }
            position += 1
        }
    }

    private mutating func advance(while predicate: (Unicode.Scalar) -> Bool) {
        while position < scalars.count && predicate(scalars[position]) { advance(1) }
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}"
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar)
    }

    /// psql takes every byte above ASCII as a letter, so every non-ASCII character is one here.
    static func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        !scalar.isASCII || scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    static func isIdentifierContinuation(_ scalar: Unicode.Scalar) -> Bool {
        isIdentifierStart(scalar) || isDigit(scalar) || scalar == "$"
    }
}
