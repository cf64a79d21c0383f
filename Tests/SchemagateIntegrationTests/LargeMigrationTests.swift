import Foundation
import PostgresHarness
import Testing

/// A 50 MB migration file (a data load of plain INSERTs) is checked and applied in memory bounded
/// by a small multiple of its size: the file is held as bytes and as text, and nothing is copied
/// per character or per statement. The peak is each child's own (`wait4`'s `ru_maxrss`).
@Suite("a 50 MB migration file", .serialized)
struct LargeMigrationTests {
    static let rows = 50_000
    /// 50 MB file, at most this much resident: the file as text, the lexer's view of it, libpq's
    /// copy of the query (its output buffer doubles up to 64 MiB), and the runtime. A debug build
    /// peaks near 200 MiB in `migrate`; a C-string copy of the text on the way to libpq once
    /// added 56 MB more.
    static let boundKilobytes = 256 * 1024

    /// Writes `0001_load.up.sql`: a table and `rows` INSERTs of about 1 KiB each, each with a
    /// string that holds a semicolon and comment marks the splitter must not take for what they
    /// look like.
    func largeFolder() throws -> (path: String, bytes: Int) {
        let folder = try makeFolder([:])
        let path = folder + "/0001_load.up.sql"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let padding = String(repeating: "padding ", count: 128)
        var chunk = "CREATE TABLE load (id int PRIMARY KEY, payload text);\n"
        var written = 0
        for id in 1...Self.rows {
            chunk += "INSERT INTO load (id, payload) VALUES (\(id), 'row \(id); -- not a comment /* nor this */ \(padding)');\n"
            if chunk.utf8.count > 1 << 20 {
                written += chunk.utf8.count
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        written += chunk.utf8.count
        try handle.write(contentsOf: Data(chunk.utf8))
        return (folder, written)
    }

    @Test func isValidatedAndAppliedInBoundedMemory() async throws {
        let (folder, bytes) = try largeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(bytes > 50 * 1024 * 1024, "the file is \(bytes) bytes")

        let validated = try await schemagate(["validate", "--offline", "--migrations", folder])
        #expect(validated.status == 0, "\(validated.all.suffix(800))")
        #expect(validated.peakMemoryKilobytes > 0 && validated.peakMemoryKilobytes < Self.boundKilobytes,
                "validate --offline peaked at \(validated.peakMemoryKilobytes / 1024) MiB for a \(bytes / 1024 / 1024) MiB file")

        let database = try await TestDatabase()
        let migrated = try await schemagate(["migrate", "--database-url", database.url, "--migrations", folder])
        #expect(migrated.status == 0, "\(migrated.all.suffix(800))")
        #expect(migrated.peakMemoryKilobytes > 0 && migrated.peakMemoryKilobytes < Self.boundKilobytes,
                "migrate peaked at \(migrated.peakMemoryKilobytes / 1024) MiB for a \(bytes / 1024 / 1024) MiB file")
        #expect(try await database.sql("SELECT count(*) FROM load") == String(Self.rows))
        #expect(try await database.sql("SELECT payload = 'row 7; -- not a comment /* nor this */ ' || repeat('padding ', 128) FROM load WHERE id = 7") == "t")
        #expect(try await database.version() == 1)
    }
}
