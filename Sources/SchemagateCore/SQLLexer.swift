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
        /// Offsets into `bytes`.
        let range: Range<Int>
        /// 1-based line of the token's first character.
        let line: Int
    }

    /// The text's UTF-8 bytes: one byte per character for everything the rules look at (all of
    /// it ASCII), where an array of scalars took four, and a token never ends inside a
    /// character (every byte above ASCII is a letter, as in psql's scanner).
    let bytes: [UInt8]
    private var position = 0
    private var line = 1

    init(_ text: String) {
        self.init(utf8: Array(text.utf8))
    }

    /// Over bytes already at hand (a migration file's): shared, not copied.
    init(utf8 bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The text of a token.
    func text(of token: Token) -> String {
        String(decoding: bytes[token.range], as: UTF8.self)
    }

    mutating func next() -> Token? {
        guard position < bytes.count else { return nil }
        let start = position
        let startLine = line
        let kind = scanToken()
        return Token(kind: kind, range: start..<position, line: startLine)
    }

    private mutating func scanToken() -> Kind {
        let scalar = bytes[position]
        switch scalar {
        case _ where Self.isSpace(scalar):
            advance(while: Self.isSpace)
            return .whitespace
        case UInt8(ascii: "-") where peek(1) == UInt8(ascii: "-"):
            advance(while: { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") })
            return .lineComment
        case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
            return .blockComment(closed: scanBlockComment())
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            advance(1)
            scanQuoted(closing: scalar)
            return .literal
        case UInt8(ascii: "$"):
            return scanDollar()
        case UInt8(ascii: "("):
            advance(1)
            return .openParenthesis
        case UInt8(ascii: ")"):
            advance(1)
            return .closeParenthesis
        case UInt8(ascii: ";"):
            advance(1)
            return .semicolon
        case _ where Self.isDigit(scalar), UInt8(ascii: ".") where peek(1).map(Self.isDigit) == true:
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
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                depth += 1
                advance(2)
            } else if bytes[position] == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") {
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
    private mutating func scanQuoted(closing: UInt8, backslashEscapes: Bool = false) {
        while position < bytes.count {
            let scalar = bytes[position]
            if backslashEscapes && scalar == UInt8(ascii: "\\") {
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
        let scalar = bytes[position]
        if peek(1) == UInt8(ascii: "'") {
            switch scalar {
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                advance(2)
                scanQuoted(closing: UInt8(ascii: "'"), backslashEscapes: true)
                return .literal
            case UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "x"), UInt8(ascii: "X"), UInt8(ascii: "n"), UInt8(ascii: "N"):
                advance(2)
                scanQuoted(closing: UInt8(ascii: "'"))
                return .literal
            default: break
            }
        }
        if scalar == UInt8(ascii: "u") || scalar == UInt8(ascii: "U"), peek(1) == UInt8(ascii: "&") {
            if let quote = peek(2), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") {
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
        if end < bytes.count, Self.isIdentifierStart(bytes[end]) {
            end += 1
            while end < bytes.count, Self.isIdentifierStart(bytes[end]) || Self.isDigit(bytes[end]) { end += 1 }
        }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "$") else {
            advance(1)
            return .other
        }
        let tag = Array(bytes[position...end])
        advance(tag.count)
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: "$") && bytes[position...].starts(with: tag) {
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
        if peek(0) == UInt8(ascii: ".") && peek(1) != UInt8(ascii: ".") {
            advance(1)
            advance(while: Self.isDigit)
        }
        if let e = peek(0), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            let sign = peek(1) == UInt8(ascii: "+") || peek(1) == UInt8(ascii: "-")
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

    private func peek(_ offset: Int) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private mutating func advance(_ count: Int) {
        for _ in 0..<count where position < bytes.count {
            if bytes[position] == UInt8(ascii: "\n") { line += 1 }
            position += 1
        }
    }

    private mutating func advance(while predicate: (UInt8) -> Bool) {
        while position < bytes.count && predicate(bytes[position]) { advance(1) }
    }

    static func isSpace(_ scalar: UInt8) -> Bool {
        scalar == UInt8(ascii: " ") || scalar == UInt8(ascii: "\t") || scalar == UInt8(ascii: "\n") || scalar == UInt8(ascii: "\r") || scalar == UInt8(ascii: "\u{0C}")
    }

    static func isDigit(_ scalar: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scalar)
    }

    /// psql takes every byte above ASCII as a letter, so every non-ASCII character is one here.
    static func isIdentifierStart(_ scalar: UInt8) -> Bool {
        scalar >= 0x80 || scalar == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(scalar) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(scalar)
    }

    static func isIdentifierContinuation(_ scalar: UInt8) -> Bool {
        isIdentifierStart(scalar) || isDigit(scalar) || scalar == UInt8(ascii: "$")
    }
}
