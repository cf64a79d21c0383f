import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import SchemagateCore
import SchemagateDaemon
import SchemagateStore
import ServiceLifecycle
import UnixSignals

/// `schemagate daemon`: the sidecar under systemd (`Type=notify`).
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the sidecar: migrate (or wait), tell systemd READY=1 at the target, keep watching; SIGHUP reloads, SIGTERM stops cleanly."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var folder: FolderOptions
    @OptionGroup var target: TargetOption
    @OptionGroup var locking: LockingOptions
    @OptionGroup var governor: GovernorOptions
    @OptionGroup var runOptions: RunOptions

    @Option(help: ArgumentHelp("What to do when the schema falls behind the target after ready: warn or exit (default warn).", valueName: "policy"))
    var onRegression: String?

    @Option(help: ArgumentHelp("What to do when a contract migration above this release's target is applied: exit (76) or stay (not ready on the socket); default exit.", valueName: "policy"))
    var onIncompatible: String?

    @Option(help: ArgumentHelp("Release label this daemon registers in the fleet (default: the folder's highest version; at most 200 bytes, printable).", valueName: "label"))
    var release: String?

    @Option(help: ArgumentHelp("How often to re-read the version (and beat the fleet heartbeat) after ready (default 2s; at most a third of --lease).", valueName: "duration"))
    var watchInterval: String?

    @Option(help: ArgumentHelp("State file for `schemagate reload` (default $RUNTIME_DIRECTORY/schemagate.state).", valueName: "path"))
    var stateFile: String?

    @Option(help: ArgumentHelp("Status socket (default $RUNTIME_DIRECTORY/schemagate.sock; none without a runtime directory).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Group that may use the status socket (mode 0660; default: the daemon's group).", valueName: "group"))
    var socketGroup: String?

    @Option(help: ArgumentHelp("Also serve the status endpoints on TCP, e.g. 127.0.0.1:8473 (for probes).", valueName: "addr:port"))
    var http: String?

    @Option(help: ArgumentHelp("Close a status connection that sends nothing for this long, a half-sent request included (default 10s).", valueName: "duration"))
    var clientTimeout: String?

    func run() async throws {
        let identity = InstanceIdentity.current()
        let logger = try runOptions.makeLogger(instance: identity.id)
        let policyName = onRegression ?? Environment.value(forOption: "on-regression") ?? "warn"
        guard let policy = SidecarConfiguration.RegressionPolicy(rawValue: policyName) else {
            throw CommandFailure(.usage, "--on-regression '\(policyName)': use warn or exit")
        }
        let incompatibleName = onIncompatible ?? Environment.value(forOption: "on-incompatible") ?? "exit"
        guard let incompatiblePolicy = SidecarConfiguration.IncompatiblePolicy(rawValue: incompatibleName) else {
            throw CommandFailure(.usage, "--on-incompatible '\(incompatibleName)': use exit or stay")
        }
        let releaseLabel = release ?? Environment.value(forOption: "release")
        if let releaseLabel, let problem = ReleaseLabel.problem(with: releaseLabel) {
            throw CommandFailure(.usage, problem)
        }
        let configuration = SidecarConfiguration(
            migrator: Migrator.Configuration(
                connectionString: try database.connectionString(),
                store: try database.storeConfiguration(locking, governor: governor),
                target: try target.targetVersion(),
                lockWait: try runOptions.lockWaitDuration()
            ),
            migrationsPath: folder.path,
            onRegression: policy,
            watchInterval: try duration("watch-interval", watchInterval, default: .seconds(2), within: .milliseconds(100)...(.seconds(3600)),
                                        why: "the version is re-read that often; 0 would query without pause"),
            stateFile: (stateFile ?? Environment.value(forOption: "state-file") ?? StateFile.defaultPath).map(StateFile.init(path:)),
            // On reload the URL is read again, so that a rotated password (a new credential file,
            // or a passfile libpq reads) is taken up without restarting the sidecar.
            connectionSource: { [database] in try database.connectionString() },
            release: releaseLabel, unit: Environment.systemdUnit(), onIncompatible: incompatiblePolicy
        )
        let server = StatusServer(
            configuration: .init(socket: try claimSocket(), http: try listenAddress(),
                                 idleTimeout: try duration("client-timeout", clientTimeout, default: .seconds(10), within: .milliseconds(100)...(.seconds(3600)),
                                                          why: "a status connection that sends nothing is closed after it; 0 would close every one at once")),
            board: StatusBoard(DaemonStatus(instance: identity.id, host: identity.host, pid: identity.pid, now: Date())),
            metrics: DaemonMetrics(), logger: logger
        )
        // Trap SIGHUP before anything can report READY=1: until a handler is registered, a
        // `systemctl reload` would end the process by the signal's default action. (The service
        // group traps SIGTERM and SIGINT itself before it starts any service.)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let heartbeat = Heartbeat()
        let events = EventLogger(logger: logger)
        let sidecar = Sidecar(configuration: configuration, identity: identity, logger: logger, heartbeat: heartbeat,
                              board: server.board, metrics: server.metrics, hangups: hangups,
                              listening: server.listening, events: events.log)
        // Each service is named here: without a name, ServiceLifecycle renders the whole service
        // value by reflection ("\(service)"), which took about 36 million instructions, 40% of the
        // start to READY=1, before the first query.
        let group = ServiceGroup(configuration: .init(
            // The status server comes first, so it is shut down last: it answers until the end.
            services: [
                .init(service: server, serviceName: "status-server"),
                .init(service: sidecar, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup,
                      serviceName: "sidecar"),
                .init(service: Watchdog(heartbeat: heartbeat), serviceName: "watchdog"),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "schemagate.lifecycle", factory: { _ in SwiftLogNoOpLogHandler() })
        ))
        do {
            try await group.run()
        } catch let failure as SidecarFailure {
            throw CommandFailure(SchemagateExitCode(rawValue: failure.exitCode) ?? .failed, failure.message)
        } catch let error as ServiceGroupError {
            throw CommandFailure(.failed, "\(error)")
        }
    }

    /// Claims the status socket's path before anything starts, so a clash is one clear error.
    private func claimSocket() throws -> StatusSocketPath? {
        guard let path = socket ?? Environment.value(forOption: "socket") ?? SocketOptions.runtimeDirectorySocket else { return nil }
        do {
            return try StatusSocketPath(path: path, group: socketGroup ?? Environment.value(forOption: "socket-group"))
        } catch {
            throw CommandFailure(.usage, error.description)
        }
    }

    private func listenAddress() throws -> ListenAddress? {
        guard let text = http ?? Environment.value(forOption: "http") else { return nil }
        do {
            return try ListenAddress.parse(text)
        } catch {
            throw CommandFailure(.usage, error.description)
        }
    }
}
