import CSystemd

/// sd_notify(3): tells the service manager about state changes (`READY=1`, `STATUS=…`).
/// A no-op when not started by systemd (no `NOTIFY_SOCKET`).
public struct Notifier: Sendable {
    public init() {}

    /// Sends `assignments` (`KEY=value` lines). Returns false when no manager listens.
    @discardableResult
    public func notify(_ assignments: String...) -> Bool {
        sd_notify(0, assignments.joined(separator: "\n")) > 0
    }
}
