import ServiceLifecycle
import Systemd

/// `WATCHDOG=1` at half of `WATCHDOG_USEC`, only while the sidecar's heartbeat is fresh, so that a
/// hung sidecar is restarted by systemd. Does nothing when systemd asked for no watchdog.
public struct Watchdog: Service {
    let heartbeat: Heartbeat
    let notifier = Notifier()

    public init(heartbeat: Heartbeat) {
        self.heartbeat = heartbeat
    }

    public func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            try await gracefulShutdown()
            return
        }
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval / 2)
                if !Task.isCancelled && heartbeat.age < interval { notifier.notify("WATCHDOG=1") }
            }
        }
    }
}
