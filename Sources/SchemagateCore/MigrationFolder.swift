import FoundationEssentials
import Glibc

/// The migrations of one folder, sorted by version and checked against the folder rules (README, "Migrations folder").
/// `parse` is pure and works on an in-memory file list; `load` reads the folder from disk.
public struct MigrationFolder: Sendable {
    /// A file in the folder: its name and exact bytes.
    public struct Entry: Sendable {
        public let name: String
        public let bytes: [UInt8]
        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    public let path: String
    public let migrations: [Migration]

    public var highestVersion: Int64? { migrations.last?.version }

    public func migration(version: Int64) -> Migration? {
        migrations.first { $0.version == version }
    }

    /// Reads every regular file of `path` (subfolders and non-`.sql` files are ignored by `parse`);
    /// a `.sql` symbolic link whose target is missing is an error.
    public static func load(path: String) throws(MigrationFolderError) -> MigrationFolder {
        try parse(path: path, entries: try readEntries(path: path) { $0.hasSuffix(".sql") }).get()
    }

    /// The regular files of `path` whose names pass `including`, sorted by name; a symbolic link
    /// among them whose target is missing is an error, since skipping it would drop a migration
    /// without a word.
    public static func readEntries(path: String, including: (String) -> Bool) throws(MigrationFolderError) -> [Entry] {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MigrationFolderError([.folderMissing(folder: path)])
        }
        guard isDirectory else { throw MigrationFolderError([.notADirectory(folder: path)]) }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw MigrationFolderError([.unreadable(path: path, reason: Self.reason(error))])
        }
        var entries: [Entry] = []
        var danglingLinks: [MigrationFolderProblem] = []
        for name in names.sorted() where including(name) {
            let filePath = joinedPath(path, name)
            var fileIsDirectory = false
            guard FileManager.default.fileExists(atPath: filePath, isDirectory: &fileIsDirectory) else {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: filePath) {
                    danglingLinks.append(.danglingSymlink(file: filePath, target: target))
                }
                continue
            }
            guard !fileIsDirectory else { continue }
            guard let bytes = Self.contents(of: filePath) else {
                throw MigrationFolderError([.unreadable(path: filePath, reason: "permission denied or I/O error")])
            }
            entries.append(Entry(name: name, bytes: bytes))
        }
        guard danglingLinks.isEmpty else { throw MigrationFolderError(danglingLinks) }
        return entries
    }

    /// A file's bytes, read straight into one array of its size (a large migration file is
    /// then held once, not as `Data` and a copy of it).
    private static func contents(of path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(clamping: status.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Why a folder could not be listed, in the words of the system error beneath FileManager's.
    private static func reason(_ error: any Error) -> String {
        if let posix = (error as? CocoaError)?.underlying as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        return "\(error)"
    }

    /// Applies the folder rules to a list of files.
    public static func parse(path: String, entries: [Entry]) -> Result<MigrationFolder, MigrationFolderError> {
        var problems: [MigrationFolderProblem] = []
        var ups: [Int64: [(MigrationFileName, Entry)]] = [:]
        var downs: [Int64: [(MigrationFileName, Entry)]] = [:]
        func display(_ name: String) -> String { joinedPath(path, name) }

        for entry in entries.sorted(by: { $0.name < $1.name }) where entry.name.hasSuffix(".sql") {
            switch MigrationFileName.parse(entry.name) {
            case .failure(.notAMigrationName): problems.append(.badFileName(file: display(entry.name)))
            case .failure(.versionNotPositive): problems.append(.versionNotPositive(file: display(entry.name)))
            case .failure(.versionTooLarge): problems.append(.versionTooLarge(file: display(entry.name)))
            case .success(let fileName):
                switch fileName.direction {
                case .up: ups[fileName.version, default: []].append((fileName, entry))
                case .down: downs[fileName.version, default: []].append((fileName, entry))
                }
            }
        }

        var migrations: [Migration] = []
        for version in Set(ups.keys).union(downs.keys).sorted() {
            let upFiles = ups[version] ?? []
            let downFiles = downs[version] ?? []
            let names = Set(upFiles.map(\.0.name) + downFiles.map(\.0.name))
            if upFiles.count > 1 || downFiles.count > 1 || names.count > 1 {
                let files = (upFiles + downFiles).map { display($0.1.name) }.sorted()
                problems.append(.duplicateVersion(version: version, files: files))
                continue
            }
            guard let (upName, upEntry) = upFiles.first else {
                downFiles.forEach { problems.append(.downWithoutUp(file: display($0.1.name))) }
                continue
            }
            let up = checkText(upEntry, display: display(upEntry.name), problems: &problems)
            let down = downFiles.first.flatMap { checkText($0.1, display: display($0.1.name), emptyIsNoOp: true, problems: &problems) }
            guard let up, downFiles.isEmpty || down != nil else { continue }
            migrations.append(Migration(
                version: version, name: upName.name, versionText: upName.versionText,
                upFile: display(upEntry.name), upSQL: up.sql,
                downFile: downFiles.first.map { display($0.1.name) }, downSQL: down?.sql,
                checksum: Checksum.sha256(upEntry.bytes), transactional: up.directives.transactional,
                contract: up.directives.contract,
                allowBlocking: up.directives.allowBlocking
            ))
        }
        if problems.isEmpty && migrations.isEmpty { problems.append(.noMigrations(folder: path)) }
        guard problems.isEmpty else { return .failure(MigrationFolderError(problems)) }
        return .success(MigrationFolder(path: path, migrations: migrations))
    }

    /// Decodes one file and checks its directives and statements. An empty or comment-only down
    /// file is a deliberate no-op (folders written for other tools hold many); an empty up file
    /// is almost always a mistake.
    private static func checkText(
        _ entry: Entry, display: String, emptyIsNoOp: Bool = false, problems: inout [MigrationFolderProblem]
    ) -> (sql: String, directives: MigrationDirectives)? {
        guard let decoded = String(validating: entry.bytes, as: UTF8.self) else {
            problems.append(.invalidUTF8(file: display))
            return nil
        }
        // psql skips a byte order mark at the start of a file; the server would read it as SQL.
        // The checksum is over the bytes, mark included.
        let hasMark = decoded.unicodeScalars.first == "\u{FEFF}"
        let sql = hasMark ? String(decoded.unicodeScalars.dropFirst()) : decoded
        // The checks read the file's own bytes (shared, not copied), the mark's three left out.
        let utf8 = hasMark ? Array(entry.bytes.dropFirst(3)) : entry.bytes
        let directives: MigrationDirectives
        switch MigrationDirectives.parse(firstLineOf: sql) {
        case .success(let parsed): directives = parsed
        case .failure(let problem):
            problems.append(.unknownDirective(file: display, directive: problem.directive))
            return nil
        }
        if let line = MigrationDirectives.misplacedLine(utf8: utf8) {
            problems.append(.misplacedDirective(file: display, line: line))
            return nil
        }
        let statements = SQLStatementSplitter.heads(utf8: utf8)
        guard !statements.isEmpty || emptyIsNoOp else {
            problems.append(.emptyMigration(file: display))
            return nil
        }
        if directives.transactional,
           let control = statements.first(where: { transactionControlKeywords.contains($0.keyword) }) {
            problems.append(.transactionControl(file: display, line: control.line, keyword: control.keyword))
            return nil
        }
        return (sql, directives)
    }

    private static let transactionControlKeywords: Set<String> = ["BEGIN", "COMMIT", "ROLLBACK", "START", "END", "ABORT"]
}

/// `folder/name` as NSString's `appendingPathComponent` wrote it: no doubled slash, and a bare
/// name when the folder is empty.
public func joinedPath(_ folder: String, _ name: String) -> String {
    if folder.isEmpty { return name }
    return folder.hasSuffix("/") ? folder + name : folder + "/" + name
}
