/// First-line directives of a migration file: `-- schemagate: no-transaction`, `-- schemagate: contract`,
/// or both separated by a comma.
public struct MigrationDirectives: Equatable, Sendable {
    public var transactional = true
    /// The migration removes what the previous release still uses: it waits until no live instance targets below it.
    public var contract = false
    /// `allow-blocking`: the lock-impact governor watches but never cancels, for a planned
    /// maintenance-window rewrite.
    public var allowBlocking = false

    public static let known = ["no-transaction", "contract", "allow-blocking"]

    /// Reads the directives from the first line; an unknown one is returned as the failure.
    static func parse(firstLineOf sql: String) -> Result<MigrationDirectives, DirectiveProblem> {
        var directives = MigrationDirectives()
        let firstLine = sql.prefix { $0 != "\n" && $0 != "\r\n" }
        // Mattermost's morph marks a file the same way; its meaning is exactly `no-transaction`.
        if firstLine.trimmingWhitespace() == "-- morph:nontransactional" {
            directives.transactional = false
            return .success(directives)
        }
        guard let list = directiveList(in: firstLine) else { return .success(directives) }
        let words = list.split(separator: ",").map { $0.trimmingWhitespace() }
        guard !words.isEmpty, !words.contains(where: \.isEmpty) else {
            return .failure(DirectiveProblem(directive: String(list.trimmingWhitespace())))
        }
        for word in words {
            switch word {
            case "no-transaction": directives.transactional = false
            case "contract": directives.contract = true
            case "allow-blocking": directives.allowBlocking = true
            default: return .failure(DirectiveProblem(directive: String(word)))
            }
        }
        return .success(directives)
    }

    /// The line of a directive below the first line, which `parse` would ignore. Only real `--`
    /// comments count: the same text in a string, dollar quote or block comment is not one.
    static func misplacedLine(in sql: String) -> Int? {
        misplacedLine(utf8: Array(sql.utf8))
    }

    /// The same, over a file's bytes as they are.
    static func misplacedLine(utf8 bytes: [UInt8]) -> Int? {
        var lexer = SQLLexer(utf8: bytes)
        while let token = lexer.next() {
            if token.kind == .lineComment && token.line > 1 && directiveList(in: Substring(lexer.text(of: token))) != nil {
                return token.line
            }
        }
        return nil
    }

    /// What follows `schemagate:` in a `--` comment line, or nil when the line is not a directive.
    private static func directiveList(in line: Substring) -> Substring? {
        let trimmed = line.trimmingWhitespace()
        guard trimmed.hasPrefix("--") else { return nil }
        let comment = trimmed.dropFirst(2).trimmingWhitespace()
        guard comment.lowercased().hasPrefix("schemagate:") else { return nil }
        return comment.dropFirst("schemagate:".count)
    }

    struct DirectiveProblem: Error, Equatable {
        let directive: String
    }
}

extension StringProtocol {
    public func trimmingWhitespace() -> Substring {
        let text = Substring(self)
        let start = text.firstIndex { !$0.isWhitespace } ?? text.endIndex
        let end = text.lastIndex { !$0.isWhitespace }.map { text.index(after: $0) } ?? start
        return text[start..<Swift.max(start, end)]
    }
}
