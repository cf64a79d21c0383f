/// A file's text cut into lines that keep their line ends, so that the sections between other
/// tools' comment markers are copied byte for byte.
struct SourceLines {
    struct Line {
        /// 1-based.
        let number: Int
        /// The line with its `\n` (or `\r\n`), if it has one.
        let text: Substring
        /// The line without its line end.
        var content: Substring {
            // "\r\n" is one Character in Swift.
            text.last == "\n" || text.last == "\r\n" ? text.dropLast() : text
        }
    }

    let lines: [Line]

    init(_ text: String) {
        var lines: [Line] = []
        var start = text.startIndex
        var number = 1
        while start < text.endIndex {
            let end = text[start...].firstIndex { $0 == "\n" || $0 == "\r\n" }.map { text.index(after: $0) } ?? text.endIndex
            lines.append(Line(number: number, text: text[start..<end]))
            start = end
            number += 1
        }
        self.lines = lines
    }

    /// Lines that are blank or a `--` comment (what other tools allow before their first marker).
    static func isBlankOrComment(_ line: Substring) -> Bool {
        let trimmed = line.trimmingWhitespace()
        return trimmed.isEmpty || trimmed.hasPrefix("--")
    }
}

extension Array where Element == SourceLines.Line {
    var joinedText: String { map { String($0.text) }.joined() }
}
