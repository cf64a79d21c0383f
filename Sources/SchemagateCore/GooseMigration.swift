/// A goose SQL file (`<version>_<title>.sql` with `-- +goose Up`, `-- +goose Down`,
/// `-- +goose NO TRANSACTION` and `-- +goose StatementBegin` … `StatementEnd`) as schemagate's up
/// and down files. The annotation lines are dropped; everything else is copied as it is.
enum GooseMigration {
    private enum Annotation: Equatable {
        case up, down, noTransaction, statementBegin, statementEnd, environmentSubstitution(Bool)
    }

    static func convert(fileName: String, text: String) -> Result<ImportedMigration, ImportProblem> {
        let version: String, title: String
        switch ImportedMigration.versionAndTitle(of: fileName, tool: .goose) {
        case .success(let parts): (version, title) = parts
        case .failure(let problem): return .failure(problem)
        }
        var section: Annotation?
        var up: [SourceLines.Line] = [], down: [SourceLines.Line] = []
        var transactional = true
        var sawDown = false
        // Each StatementBegin block: its first line and its text.
        var blocks: [(line: Int, text: String)] = []
        var openBlock: (line: Int, text: String)?
        for line in SourceLines(text).lines {
            let annotation: Annotation?
            switch parse(line.content) {
            case .failure(let word):
                return .failure(ImportProblem(file: fileName, "line \(line.number): unknown goose annotation `-- +goose \(word.word)`; known: Up, Down, NO TRANSACTION, StatementBegin, StatementEnd"))
            case .success(let parsed): annotation = parsed
            }
            switch annotation {
            case .up?, .down?:
                if openBlock != nil {
                    return .failure(ImportProblem(file: fileName, "line \(line.number): a section starts inside a StatementBegin block; close it with -- +goose StatementEnd"))
                }
                section = annotation
                sawDown = sawDown || annotation == .down
            case .noTransaction?: transactional = false
            case .environmentSubstitution(true)?:
                return .failure(ImportProblem(file: fileName, "line \(line.number): goose substitutes environment variables in this file (-- +goose ENVSUB ON), schemagate does not; write the values in, then import"))
            case .environmentSubstitution(false)?: break
            case .statementBegin?:
                if openBlock != nil {
                    return .failure(ImportProblem(file: fileName, "line \(line.number): StatementBegin inside another StatementBegin block; close the first with -- +goose StatementEnd"))
                }
                openBlock = (line.number, "")
            case .statementEnd?:
                guard let block = openBlock else {
                    return .failure(ImportProblem(file: fileName, "line \(line.number): StatementEnd without a StatementBegin; add one or remove this line"))
                }
                blocks.append(block)
                openBlock = nil
            case nil:
                if var block = openBlock {
                    block.text += line.text
                    openBlock = block
                }
                switch section {
                case .up?: up.append(line)
                case .down?: down.append(line)
                default:
                    guard SourceLines.isBlankOrComment(line.content) else {
                        return .failure(ImportProblem(file: fileName, "line \(line.number): SQL before `-- +goose Up`, which goose does not run; move it into a section"))
                    }
                }
            }
        }
        if let block = openBlock {
            return .failure(ImportProblem(file: fileName, "line \(block.line): StatementBegin without its StatementEnd; add -- +goose StatementEnd after the statement"))
        }
        guard section != nil else {
            return .failure(ImportProblem(file: fileName, "has no `-- +goose Up` line; goose would refuse it too: add one above the migration's SQL"))
        }
        // Outside a transaction schemagate runs the statements one by one, split as psql splits
        // them: a block must stay one statement there (in a transaction the file is sent whole).
        if !transactional, let block = blocks.first(where: { SQLStatementSplitter.split($0.text).count > 1 }) {
            let count = SQLStatementSplitter.split(block.text).count
            return .failure(ImportProblem(file: fileName, "line \(block.line): the StatementBegin block is \(count) statements where psql splits it, and this NO TRANSACTION file runs one statement at a time; split the block into one statement per block or make the file transactional"))
        }
        var notes = ["split its -- +goose Up and Down sections"]
        if !transactional { notes.append("NO TRANSACTION became -- schemagate: no-transaction") }
        if !blocks.isEmpty { notes.append("\(blocks.count) StatementBegin block\(blocks.count == 1 ? "" : "s") kept whole") }
        let upText = ImportedMigration.header(transactional: transactional, origin: "goose \(fileName) (its Up section)") + up.joinedText
        let downText = ImportedMigration.header(
            transactional: transactional,
            origin: sawDown ? "goose \(fileName) (its Down section)" : "goose \(fileName): it has no Down section, so rolling back does nothing"
        ) + down.joinedText
        if SQLStatementSplitter.split(downText).isEmpty { notes.append("empty down: a no-op") }
        return .success(ImportedMigration(version: version, title: title, up: upText, down: downText, note: notes.joined(separator: "; ")))
    }

    /// The annotation of a `-- +goose …` line (goose reads the word case-insensitively), nil for
    /// any other line, or the unknown word.
    private static func parse(_ line: Substring) -> Result<Annotation?, GooseWord> {
        let trimmed = line.trimmingWhitespace()
        guard trimmed.hasPrefix("--") else { return .success(nil) }
        let comment = trimmed.dropFirst(2).trimmingWhitespace()
        guard comment.hasPrefix("+goose") else { return .success(nil) }
        let word = comment.dropFirst("+goose".count).trimmingWhitespace()
        switch word.uppercased() {
        case "UP": return .success(.up)
        case "DOWN": return .success(.down)
        case "NO TRANSACTION": return .success(.noTransaction)
        case "STATEMENTBEGIN": return .success(.statementBegin)
        case "STATEMENTEND": return .success(.statementEnd)
        case "ENVSUB ON": return .success(.environmentSubstitution(true))
        case "ENVSUB OFF": return .success(.environmentSubstitution(false))
        default: return .failure(GooseWord(word: String(word)))
        }
    }

    private struct GooseWord: Error { let word: String }
}
