import FoundationEssentials
import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3): tells the service manager about state changes (`READY=1`, `STATUS=…`,
/// `EXTEND_TIMEOUT_USEC=…`, `WATCHDOG=1`). A no-op when not started by systemd (no `NOTIFY_SOCKET`).
public struct Notifier: Sendable {
    public init() {}

    /// Sends `assignments` (`KEY=value` lines) in one datagram. False when no manager listens.
    @discardableResult
    public func notify(_ assignments: String...) -> Bool {
        notify(lines: assignments)
    }

    /// Each element is one `KEY=value`; a newline inside a value (a multi-line SQL error in
    /// `STATUS=`) would start a bogus assignment, so it becomes a space.
    @discardableResult
    public func notify(lines: [String]) -> Bool {
        schemagate_sd_notify(0, lines.map { String($0.map { $0.isNewline ? " " : $0 }) }.joined(separator: "\n")) > 0
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (what systemd 253+ expects; 252 accepts it too).
    public func reloading(status: String) {
        notify(lines: Self.reloadingLines(status: status))
    }

    /// Extends the start (or reload/stop) timeout by `duration` from now.
    public func extendTimeout(by duration: Duration) {
        notify(Self.extendTimeoutLine(by: duration))
    }

    /// The lines of `reloading(status:)`, for a caller that sends them itself.
    public static func reloadingLines(status: String) -> [String] {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        return ["RELOADING=1", "MONOTONIC_USEC=\(microseconds)", "STATUS=\(status)"]
    }

    /// The line of `extendTimeout(by:)`, for a caller that sends it itself.
    public static func extendTimeoutLine(by duration: Duration) -> String {
        "EXTEND_TIMEOUT_USEC=\(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000)"
    }

    /// The watchdog interval when systemd asked for pings (`WATCHDOG_USEC`, and `WATCHDOG_PID`
    /// unset or this process), else nil.
    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard schemagate_sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }
}
