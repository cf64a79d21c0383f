import FoundationEssentials
import Glibc
import SchemagateCore

/// `schemagate status`'s human view: state, current → target, pending, lock holder and for how
/// long, last error, uptime. Colour only when asked (a terminal, no `NO_COLOR`, `TERM` not dumb).
struct StatusView {
    let status: DaemonStatus
    let colour: Bool

    /// Colour when stdout is a terminal that wants it.
    static var terminalWantsColour: Bool {
        let environment = ProcessInfo.processInfo.environment
        return isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }

    var text: String {
        var lines = ["\(paint(bullet, stateColour)) \(line)"]
        lines.append(row("schema", versions))
        // Until the daemon has read the database, "none" and "free" would be guesses.
        let known = status.currentVersion != nil
        lines.append(row("pending", !known ? "unknown" : status.pending.isEmpty ? "none" : status.pending.map { MigrationTitle.shown($0.name) }.joined(separator: ", ")))
        lines.append(row("lock", known ? lockText : "unknown"))
        lines.append(row("last error", status.lastError.map { paint($0, "31") } ?? "none"))
        lines.append(row("since", "\(Self.clock(status.since)) (\(Self.age(Date().timeIntervalSince(status.since))) in this state)"))
        lines.append(row("daemon", "\(status.host) pid \(status.pid), up \(Self.age(status.reportedUptime ?? Date().timeIntervalSince(status.startedAt)))"))
        lines.append(row("instance", status.instance))
        return lines.joined(separator: "\n")
    }

    /// One line, for `wait`'s progress.
    var line: String {
        let state = status.state.rawValue
        let rest = status.message.hasPrefix(state) ? String(status.message.dropFirst(state.count)) : ": \(status.message)"
        return paint(state, stateColour) + rest
    }

    private var versions: String {
        let current = status.currentVersion.map(String.init) ?? "?"
        let target = status.targetVersion.map(String.init) ?? "?"
        return current == target ? "\(current) (at target)" : "\(current) → \(target)"
    }

    private var lockText: String {
        guard let lock = status.lock else { return "free" }
        let heldFor = Self.age(status.reportedLockHeldFor ?? Date().timeIntervalSince(lock.heldSince))
        return lock.ours ? "held by this daemon for \(heldFor)" : "held by \(lock.host) pid \(lock.pid) for \(heldFor)"
    }

    private var bullet: String { "●" }

    private var stateColour: String {
        switch status.state {
        case .ready: return "32"
        case .failed: return "31"
        case .regressed, .stopping: return "33"
        case .starting, .connecting, .waiting, .migrating: return "36"
        }
    }

    private func row(_ label: String, _ value: String) -> String {
        "  " + label.padding(11) + value
    }

    private func paint(_ text: String, _ code: String) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// "4s", "3m 2s", "2h 5m".
    static func age(_ seconds: Double) -> String {
        let total = Int(seconds.wholeSeconds)
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m \(total % 60)s" }
        return "\(total / 3600)h \(total % 3600 / 60)m"
    }

    /// Local wall-clock time, "2026-12-03 10:05:58", from the C library (no ICU for one format).
    static func clock(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        tzset()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
