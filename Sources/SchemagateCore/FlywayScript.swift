/// Flyway's SQL scripts: `V<version>__<description>.sql` (a versioned migration) and
/// `U<version>__<description>.sql` (its undo), as schemagate's up and down files. Flyway's
/// versions may be dotted (`1.2`, or `1_2`); schemagate's are integers, and no mapping from one to
/// the other keeps every folder's order without surprises, so dotted versions are refused.
enum FlywayScript {
    enum Kind: Equatable { case versioned, undo }

    struct Name: Equatable {
        let kind: Kind
        let version: String
        let description: String
    }

    /// The parts of a script name, nil for a file Flyway would not read as a migration, or the
    /// problem that stops it from being imported.
    static func parse(_ fileName: String) -> Result<Name, ImportProblem>? {
        guard fileName.hasSuffix(".sql"), let prefix = fileName.first else { return nil }
        let kind: Kind
        switch prefix {
        case "V": kind = .versioned
        case "U": kind = .undo
        case "R":
            guard fileName.hasPrefix("R__") else { return nil }
            return .failure(ImportProblem(file: fileName, "a Flyway repeatable migration (R__), run again whenever it changes; schemagate has no such thing: give its current SQL a versioned file of its own"))
        default: return nil
        }
        let stem = fileName.dropFirst().dropLast(".sql".count)
        guard let separator = stem.firstRange(of: "__") else { return nil }
        let version = stem[..<separator.lowerBound]
        let description = stem[separator.upperBound...]
        guard !version.isEmpty, version.allSatisfy({ $0.isASCIIDigit || $0 == "." || $0 == "_" }) else { return nil }
        guard version.allSatisfy(\.isASCIIDigit) else {
            let dotted = version.replacing("_", with: ".")
            return .failure(ImportProblem(file: fileName, "Flyway version \(dotted) is not a whole number, and schemagate's versions are; rename the scripts to whole-number versions in the same order (e.g. 1.2 → V12__), then import"))
        }
        guard MigrationFileName.isAcceptedTitle(description) else {
            return .failure(ImportProblem(file: fileName, "has no description after its version's __; rename it to \(prefix)\(version)__<description>.sql"))
        }
        return .success(Name(kind: kind, version: String(version), description: String(description)))
    }

    /// The script's text for schemagate: refused when it uses Flyway placeholders; outside a
    /// transaction when its `.sql.conf` says `executeInTransaction=false` or when it holds a
    /// statement that Flyway itself runs outside one.
    static func convert(fileName: String, text: String, configuration: String?) -> Result<(text: String, note: String), ImportProblem> {
        if let line = SourceLines(text).lines.first(where: { $0.content.contains("${") }) {
            return .failure(ImportProblem(file: fileName, "line \(line.number): Flyway replaces ${…} placeholders, schemagate does not; write the values in, then import"))
        }
        var notes: [String] = []
        var transactional = true
        if let configuration, configuration.split(whereSeparator: \.isNewline)
            .contains(where: { $0.replacing(" ", with: "").lowercased() == "executeintransaction=false" }) {
            transactional = false
            notes.append("executeInTransaction=false in \(fileName).conf became -- schemagate: no-transaction")
        } else if let statement = SQLStatementSplitter.split(text).first(where: \.refusesTransaction) {
            transactional = false
            notes.append("line \(statement.line) (\(statement.keyword) …) cannot run in a transaction, as Flyway knows: -- schemagate: no-transaction")
        }
        let origin = "Flyway \(fileName)"
        return .success((ImportedMigration.header(transactional: transactional, origin: origin) + text,
                         notes.isEmpty ? "renamed" : "renamed; " + notes.joined(separator: "; ")))
    }
}
