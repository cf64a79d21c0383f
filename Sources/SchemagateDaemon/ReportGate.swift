import Synchronization
import Systemd

/// sd_notify messages held back until the status socket answers (nothing is reported
/// before it is bound), so that connecting to the database can overlap the server's start
/// instead of waiting for it. Once open, messages go straight through, in order.
final class ReportGate: Sendable {
    private let notifier = Notifier()
    private let held = Mutex<[[String]]?>([])

    func notify(_ assignments: String...) { notify(lines: assignments) }

    func notify(lines: [String]) {
        let sendNow = held.withLock { queue -> Bool in
            guard queue != nil else { return true }
            queue!.append(lines)
            return false
        }
        if sendNow { notifier.notify(lines: lines) }
    }

    func extendTimeout(by duration: Duration) { notify(Notifier.extendTimeoutLine(by: duration)) }

    func reloading(status: String) { notify(lines: Notifier.reloadingLines(status: status)) }

    /// Sends what was held, then lets everything through.
    func open() {
        // Sent under the lock, so a message arriving meanwhile cannot overtake the held ones.
        held.withLock { queue in
            for lines in queue ?? [] { notifier.notify(lines: lines) }
            queue = nil
        }
    }
}
