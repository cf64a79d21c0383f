import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore

/// `schemagate new NAME`: the next version's `.up.sql` and `.down.sql`.
struct NewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Create the next version's .up.sql and .down.sql in the migrations folder."
    )

    @Argument(help: "Name of the migration: lower-case letters, digits and _.")
    var name: String

    @OptionGroup var folder: FolderOptions

    func validate() throws {
        guard !name.isEmpty, name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
            throw ValidationError("NAME '\(name)': use lower-case letters, digits and _ only")
        }
    }

    func run() throws {
        let path = folder.path
        let manager = FileManager.default
        try? manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        let names = (try? manager.contentsOfDirectory(atPath: path)) ?? []
        // The highest version in use, and its width, read from file names alone so that a folder
        // with other problems still gets its next file.
        var highest: (version: Int64, width: Int) = (0, 4)
        for file in names where file.hasSuffix(".sql") {
            let digits = file.prefix { $0.isNumber }
            if let version = Int64(digits), version >= highest.version {
                highest = (version, max(digits.count, 4))
            }
        }
        let number = String(highest.version + 1)
        let version = String(repeating: "0", count: max(0, highest.width - number.count)) + number
        let up = joinedPath(path, "\(version)_\(name).up.sql")
        let down = joinedPath(path, "\(version)_\(name).down.sql")
        guard manager.createFile(atPath: up, contents: Data("-- \(version) \(name): write the migration here.\n".utf8)),
              manager.createFile(atPath: down, contents: Data("-- \(version) \(name): write the undo here. Left like this (comments only), rolling back this version does nothing; delete the file to make rollback refuse instead.\n".utf8))
        else {
            throw CommandFailure(.usage, "\(path): cannot create files there; check the folder's permissions")
        }
        print(up)
        print(down)
    }
}
