import FoundationEssentials
import SchemagateCore
import Synchronization

/// The daemon's current `DaemonStatus`, shared between the sidecar (which changes it) and the
/// status server (which reads it), and the `/wait` requests parked until it settles. A parked wait
/// is one continuation in a dictionary: hundreds of idle waiters cost no thread and no polling.
public final class StatusBoard: Sendable {
    /// A wait from the moment it has an id: its continuation may not be parked yet when its
    /// timeout or cancellation arrives, so that is remembered rather than lost.
    private enum Waiter {
        case arriving
        case parked(CheckedContinuation<DaemonStatus, Never>)
        case expired
    }

    private struct Contents {
        var status: DaemonStatus
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    private let contents: Mutex<Contents>

    public init(_ initial: DaemonStatus) {
        contents = Mutex(Contents(status: initial))
    }

    public var status: DaemonStatus { contents.withLock { $0.status } }

    /// Changes the status; when it settles (ready, failed, stopping), every parked wait is answered.
    public func update(_ change: (inout DaemonStatus) -> Void) {
        let (status, woken) = contents.withLock { contents -> (DaemonStatus, [CheckedContinuation<DaemonStatus, Never>]) in
            change(&contents.status)
            guard contents.status.isSettled else { return (contents.status, []) }
            var woken: [CheckedContinuation<DaemonStatus, Never>] = []
            for (id, waiter) in contents.waiters {
                guard case .parked(let continuation) = waiter else { continue }
                woken.append(continuation)
                contents.waiters[id] = nil
            }
            return (contents.status, woken)
        }
        for waiter in woken { waiter.resume(returning: status) }
    }

    /// The status once it has settled, or as it is after `timeout`, whichever comes first.
    public func waitUntilSettled(timeout: Duration) async -> DaemonStatus {
        let id = contents.withLock { contents -> Int in
            contents.nextWaiter += 1
            contents.waiters[contents.nextWaiter] = .arriving
            return contents.nextWaiter
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.answer(id)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let settled = contents.withLock { contents -> DaemonStatus? in
                    guard !contents.status.isSettled, case .arriving = contents.waiters[id] else {
                        // Settled already, or its timeout or cancellation came first.
                        contents.waiters[id] = nil
                        return contents.status
                    }
                    contents.waiters[id] = .parked(continuation)
                    return nil
                }
                if let settled { continuation.resume(returning: settled) }
            }
        } onCancel: {
            timer.cancel()
            answer(id)
        }
    }

    /// Answers one parked wait with the status as it is now (its timeout, or its task's cancellation).
    private func answer(_ id: Int) {
        let (status, continuation) = contents.withLock { contents -> (DaemonStatus, CheckedContinuation<DaemonStatus, Never>?) in
            switch contents.waiters[id] {
            case .parked(let continuation):
                contents.waiters[id] = nil
                return (contents.status, continuation)
            case .arriving:
                contents.waiters[id] = .expired
                return (contents.status, nil)
            case .expired, nil:
                return (contents.status, nil)
            }
        }
        continuation?.resume(returning: status)
    }

    /// How many waits are parked.
    public var parkedWaits: Int {
        contents.withLock { $0.waiters.values.count { if case .parked = $0 { true } else { false } } }
    }
}
