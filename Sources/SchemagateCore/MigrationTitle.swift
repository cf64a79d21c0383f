/// How a migration title is shown in messages: as written, and in double quotes when it holds
/// spaces, quotes or other characters that would make a log line ambiguous.
public enum MigrationTitle {
    public static func shown(_ title: String) -> String {
        let plain = !title.isEmpty && title.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-+".unicodeScalars.contains($0))
        }
        guard !plain else { return title }
        var quoted = "\""
        for character in title {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }
}
