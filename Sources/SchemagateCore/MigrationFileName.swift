/// The parts of a migration file name: `<version>_<title>.up.sql` or `<version>_<title>.down.sql`.
/// The title follows golang-migrate's rule (anything but `/`, NUL and control characters), so the
/// dots, dashes and capitals of folders written for other tools are accepted as they are.
struct MigrationFileName: Equatable {
    enum Direction: Equatable { case up, down }

    let version: Int64
    let versionText: String
    let name: String
    let direction: Direction

    /// Why a `.sql` file name is not a migration name.
    enum Problem: Error, Equatable {
        case notAMigrationName
        case versionNotPositive
        case versionTooLarge
    }

    static func parse(_ fileName: String) -> Result<MigrationFileName, Problem> {
        let direction: Direction
        let stem: Substring
        if fileName.hasSuffix(".up.sql") {
            direction = .up
            stem = fileName.dropLast(".up.sql".count)
        } else if fileName.hasSuffix(".down.sql") {
            direction = .down
            stem = fileName.dropLast(".down.sql".count)
        } else {
            return .failure(.notAMigrationName)
        }
        guard let underscore = stem.firstIndex(of: "_") else { return .failure(.notAMigrationName) }
        let versionText = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard !versionText.isEmpty, versionText.allSatisfy(\.isASCIIDigit),
              isAcceptedTitle(name)
        else { return .failure(.notAMigrationName) }
        let digits = versionText.drop { $0 == "0" }
        guard !digits.isEmpty else { return .failure(.versionNotPositive) }
        guard digits.count <= 18, let version = Int64(digits) else { return .failure(.versionTooLarge) }
        return .success(MigrationFileName(
            version: version, versionText: String(versionText), name: String(name), direction: direction
        ))
    }

    /// A title is shown as written; these are the characters that would make it unreadable or
    /// ambiguous in a path or a log line.
    static func isAcceptedTitle(_ title: Substring) -> Bool {
        !title.isEmpty && !title.unicodeScalars.contains { $0 == "/" || $0.properties.generalCategory == .control }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
