/// The parts of a migration file name: `<version>_<name>.up.sql` or `<version>_<name>.down.sql`.
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
              !name.isEmpty, name.allSatisfy({ $0.isASCIIDigit || $0 == "_" || ("a"..."z").contains($0) })
        else { return .failure(.notAMigrationName) }
        let digits = versionText.drop { $0 == "0" }
        guard !digits.isEmpty else { return .failure(.versionNotPositive) }
        guard digits.count <= 18, let version = Int64(digits) else { return .failure(.versionTooLarge) }
        return .success(MigrationFileName(
            version: version, versionText: String(versionText), name: String(name), direction: direction
        ))
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
