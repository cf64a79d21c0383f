import FoundationEssentials

/// What `plan --json`, `history --json` and `fleet --json` print: pretty, with sorted keys, so
/// that the same state always reads the same and diffs well.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
