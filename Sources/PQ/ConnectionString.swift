import CLibPQ

/// A libpq connection string (a `postgresql://` URI or `key=value` conninfo), validated by libpq's
/// own parser. The only place one is rendered for people is `redacted`, which never shows a password.
public struct ConnectionString: Sendable, CustomStringConvertible {
    public let rawValue: String
    /// The parsed options libpq would use, in libpq's order; empty values omitted.
    public let options: [(key: String, value: String)]

    /// Parses `rawValue`; an empty string means "libpq's defaults" (PGHOST, PGSERVICE, …).
    public init(_ rawValue: String) throws(PQError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(rawValue, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PQError(
                kind: .invalidConnectionString,
                message: "invalid connection string: \(Self.scrub(message.trimmingTrailingNewlines()))"
            )
        }
        defer { PQconninfoFree(parsed) }
        var options: [(key: String, value: String)] = []
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                options.append((String(cString: keyword), String(cString: value)))
            }
            option += 1
        }
        self.rawValue = rawValue
        self.options = options
    }

    public func value(_ key: String) -> String? {
        options.first { $0.key == key }?.value
    }

    /// `key=value` pairs without the password, safe for logs, errors and status output.
    public var redacted: String {
        let shown = options.filter { $0.key != "password" }.map { "\($0.key)=\($0.value)" }
        return shown.isEmpty ? "(libpq defaults)" : shown.joined(separator: " ")
    }

    public var description: String { redacted }

    /// libpq's parse errors quote the text they stumbled on, and that text may be a password (an
    /// invalid `%` escape in one, or the words after a syntax error). Keep a quoted fragment only
    /// when it is a single punctuation mark or an option name; show anything else as `"…"`.
    static func scrub(_ message: String) -> String {
        let parts = message.split(separator: "\"", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return message }
        var result = ""
        for (index, part) in parts.enumerated() {
            if index > 0 { result += "\"" }
            let quoted = index % 2 == 1 && index < parts.count - 1
            if quoted && !isSafeFragment(part) { result += "…" } else { result += part }
        }
        return result
    }

    private static func isSafeFragment(_ fragment: Substring) -> Bool {
        if fragment.count == 1, let scalar = fragment.unicodeScalars.first,
           !scalar.properties.isAlphabetic && !("0"..."9").contains(scalar) {
            return true
        }
        return optionNames.contains(String(fragment))
    }

    /// libpq's own option names (`host`, `port`, `sslmode`, …), from `PQconndefaults`.
    private static let optionNames: Set<String> = {
        guard let defaults = PQconndefaults() else { return [] }
        defer { PQconninfoFree(defaults) }
        var names: Set<String> = []
        var option = defaults
        while let keyword = option.pointee.keyword {
            names.insert(String(cString: keyword))
            option += 1
        }
        return names
    }()
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}
