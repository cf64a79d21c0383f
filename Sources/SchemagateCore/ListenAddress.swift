/// `--http ADDR:PORT`: where the optional TCP listener binds (`127.0.0.1:8473`, `[::1]:8473`,
/// `0.0.0.0:8473`). Parsed here, apart from the server, so every form is a unit test.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Problem) -> ListenAddress {
        let usage = "--http '\(text)': write it as ADDRESS:PORT, e.g. 127.0.0.1:8473 or [::1]:8473"
        guard let colon = text.lastIndex(of: ":") else { throw Problem(description: usage) }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw Problem(description: usage)
        }
        guard !host.isEmpty else { throw Problem(description: usage) }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw Problem(description: "--http '\(text)': port must be a number from 0 to 65535")
        }
        return ListenAddress(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
