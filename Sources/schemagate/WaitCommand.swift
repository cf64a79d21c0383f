import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore

/// `schemagate wait`: blocks until the daemon is ready, through its long-polling `/wait`; on a
/// terminal, one line shows what the daemon is doing meanwhile. Exit 0 ready, 4 failed, 3 not
/// ready at the timeout (or the daemon stopping), 1 no daemon answered.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Block until the daemon is ready: exit 0 ready, 3 not ready by the timeout, 4 failed, 1 no daemon answered."
    )

    @OptionGroup var socket: SocketOptions

    @Option(help: ArgumentHelp("Give up after this long, e.g. 90s or 5m; a bare number is seconds (default: wait as long as it takes; also SCHEMAGATE_WAIT_TIMEOUT).", valueName: "duration"))
    var timeout: String?

    func run() async throws {
        let client = try socket.client()
        let limit: Duration? = timeout == nil && Environment.value(forOption: "wait-timeout") == nil
            ? nil : try duration("timeout", timeout, default: .zero, environment: "wait-timeout")
        let deadline = limit.map { ContinuousClock.now + $0 }
        let progress = isatty(STDERR_FILENO) == 1 ? Task { await showProgress(client) } : nil
        defer { progress?.cancel() }
        var status: DaemonStatus
        repeat {
            // The daemon holds a wait for up to an hour; ask again until the deadline.
            let remaining = deadline.map { max(0, ($0 - ContinuousClock.now) / .milliseconds(1)) / 1000 } ?? 3600
            status = try await client.status("/wait?timeout=\(min(remaining, 3600))").status
        } while !status.isSettled && deadline.map({ ContinuousClock.now < $0 }) ?? true
        progress?.cancel()
        if progress != nil { StandardStreams.error("\r\u{1B}[K") }
        let view = StatusView(status: status, colour: StatusView.terminalWantsColour)
        switch StatusAnswer.exitCode(status) {
        case .success:
            print(view.line)
        case .failed:
            throw CommandFailure(.failed, "the daemon failed: \(status.lastError ?? status.message)")
        default:
            throw CommandFailure(.notReady, "not ready\(limit.map { " after \(DurationParser.format($0))" } ?? ""): \(status.state.rawValue): \(status.message)")
        }
    }

    /// Redraws one status line on stderr while the wait is open.
    private func showProgress(_ client: StatusClient) async {
        var shown = ""
        while !Task.isCancelled {
            if let status = try? await client.status("/status").status {
                let line = StatusView(status: status, colour: false).line
                if line != shown {
                    shown = line
                    StandardStreams.error("\r\u{1B}[K… \(line)")
                }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
