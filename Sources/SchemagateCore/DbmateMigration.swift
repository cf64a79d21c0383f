/// A dbmate file (`<version>_<title>.sql` holding `-- migrate:up [transaction:false]` and
/// `-- migrate:down` sections) as schemagate's up and down files. The markers are found where
/// dbmate finds them: at the start of a line, the first of each.
enum DbmateMigration {
    static func convert(fileName: String, text: String) -> Result<ImportedMigration, ImportProblem> {
        let version: String, title: String
        switch ImportedMigration.versionAndTitle(of: fileName, tool: .dbmate) {
        case .success(let parts): (version, title) = parts
        case .failure(let problem): return .failure(problem)
        }
        let lines = SourceLines(text).lines
        let up = lines.firstIndex { marker(in: $0.content, named: "up") != nil }
        let down = lines.firstIndex { marker(in: $0.content, named: "down") != nil }
        guard let up else {
            return .failure(ImportProblem(file: fileName, "has no `-- migrate:up` line; dbmate would refuse it too: add one above the migration's SQL"))
        }
        if let down, down < up {
            return .failure(ImportProblem(file: fileName, "line \(lines[down].number): `-- migrate:down` comes before `-- migrate:up`; put the up section first"))
        }
        if let stray = lines[..<up].first(where: { !SourceLines.isBlankOrComment($0.content) }) {
            return .failure(ImportProblem(file: fileName, "line \(stray.number): SQL before `-- migrate:up`, which dbmate does not run; move it into a section"))
        }
        let upEnd = down ?? lines.endIndex
        let upTransactional = marker(in: lines[up].content, named: "up")!
        let upText = ImportedMigration.header(transactional: upTransactional, origin: "dbmate \(fileName) (-- migrate:up section)")
            + Array(lines[(up + 1)..<upEnd]).joinedText
        var notes = ["split its -- migrate:up and -- migrate:down sections"]
        if !upTransactional { notes.append("transaction:false became -- schemagate: no-transaction") }
        let downText: String
        if let down {
            let downTransactional = marker(in: lines[down].content, named: "down")!
            downText = ImportedMigration.header(transactional: downTransactional, origin: "dbmate \(fileName) (-- migrate:down section)")
                + Array(lines[(down + 1)...]).joinedText
            if !downTransactional { notes.append("down transaction:false became -- schemagate: no-transaction") }
        } else {
            downText = ImportedMigration.header(transactional: true, origin: "dbmate \(fileName): it has no -- migrate:down section, so rolling back does nothing")
        }
        if SQLStatementSplitter.split(downText).isEmpty { notes.append("empty down: a no-op") }
        return .success(ImportedMigration(version: version, title: title, up: upText, down: downText, note: notes.joined(separator: "; ")))
    }

    /// For a `-- migrate:up` / `-- migrate:down` line, whether the section runs in a transaction
    /// (`transaction:false` says not); nil for any other line.
    static func marker(in line: Substring, named name: String) -> Bool? {
        guard line.hasPrefix("--") else { return nil }
        let rest = line.dropFirst(2).drop { $0 == " " || $0 == "\t" }
        let word = "migrate:" + name
        guard rest.hasPrefix(word) else { return nil }
        let options = rest.dropFirst(word.count)
        guard options.isEmpty || options.first == " " || options.first == "\t" else { return nil }
        let pairs = options.split { $0 == " " || $0 == "\t" }
        return !pairs.contains { $0 == "transaction:false" }
    }
}
