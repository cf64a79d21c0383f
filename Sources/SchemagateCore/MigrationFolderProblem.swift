/// One thing wrong with a migrations folder. Each names the file (or folder) and what to do.
public enum MigrationFolderProblem: Equatable, Sendable, CustomStringConvertible {
    case folderMissing(folder: String)
    case notADirectory(folder: String)
    case unreadable(path: String, reason: String)
    case danglingSymlink(file: String, target: String)
    case noMigrations(folder: String)
    case badFileName(file: String)
    case versionNotPositive(file: String)
    case versionTooLarge(file: String)
    case duplicateVersion(version: Int64, files: [String])
    case downWithoutUp(file: String)
    case unknownDirective(file: String, directive: String)
    case misplacedDirective(file: String, line: Int)
    case emptyMigration(file: String)
    case invalidUTF8(file: String)
    case transactionControl(file: String, line: Int, keyword: String)

    public var description: String {
        switch self {
        case .folderMissing(let folder):
            return "\(folder): migrations folder not found; create it or pass --migrations DIR"
        case .notADirectory(let folder):
            return "\(folder): is not a directory; pass the migrations folder with --migrations DIR"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read (\(reason))"
        case .danglingSymlink(let file, let target):
            return "\(file): symbolic link to \(target), which does not exist; fix the link or remove it"
        case .noMigrations(let folder):
            return "\(folder): holds no migrations (<version>_<name>.up.sql); add one with `schemagate new NAME`"
        case .badFileName(let file):
            return "\(file): not a migration file name; use <version>_<title>.up.sql or .down.sql (title without / or control characters)"
        case .versionNotPositive(let file):
            return "\(file): version must be a positive integer; renumber it from 1"
        case .versionTooLarge(let file):
            return "\(file): version is too large (at most 18 digits); renumber it"
        case .duplicateVersion(let version, let files):
            return "\(files.joined(separator: ", ")): version \(version) is used more than once; give each migration its own version"
        case .downWithoutUp(let file):
            return "\(file): down file without its .up.sql; add the up file or delete this one"
        case .unknownDirective(let file, let directive):
            return "\(file): unknown directive '\(directive)' on line 1; known: \(MigrationDirectives.known.joined(separator: ", "))"
        case .misplacedDirective(let file, let line):
            return "\(file):\(line): schemagate directives are read from the first line only; move this one to line 1"
        case .emptyMigration(let file):
            return "\(file): holds no SQL statements; write the migration, or if this version is meant to do nothing, put `SELECT 1;` in it (its down file may stay empty)"
        case .invalidUTF8(let file):
            return "\(file): is not valid UTF-8; save it as UTF-8"
        case .transactionControl(let file, let line, let keyword):
            return "\(file):\(line): \(keyword) is not allowed: schemagate runs each migration in its own transaction (use `-- schemagate: no-transaction` to run statements one by one)"
        }
    }
}

/// A migrations folder that cannot be used, with every problem found (the first is the headline).
public struct MigrationFolderError: Error, Sendable, CustomStringConvertible {
    public let problems: [MigrationFolderProblem]

    public init(_ problems: [MigrationFolderProblem]) {
        precondition(!problems.isEmpty)
        self.problems = problems
    }

    public var description: String {
        let more = problems.count > 1 ? " (and \(problems.count - 1) more problem\(problems.count == 2 ? "" : "s"); run `schemagate validate`)" : ""
        return problems[0].description + more
    }
}
