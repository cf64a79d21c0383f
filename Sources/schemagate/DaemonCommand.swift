import ArgumentParser
import Foundation
import Logging
import SchemagateCore
import SchemagateDaemon
import SchemagateStore
import ServiceLifecycle

/// `schemagate daemon`: the sidecar under systemd (`Type=notify`).
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the sidecar: migrate (or wait), tell systemd READY=1 at the target, keep watching; SIGHUP reloads, SIGTERM stops cleanly."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var folder: FolderOptions
    @OptionGroup var runOptions: RunOptions

    @Option(help: ArgumentHelp("What to do when the schema falls behind the target after ready: warn or exit (default warn).", valueName: "policy"))
    var onRegression: String?

    @Option(help: ArgumentHelp("How often to re-read the version after ready (default 2s).", valueName: "duration"))
    var watchInterval: String?

    @Option(help: ArgumentHelp("State file for `schemagate reload` (default $RUNTIME_DIRECTORY/schemagate.state).", valueName: "path"))
    var stateFile: String?

    func run() async throws {
        let identity = InstanceIdentity.current()
        let logger = try runOptions.makeLogger(instance: identity.id)
        let policyName = onRegression ?? Environment.value(forOption: "on-regression") ?? "warn"
        guard let policy = SidecarConfiguration.RegressionPolicy(rawValue: policyName) else {
            throw CommandFailure(.usage, "--on-regression '\(policyName)': use warn or exit")
        }
        let configuration = SidecarConfiguration(
            migrator: Migrator.Configuration(
                connectionString: try database.connectionString(),
                store: try database.storeConfiguration(),
                target: try folder.targetVersion(),
                lockWait: try runOptions.lockWaitDuration()
            ),
            migrationsPath: folder.path,
            onRegression: policy,
            watchInterval: try duration("watch-interval", watchInterval, default: .seconds(2)),
            stateFile: (stateFile ?? Environment.value(forOption: "state-file") ?? StateFile.defaultPath).map(StateFile.init(path:))
        )
        let heartbeat = Heartbeat()
        let events = EventLogger(logger: logger)
        let sidecar = Sidecar(configuration: configuration, identity: identity, logger: logger, heartbeat: heartbeat, events: events.log)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: sidecar, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: Watchdog(heartbeat: heartbeat)),
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
}
