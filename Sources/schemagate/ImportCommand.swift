import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore

/// `schemagate import --from TOOL SRC DEST`: another tool's migrations folder written out as a
/// schemagate folder, saying per file what changed. Writes nothing when any file cannot be converted.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write another tool's migrations folder (golang-migrate, dbmate, goose, flyway, morph) as a schemagate folder."
    )

    @Option(help: ArgumentHelp("The tool the folder was written for: \(ForeignTool.names).", valueName: "tool"))
    var from: String

    @Argument(help: "The other tool's migrations folder.")
    var source: String

    @Argument(help: "The schemagate folder to write (new, or empty).")
    var destination: String

    func run() throws {
        guard let tool = ForeignTool(rawValue: from) else {
            throw CommandFailure(.usage, "--from '\(from)': not a tool schemagate imports; use one of \(ForeignTool.names)")
        }
        let manager = FileManager.default
        if let existing = try? manager.contentsOfDirectory(atPath: destination), !existing.isEmpty {
            throw CommandFailure(.usage, "\(destination): exists and is not empty; give a new or empty folder to write the import into")
        }
        var isDirectory = false
        if manager.fileExists(atPath: destination, isDirectory: &isDirectory), !isDirectory {
            throw CommandFailure(.usage, "\(destination): exists and is not a folder; give a new or empty folder to write the import into")
        }
        let entries: [MigrationFolder.Entry]
        do {
            entries = try MigrationFolder.readEntries(path: source) { $0.hasSuffix(".sql") || $0.hasSuffix(".sql.conf") }
        } catch {
            throw CommandFailure(.invalidMigrations, error.description)
        }
        let imported: FolderImport
        switch FolderImport.convert(tool, entries: entries) {
        case .failure(let error):
            error.problems.forEach { print($0) }
            throw CommandFailure(.invalidMigrations, "\(source): \(error.problems.count) file\(error.problems.count == 1 ? "" : "s") cannot be imported from \(tool.rawValue); nothing was written")
        case .success(let value): imported = value
        }
        do {
            try manager.createDirectory(atPath: destination, withIntermediateDirectories: true)
            for file in imported.files {
                guard manager.createFile(atPath: joinedPath(destination, file.name), contents: Data(file.bytes)) else {
                    throw CommandFailure(.usage, "\(joinedPath(destination, file.name)): cannot be written; check the folder's permissions")
                }
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.usage, "\(destination): cannot be created; check the path and its permissions")
        }
        imported.report.forEach { print($0) }
        print("\(imported.summary); written to \(destination)")
    }
}
