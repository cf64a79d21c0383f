import FoundationEssentials
import Glibc

/// The sidecar's state in a small file under its runtime directory, rewritten atomically on each
/// change, so that `schemagate reload` (the unit's `ExecReload=`) can return only once the reload
/// it asked for has finished: systemd 252 has no `Type=notify-reload` to wait for it.
public struct StateFile: Sendable {
    public struct Contents: Sendable, Equatable {
        /// Counts finished starts and reloads.
        public var generation: Int
        /// `starting`, `ready`, `reloading` or `failed`.
        public var state: String
        public var version: Int64?
        public var message: String?
        /// With `failed`: the code the daemon exits with, so `schemagate reload` exits the same.
        public var exitCode: Int32?

        public init(generation: Int, state: String, version: Int64? = nil, message: String? = nil, exitCode: Int32? = nil) {
            self.exitCode = exitCode
            self.generation = generation
            self.state = state
            self.version = version
            self.message = message
        }
    }

    public let path: String

    public init(path: String) { self.path = path }

    /// `$RUNTIME_DIRECTORY/schemagate.state` when systemd gave a runtime directory.
    public static var defaultPath: String? { runtimeDirectoryFile("schemagate.state") }

    public func write(_ contents: Contents) {
        var text = "generation=\(contents.generation)\nstate=\(contents.state)\n"
        if let version = contents.version { text += "version=\(version)\n" }
        if let exitCode = contents.exitCode { text += "exit_code=\(exitCode)\n" }
        if let message = contents.message { text += "message=\(message.replacing("\n", with: " "))\n" }
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    public func read() -> Contents? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let generation = fields["generation"].flatMap(Int.init), let state = fields["state"] else { return nil }
        return Contents(generation: generation, state: state, version: fields["version"].flatMap { Int64($0) }, message: fields["message"],
                        exitCode: fields["exit_code"].flatMap { Int32($0) })
    }
}

/// `$RUNTIME_DIRECTORY/<name>` (the first directory when systemd lists several), or nil outside
/// a unit with `RuntimeDirectory=`: where the state file and the status socket live by default.
public func runtimeDirectoryFile(_ name: String) -> String? {
    // getenv: ProcessInfo would copy the whole environment into a dictionary first.
    guard let raw = getenv("RUNTIME_DIRECTORY"), let directory = String(cString: raw).split(separator: ":").first else { return nil }
    return "\(directory)/\(name)"
}
