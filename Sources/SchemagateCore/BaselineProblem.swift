/// Why `schemagate baseline` records nothing. Each says what to do; all but a bad `--version`
/// are exit 78.
public enum BaselineProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// schemagate already tracks this database: a baseline would overwrite real history.
    case alreadyTracked(version: Int64)
    case unknownVersion(Int64, highest: Int64)
    /// A dirty or failed state of the other tool, in its words.
    case foreignState(String)
    case noHistoryTable(tool: ForeignTool, table: String)
    case nothingApplied(ForeignHistory)
    /// The other tool applied a version the folder has no file for.
    case missingFromFolder(version: Int64, history: ForeignHistory)
    /// The folder has a version below the highest applied one that the other tool never applied:
    /// schemagate's one version number cannot say "all but this one".
    case gap(Migration, highest: Int64, history: ForeignHistory)

    public var exitCode: SchemagateExitCode {
        switch self {
        case .unknownVersion: return .usage
        case .alreadyTracked, .foreignState, .noHistoryTable, .nothingApplied, .missingFromFolder, .gap: return .baselineRefused
        }
    }

    public var description: String {
        switch self {
        case .alreadyTracked(let version):
            return "schemagate already tracks this database (version \(version)); baseline is only for a database schemagate has never migrated"
        case .unknownVersion(let version, let highest):
            return "--version \(version): the folder has no version \(version) (its highest is \(highest)); give a version the folder has"
        case .foreignState(let message):
            return message
        case .noHistoryTable(let tool, let table):
            return "no \(tool.rawValue) history table \(table) in this database; pass --history-table NAME, or --version N"
        case .nothingApplied(let history):
            return "\(history.tool.rawValue)'s \(history.table) records no applied migration; nothing to baseline: run schemagate migrate"
        case .missingFromFolder(let version, let history):
            return "\(history.tool.rawValue)'s \(history.table) records version \(version) as applied, but the folder has no file for it; add that migration's files (import the other tool's folder again), then baseline"
        case .gap(let migration, let highest, let history):
            return "\(migration.upFile): version \(migration.version) was never applied by \(history.tool.rawValue), which applied \(highest) after it; apply it with \(history.tool.rawValue) first (or renumber it above \(highest)), then baseline"
        }
    }
}
