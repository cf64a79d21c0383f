/// One migration of another tool's folder, rewritten as schemagate's files: the up file, the
/// down file (nil when the source has none) and the line `import` prints about it.
public struct ImportedMigration: Sendable, Equatable {
    public var version: String
    public var title: String
    public var up: String
    public var down: String?
    /// What was changed, e.g. `split the -- migrate:up / -- migrate:down sections`.
    public var note: String

    public init(version: String, title: String, up: String, down: String?, note: String) {
        self.version = version
        self.title = title
        self.up = up
        self.down = down
        self.note = note
    }

    public var upName: String { "\(version)_\(title).up.sql" }
    public var downName: String { "\(version)_\(title).down.sql" }

    /// The first lines of a rewritten file: the directive when it runs outside a transaction
    /// (it must be line 1), then where it came from.
    static func header(transactional: Bool, origin: String) -> String {
        (transactional ? "" : "-- schemagate: no-transaction\n") + "-- imported from \(origin)\n"
    }
}

extension ImportedMigration {
    /// `20240101120000_create_users.sql` → (`20240101120000`, `create_users`): the leading digits
    /// are the version (dbmate's and goose's rule), the rest after one `_` the title.
    static func versionAndTitle(of fileName: String, tool: ForeignTool) -> Result<(String, String), ImportProblem> {
        let stem = fileName.dropLast(".sql".count)
        let version = stem.prefix { $0.isASCIIDigit }
        var title = stem.dropFirst(version.count)
        if title.first == "_" { title = title.dropFirst() }
        guard !version.isEmpty else {
            return .failure(ImportProblem(file: fileName, "not a \(tool.rawValue) migration name (<version>_<title>.sql); rename or remove it"))
        }
        guard MigrationFileName.isAcceptedTitle(title) else {
            return .failure(ImportProblem(file: fileName, "has no title after its version; rename it to \(version)_<title>.sql"))
        }
        return .success((String(version), String(title)))
    }
}
