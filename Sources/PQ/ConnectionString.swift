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
                message: "invalid connection string: \(message.trimmingTrailingNewlines())"
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
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}
