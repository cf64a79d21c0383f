import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore
import SchemagateDaemon

/// `schemagate reload --pid PID`: the unit's `ExecReload=`. Sends SIGHUP and returns only once the
/// daemon has re-read its folder and migrated (exit 0) or failed (its exit code), so that
/// `systemctl reload` is synchronous.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Ask a running daemon to re-read its folder and migrate; return when it has finished."
    )

    @Option(help: "The daemon's process id ($MAINPID in the unit).") var pid: Int32
    @Option(help: ArgumentHelp("The daemon's state file (default $RUNTIME_DIRECTORY/schemagate.state).", valueName: "path"))
    var stateFile: String?
    @Option(help: ArgumentHelp("Give up after this long (default 10m; also SCHEMAGATE_RELOAD_TIMEOUT).", valueName: "duration"))
    var timeout: String?

    func run() async throws {
        guard let path = stateFile ?? Environment.value(forOption: "state-file") ?? StateFile.defaultPath else {
            throw CommandFailure(.usage, "no state file: pass --state-file or run under systemd with RuntimeDirectory=")
        }
        let file = StateFile(path: path)
        guard let before = file.read() else {
            throw CommandFailure(.noDaemon, "\(path): no daemon state; is `schemagate daemon` running with this state file?")
        }
        guard kill(pid, SIGHUP) == 0 else {
            throw CommandFailure(.noDaemon, "cannot signal pid \(pid): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + (try duration("timeout", timeout, default: .seconds(600), environment: "reload-timeout"))
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            if let now = file.read(), now.generation > before.generation {
                switch now.state {
                case "ready":
                    // Still ready, but the reload did nothing: the re-read database URL was refused.
                    if let code = now.exitCode.flatMap(SchemagateExitCode.init(rawValue:)), code != .success {
                        throw CommandFailure(code, now.message ?? "reload refused; see the journal")
                    }
                    print("reloaded: schema at \(now.version.map(String.init) ?? "?")")
                    return
                case "failed":
                    // The daemon's own exit code: a bad file is 65 for both, not 65 and 70.
                    let code = now.exitCode.flatMap(SchemagateExitCode.init(rawValue:)) ?? .migrationFailed
                    throw CommandFailure(code, "reload failed: \(now.message ?? "see the journal")")
                default:
                    continue
                }
            }
            if kill(pid, 0) != 0 {
                throw CommandFailure(.failed, "the daemon (pid \(pid)) exited during the reload: \(file.read()?.message ?? "see the journal")")
            }
        }
        throw CommandFailure(.notReady, "reload did not finish within the timeout; the daemon is still working on it")
    }
}
