/// Another tool's migrations folder rewritten as a schemagate folder: the files to write, one
/// line per source file saying what changed, and the problems that stop the import. Pure: the
/// command reads the source and writes the destination.
public struct FolderImport: Sendable {
    /// The destination's files, by name.
    public let files: [MigrationFolder.Entry]
    /// One line per source file, in name order.
    public let report: [String]
    public let summary: String

    /// Converts `entries` (the source folder's files) written for `tool`. Every file that cannot
    /// be converted is a problem; the result is then checked by schemagate's own folder rules.
    public static func convert(_ tool: ForeignTool, entries: [MigrationFolder.Entry]) -> Result<FolderImport, FolderImportError> {
        var files: [MigrationFolder.Entry] = []
        var report: [String] = []
        var problems: [String] = []
        let byName = Dictionary(entries.map { ($0.name, $0.bytes) }) { first, _ in first }
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            guard entry.name.hasSuffix(".sql") else {
                if !(tool == .flyway && entry.name.hasSuffix(".sql.conf")) { report.append("\(entry.name): skipped, not a .sql file") }
                continue
            }
            guard let text = String(validating: entry.bytes, as: UTF8.self) else {
                problems.append("\(entry.name): is not valid UTF-8; save it as UTF-8")
                continue
            }
            switch tool {
            case .morph:
                // Its file names are schemagate's, and its first-line directive is read natively.
                files.append(entry)
                report.append("\(entry.name): copied unchanged")
            case .golangMigrate:
                // The same file names; but golang-migrate sends a file as one query outside a
                // transaction block, so a lone CREATE INDEX CONCURRENTLY works there and would
                // fail in schemagate's transaction.
                let directives = MigrationDirectives.parse(firstLineOf: text)
                if case .success(let parsed) = directives, parsed.transactional,
                   let statement = SQLStatementSplitter.split(text).first(where: \.refusesTransaction) {
                    files.append(MigrationFolder.Entry(name: entry.name, bytes: Array("-- schemagate: no-transaction\n".utf8) + entry.bytes))
                    report.append("\(entry.name): line \(statement.line) (\(statement.keyword) …) cannot run in a transaction: added -- schemagate: no-transaction")
                } else {
                    files.append(entry)
                    report.append("\(entry.name): copied unchanged")
                }
            case .dbmate, .goose:
                let converted = tool == .dbmate ? DbmateMigration.convert(fileName: entry.name, text: text)
                                                : GooseMigration.convert(fileName: entry.name, text: text)
                switch converted {
                case .failure(let problem): problems.append(problem.description)
                case .success(let migration):
                    files.append(MigrationFolder.Entry(name: migration.upName, bytes: Array(migration.up.utf8)))
                    if let down = migration.down { files.append(MigrationFolder.Entry(name: migration.downName, bytes: Array(down.utf8))) }
                    report.append("\(entry.name) → \(migration.upName), \(migration.downName): \(migration.note)")
                }
            case .flyway:
                guard let parsed = FlywayScript.parse(entry.name) else {
                    report.append("\(entry.name): skipped, not a Flyway V or U script name")
                    continue
                }
                let name: FlywayScript.Name
                switch parsed {
                case .failure(let problem): problems.append(problem.description); continue
                case .success(let value): name = value
                }
                let configuration = byName[entry.name + ".conf"].flatMap { String(validating: $0, as: UTF8.self) }
                switch FlywayScript.convert(fileName: entry.name, text: text, configuration: configuration) {
                case .failure(let problem): problems.append(problem.description)
                case .success(let converted):
                    let target = "\(name.version)_\(name.description).\(name.kind == .versioned ? "up" : "down").sql"
                    files.append(MigrationFolder.Entry(name: target, bytes: Array(converted.text.utf8)))
                    report.append("\(entry.name) → \(target): \(converted.note)")
                }
            }
        }
        guard problems.isEmpty else { return .failure(FolderImportError(problems: problems)) }
        switch MigrationFolder.parse(path: "", entries: files) {
        case .failure(let error):
            return .failure(FolderImportError(problems: error.problems.map { "after import, \($0.description)" }))
        case .success(let folder):
            let noTransaction = folder.migrations.filter { !$0.transactional }.count
            let noOps = folder.migrations.filter { $0.downSQL.map { SQLStatementSplitter.split($0).isEmpty } ?? false }.count
            let withoutDown = folder.migrations.filter { $0.downFile == nil }.count
            let summary = "imported \(folder.migrations.count) migration\(folder.migrations.count == 1 ? "" : "s") from \(tool.rawValue) (versions \(folder.migrations.first!.version) to \(folder.highestVersion!)): \(noTransaction) outside a transaction, \(noOps) no-op down\(noOps == 1 ? "" : "s"), \(withoutDown) without a down file"
            return .success(FolderImport(files: files.sorted { $0.name < $1.name }, report: report, summary: summary))
        }
    }
}
