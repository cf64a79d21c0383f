/// What `validate --explain` says about one migration: how its up file runs, the first-line
/// directive that decided it, and what rollback does with its down, so that a folder written for
/// another tool can be checked before the first deploy.
public struct MigrationExplanation: Equatable, Sendable {
    public let lines: [String]

    public init(_ migration: Migration) {
        var lines = ["\(migration.upFile): version \(migration.version) (\(MigrationTitle.shown(migration.name))), "
            + Self.howItRuns(migration.upSQL)]
        if let downFile = migration.downFile, let downSQL = migration.downSQL {
            lines.append(SQLStatementSplitter.heads(downSQL).isEmpty
                ? "  down \(downFile): no statements, a no-op: rollback passes this version and records it"
                : "  down \(downFile): " + Self.howItRuns(downSQL))
        } else {
            lines.append("  no down file: rollback refuses this version unless a down SQL was stored when it was applied")
        }
        self.lines = lines
    }

    private static func howItRuns(_ sql: String) -> String {
        let statements = SQLStatementSplitter.heads(sql).count
        let count = "\(statements) statement\(statements == 1 ? "" : "s")"
        let firstLine = String(sql.prefix { $0 != "\n" && $0 != "\r\n" }.trimmingWhitespace())
        guard let directives = try? MigrationDirectives.parse(firstLineOf: sql).get(), !directives.transactional else {
            return "\(count) in one transaction"
        }
        return "\(count) one by one outside a transaction (first line `\(firstLine)`)"
    }
}
