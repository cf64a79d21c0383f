/// First-line directives of a migration file: `-- schemagate: no-transaction`.
public struct MigrationDirectives: Equatable, Sendable {
    public var transactional = true

    public static let known = ["no-transaction"]

    /// Reads the directives from the first line; an unknown one is returned as the failure.
    static func parse(firstLineOf sql: String) -> Result<MigrationDirectives, DirectiveProblem> {
        var directives = MigrationDirectives()
        let firstLine = sql.prefix { $0 != "\n" && $0 != "\r\n" }
        let trimmed = firstLine.trimmingWhitespace()
        guard trimmed.hasPrefix("--") else { return .success(directives) }
        let comment = trimmed.dropFirst(2).trimmingWhitespace()
        guard comment.lowercased().hasPrefix("schemagate:") else { return .success(directives) }
        let list = comment.dropFirst("schemagate:".count)
        let words = list.split(separator: ",").map { $0.trimmingWhitespace() }
        guard !words.isEmpty, !words.contains(where: \.isEmpty) else {
            return .failure(DirectiveProblem(directive: String(list.trimmingWhitespace())))
        }
        for word in words {
            switch word {
            case "no-transaction": directives.transactional = false
            default: return .failure(DirectiveProblem(directive: String(word)))
            }
        }
        return .success(directives)
    }

    struct DirectiveProblem: Error, Equatable {
        let directive: String
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let text = Substring(self)
        let start = text.firstIndex { !$0.isWhitespace } ?? text.endIndex
        let end = text.lastIndex { !$0.isWhitespace }.map { text.index(after: $0) } ?? start
        return text[start..<Swift.max(start, end)]
    }
}
