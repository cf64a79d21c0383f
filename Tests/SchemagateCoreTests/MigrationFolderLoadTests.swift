import FoundationEssentials
import SchemagateCore
import Testing

/// `MigrationFolder.load` on a real folder: what is read from disk and what is refused.
@Suite("migrations folder on disk")
struct MigrationFolderLoadTests {
    /// A folder in the temp dir with `files` (name → text), removed by `body`'s caller.
    func withFolder(_ files: [String: String], _ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.path + "/schemagate-load-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (name, text) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name))
        }
        try body(path)
    }

    /// A `.sql` link whose target is gone would otherwise drop a migration without a word.
    @Test func danglingSymlinkIsAnError() throws {
        try withFolder(["1_a.up.sql": "SELECT 1;"]) { path in
            try FileManager.default.createSymbolicLink(atPath: path + "/2_b.up.sql", withDestinationPath: path + "/gone.sql")
            let error = #expect(throws: MigrationFolderError.self) { try MigrationFolder.load(path: path) }
            #expect(error?.problems == [.danglingSymlink(file: path + "/2_b.up.sql", target: path + "/gone.sql")])
            #expect(error?.description.hasPrefix(path + "/2_b.up.sql: ") == true)
        }
    }

    @Test func symlinksThatResolveAreRead() throws {
        try withFolder(["1_a.up.sql": "SELECT 1;", "shared.txt": "SELECT 2;"]) { path in
            try FileManager.default.createSymbolicLink(atPath: path + "/2_b.up.sql", withDestinationPath: "shared.txt")
            try FileManager.default.createSymbolicLink(atPath: path + "/notes.txt", withDestinationPath: "gone.txt")
            let folder = try MigrationFolder.load(path: path)
            #expect(folder.migrations.map(\.upSQL) == ["SELECT 1;", "SELECT 2;"])
        }
    }
}
