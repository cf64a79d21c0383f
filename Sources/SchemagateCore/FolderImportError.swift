/// Why a folder cannot be imported: one line per file, naming it and what to do.
public struct FolderImportError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]

    public var description: String {
        problems[0] + (problems.count > 1 ? " (and \(problems.count - 1) more; all are listed above)" : "")
    }
}
