import FoundationEssentials
import Glibc

/// Option values from the environment: every option `--some-thing` also reads
/// `SCHEMAGATE_SOME_THING`, so that a systemd `EnvironmentFile=` can configure everything.
enum Environment {
    static func value(forOption option: String) -> String? {
        let name = "SCHEMAGATE_" + option.uppercased().replacing("-", with: "_")
        // getenv: ProcessInfo would rebuild the whole environment dictionary for every option.
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }

    /// `$CREDENTIALS_DIRECTORY/database-url`, systemd's `LoadCredential=` for the database URL.
    static func credentialDatabaseURL() -> String? {
        guard let directory = getenv("CREDENTIALS_DIRECTORY").map({ String(cString: $0) }),
              let data = FileManager.default.contents(atPath: directory + "/database-url"),
              let text = String(data: data, encoding: .utf8) else { return nil }
        let trimmed = String(text.trimmingWhitespace())
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The systemd unit this process runs in (`schemagate@app.service`), read from its cgroup
    /// when systemd started it (`INVOCATION_ID` is set); empty otherwise.
    static func systemdUnit() -> String {
        guard getenv("INVOCATION_ID") != nil,
              let data = FileManager.default.contents(atPath: "/proc/self/cgroup"),
              let text = String(data: data, encoding: .utf8) else { return "" }
        for line in text.split(separator: "\n") {
            guard let last = line.split(separator: "/").last, last.hasSuffix(".service") else { continue }
            return String(last)
        }
        return ""
    }
}
