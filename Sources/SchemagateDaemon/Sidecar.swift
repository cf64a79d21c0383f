import FoundationEssentials
import Logging
import PQ
import SchemagateCore
import SchemagateStore
import ServiceLifecycle
import Synchronization
import Systemd
import UnixSignals

/// The sidecar: brings the schema to the target with the fleet protocol, tells systemd
/// (`READY=1` only at or past the target, `STATUS=`, `EXTEND_TIMEOUT_USEC=` while progressing),
/// then keeps watching the version; SIGHUP re-reads the folder and migrates to the new target
/// (`RELOADING=1` … `READY=1`); graceful shutdown (SIGTERM) cancels the in-flight statement, rolls
/// back and releases the lock, with `STOPPING=1`. Every change also goes to the status board
/// that the status socket serves, and to the metrics.
public struct Sidecar: Service {
    let configuration: SidecarConfiguration
    let identity: InstanceIdentity
    let logger: Logger
    let notifier: ReportGate
    let events: @Sendable (MigratorEvent) -> Void
    public let heartbeat: Heartbeat
    let board: StatusBoard
    let metrics: DaemonMetrics
    /// Returns once the status socket answers; nothing is reported before.
    let listening: @Sendable () async throws -> Void
    /// SIGHUP, trapped before anything is reported: a `systemctl reload` right after `READY=1`
    /// must reload, not end the process by the signal's default action.
    let hangups: UnixSignalsSequence

    public init(configuration: SidecarConfiguration, identity: InstanceIdentity, logger: Logger,
                heartbeat: Heartbeat, board: StatusBoard, metrics: DaemonMetrics, hangups: UnixSignalsSequence,
                listening: @escaping @Sendable () async throws -> Void = {},
                events: @escaping @Sendable (MigratorEvent) -> Void) {
        self.hangups = hangups
        self.configuration = configuration
        self.identity = identity
        self.logger = logger
        self.notifier = ReportGate()
        self.heartbeat = heartbeat
        self.board = board
        self.metrics = metrics
        self.listening = listening
        self.events = events
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            // The database work starts at once; what it reports waits for the socket.
            async let opened: Void = openReportsWhenListening()
            do {
                try await cancelWhenGracefulShutdown { try await body() }
            } catch MigrateError.stopped {
                return
            } catch is CancellationError {
                return
            } catch {
                await opened
                throw error
            }
            await opened
        } onGracefulShutdown: {
            show(.stopping, "stopping: rolling back and releasing the lock")
            notifier.notify("STOPPING=1", "STATUS=stopping: rolling back and releasing the lock")
        }
    }

    private enum Trigger: Sendable { case reload, tick }

    /// Puts a state and its words on the status board (and the gauges in the metrics).
    private func show(_ state: DaemonStatus.State, _ message: String, error: String? = nil, version: Int64? = nil) {
        board.update { status in
            status.enter(state, at: Date())
            status.message = message
            if let error { status.lastError = error }
            if let version { status.currentVersion = version }
        }
        metrics.observe(board.status)
    }

    private func openReportsWhenListening() async {
        // A socket that cannot be bound ends the group with its own error; reports flow regardless.
        try? await listening()
        notifier.open()
    }

    private func body() async throws {
        let watcher = FleetWatcher(configuration: configuration.migrator)
        do {
            try await watch(watcher)
        } catch {
            await deregister(watcher)
            throw error
        }
        await deregister(watcher)
    }

    /// Removes our fleet row, from a task of its own that a graceful shutdown's cancellation does not reach.
    private func deregister(_ watcher: FleetWatcher) async {
        let instance = identity.id
        await Task { await watcher.deregister(instance: instance) }.value
    }

    /// Our fleet row for `folder` in `state`.
    private func registration(_ folder: MigrationFolder, target: Int64, state: DaemonStatus.State) -> FleetRegistration {
        FleetRegistration(identity: identity, unit: configuration.unit,
                          release: configuration.release ?? ReleaseLabel.fallback(for: folder), target: target, state: state.rawValue)
    }

    private func watch(_ watcher: FleetWatcher) async throws {
        notifier.notify("STATUS=starting")
        var generation = 0
        configuration.stateFile?.write(.init(generation: generation, state: "starting"))
        var folder = try loadFolder(generation: generation)
        var connection = configuration.migrator.connectionString
        var (target, compatible) = try await migrate(folder, generation: generation, connection: connection)
        generation += 1
        // An incompatible release has written its failure (76) for `schemagate reload` already.
        if compatible { configuration.stateFile?.write(.init(generation: generation, state: "ready", version: target)) }
        let (triggers, continuation) = AsyncStream.makeStream(of: Trigger.self)
        let hangups = self.hangups
        // The heartbeat rides on the version watch: often enough that our row never expires.
        let interval = min(configuration.watchInterval, configuration.migrator.store.lease / 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups { continuation.yield(.reload) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(250))
                    continuation.yield(.tick)
                }
            }
            defer { watcher.close() }
            var regressed = false
            var incompatible = !compatible
            var contractFailed = false
            var reportedWaits: [ContractGate.Wait]?
            // The first tick beats at once: the row was written while we waited or migrated, and
            // `schemagate fleet` should say "ready" within a tick of READY=1, not an interval later.
            var lastCheck = ContinuousClock.now - interval
            for await trigger in triggers {
                heartbeat.beat()
                if case .tick = trigger {
                    guard ContinuousClock.now - lastCheck >= interval else { continue }
                    lastCheck = .now
                }
                switch trigger {
                case .reload:
                    notifier.reloading(status: "reloading: re-reading \(configuration.migrationsPath)")
                    logger.info("reloading: re-reading \(configuration.migrationsPath)")
                    configuration.stateFile?.write(.init(generation: generation, state: "reloading"))
                    switch await rotatedConnection(from: connection) {
                    case .unchanged:
                        break
                    case .reconnect:
                        watcher.close()
                    case .changed(let new):
                        connection = new
                        watcher.use(with(connection))
                    case .refused(let error):
                        // Still ready on the connection that works; the reload says why it did nothing.
                        let message = "reload: the re-read database URL does not work (\(error.description)); still using the previous one, nothing reloaded"
                        logger.error("\(message)", metadata: ["event": "\((error.event ?? .configurationError).rawValue)"])
                        notifier.notify("READY=1", "STATUS=ready: schema at \(board.status.currentVersion ?? target); \(message)")
                        generation += 1
                        configuration.stateFile?.write(.init(generation: generation, state: "ready", version: target, message: message,
                                                             exitCode: error.exitCode.rawValue))
                        continue
                    }
                    folder = try loadFolder(generation: generation)
                    (target, compatible) = try await migrate(folder, generation: generation, connection: connection)
                    generation += 1
                    if compatible { configuration.stateFile?.write(.init(generation: generation, state: "ready", version: target)) }
                    regressed = false
                    incompatible = !compatible
                    contractFailed = false
                case .tick:
                    let state: DaemonStatus.State = incompatible ? .incompatible : regressed ? .regressed : .ready
                    guard let view = await watcher.view(beat: registration(folder, target: target, state: state)) else { continue }
                    let version = view.version
                    metrics.observeFleet(liveInstances: view.members.count + 1)
                    if board.status.currentVersion != version { board.update { $0.currentVersion = version } }
                    if view.registeredAnew {
                        logger.warning("this instance was dropped from the fleet (no heartbeat for one lease: paused, or cut off); registered again", metadata: [
                            "event": "\(SchemagateEvent.fleetRejoined.rawValue)", "version": "\(version)",
                        ])
                    }
                    let gate = ContractGate(migrations: folder.migrations, applied: version, target: target,
                                            others: view.holdingMembers, appliedContracts: view.appliedContracts)
                    if gate.waits != reportedWaits {
                        reportedWaits = gate.waits
                        report(.contractWaiting(gate.waits))
                    }
                    switch gate.readiness {
                    case .incompatible(let contract):
                        guard !incompatible else { continue }
                        incompatible = true
                        try becomeIncompatible(MigrateError.incompatible(contract, target: target), version: version)
                        // Say so in the registry at once: an incompatible row holds no later contract back.
                        _ = await watcher.view(beat: registration(folder, target: target, state: .incompatible))
                    case .pending:
                        guard !regressed else { continue }
                        regressed = true
                        logger.warning("schema at \(version) is behind target \(target): someone rolled back; not ready", metadata: [
                            "event": "\(SchemagateEvent.regression.rawValue)", "version": "\(version)",
                        ])
                        show(.regressed, "not ready: schema at \(version), behind target \(target)", version: version)
                        notifier.notify("STATUS=not ready: schema at \(version), behind target \(target)")
                        if configuration.onRegression == .exit {
                            throw SidecarFailure(exitCode: SchemagateExitCode.notReady.rawValue,
                                                 message: "schema at \(version) fell behind target \(target) (--on-regression=exit)")
                        }
                    case .ready:
                        if regressed || incompatible {
                            regressed = false
                            incompatible = false
                            show(.ready, "ready: schema at \(version)", version: version)
                            notifier.notify("READY=1", "STATUS=ready: schema at \(version)")
                            logger.info("ready again: schema at \(version)", metadata: ["event": "\(SchemagateEvent.ready.rawValue)", "version": "\(version)"])
                        }
                        // The last older instance is gone: apply the contract migrations it held back.
                        if gate.applyLimit > version && !contractFailed {
                            contractFailed = !(await applyContracts(folder, target: target, connection: connection))
                        }
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// Folds an event into the log, the status board and the metrics, without touching readiness.
    private func report(_ event: MigratorEvent) {
        events(event)
        board.update { status in
            if case .contractWaiting(let waits) = event { status.contractWaits = waits.map(DaemonStatus.ContractWait.init(wait:)) }
            if case .applied(let migration, _) = event { status.currentVersion = migration.version }
        }
        metrics.record(event)
        metrics.observe(board.status)
    }

    /// Applies the pending contract migrations through the normal lock protocol while staying
    /// ready: the app keeps running, its code works before and after them. False when one failed.
    private func applyContracts(_ folder: MigrationFolder, target: Int64, connection: ConnectionString) async -> Bool {
        var migratorConfiguration = with(connection)
        migratorConfiguration.registration = registration(folder, target: target, state: .ready)
        migratorConfiguration.contractPolicy = .applyAllowed
        let report = self.report
        let migrator = Migrator(configuration: migratorConfiguration, folder: folder, identity: identity, logger: logger) { event in
            // The plan line would repeat every watch; ready still ends the metrics' lock wait.
            if case .planned = event { return }
            report(event)
        }
        do {
            let version = try await migrator.run()
            board.update { $0.currentVersion = version }
            return true
        } catch {
            if case .stopped = error { return true }
            logger.error("contract migration: \(error.description); staying ready at the schema before it", metadata: ["event": "\(SchemagateEvent.migrationFailed.rawValue)"])
            board.update { $0.lastError = error.description }
            metrics.recordFailure()
            return false
        }
    }

    /// A contract migration above our target is applied: not ready, and exit 76 unless told to stay.
    private func becomeIncompatible(_ error: MigrateError, version: Int64?) throws {
        logger.error("\(error.description)", metadata: ["event": "\(SchemagateEvent.incompatible.rawValue)"])
        show(.incompatible, "incompatible: \(error.description)", error: error.description, version: version)
        notifier.notify("STATUS=incompatible: \(error.description)")
        if configuration.onIncompatible == .exit {
            throw SidecarFailure(exitCode: SchemagateExitCode.incompatible.rawValue, message: error.description)
        }
    }

    /// Runs the protocol to the folder's target (as far as the contract gate allows); `READY=1`
    /// when ready. Permanent failures end the daemon with their exit code; transient trouble is
    /// retried inside the migrator. Returns the target, and false when this release is incompatible
    /// with the schema (and told to stay).
    private func migrate(_ folder: MigrationFolder, generation: Int, connection: ConnectionString) async throws -> (Int64, Bool) {
        let target = (try? MigrationPlan.checkTarget(configuration.migrator.target, folder: folder)) ?? folder.highestVersion ?? 0
        var migratorConfiguration = with(connection)
        migratorConfiguration.registration = registration(folder, target: target, state: .starting)
        migratorConfiguration.contractPolicy = .untilReady
        let notifier = self.notifier
        let extension_ = configuration.timeoutExtension
        let forward = events
        let heartbeat = self.heartbeat
        let applying = Flag()
        let board = self.board, metrics = self.metrics, identity = self.identity
        let labels = Dictionary(folder.migrations.map { ($0.version, $0.label) }, uniquingKeysWith: { first, _ in first })
        board.update { status in
            status.enter(.connecting, at: Date())
            status.targetVersion = target
            status.message = "connecting to the database"
        }
        let migrator = Migrator(configuration: migratorConfiguration, folder: folder, identity: identity, logger: logger) { event in
            forward(event)
            board.update { $0.record(event, labels: labels, identity: identity, at: Date()) }
            metrics.record(event)
            metrics.observe(board.status)
            heartbeat.beat()
            if case .applying = event { applying.set(true) }
            if case .applied = event { applying.set(false) }
            var lines: [String] = []
            if let status = StatusLine.text(for: event) {
                lines.append("STATUS=\(status)")
            } else if case .progress = event {
                lines.append("STATUS=\(board.status.message)")
            }
            if StatusLine.isProgress(event) {
                lines.append(Notifier.extendTimeoutLine(by: extension_))
            }
            if !lines.isEmpty { notifier.notify(lines: lines) }
        }
        do {
            return try await withThrowingTaskGroup(of: Int64?.self) { group in
                // While a migration runs nothing else is said: keep extending the start timeout.
                group.addTask {
                    var ticks = 0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(250))
                        heartbeat.beat()
                        ticks += 1
                        if ticks % 20 == 0 && applying.isSet { notifier.extendTimeout(by: extension_) }
                    }
                    return nil
                }
                group.addTask { try await migrator.run() }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    guard let version = result else { continue }
                    let ahead = version > target ? " (ahead of this release's target \(target))" : ""
                    notifier.notify("READY=1", "STATUS=ready: schema at \(version)\(ahead)")
                    return (target, true)
                }
                throw MigrateError.stopped
            }
        } catch let error as MigrateError {
            if case .stopped = error { throw error }
            if case .incompatible = error {
                configuration.stateFile?.write(.init(generation: generation + 1, state: "failed", message: error.description,
                                                     exitCode: error.exitCode.rawValue))
                try becomeIncompatible(error, version: nil)
                return (target, false)
            }
            show(.failed, "failed: \(error.description)", error: error.description)
            // The counter is for failed migration SQL alone, not for every way a run can end.
            switch error {
            case .migrationFailed, .recoveryFailed: metrics.recordFailure()
            default: break
            }
            notifier.notify("STATUS=failed: \(error.description)")
            configuration.stateFile?.write(.init(generation: generation + 1, state: "failed", message: error.description,
                                                 exitCode: error.exitCode.rawValue))
            logger.error("\(error.description)", metadata: ["event": "\((error.event ?? .migrationFailed).rawValue)"])
            throw SidecarFailure(exitCode: error.exitCode.rawValue, message: error.description)
        }
    }

    /// The migrator's configuration with `connection` in place of the one it started with.
    private func with(_ connection: ConnectionString) -> Migrator.Configuration {
        var migrator = configuration.migrator
        migrator.connectionString = connection
        return migrator
    }

    private enum Rotation {
        case unchanged
        /// The same string, and it works: new sessions (the watcher's first) use what it leads to.
        case reconnect
        case changed(ConnectionString)
        case refused(MigrateError)
    }

    /// Re-reads where the database is and who we are (a rotated password, a moved host). A new
    /// string is tried with a connection of its own first; until that works the old one stays.
    private func rotatedConnection(from current: ConnectionString) async -> Rotation {
        guard let source = configuration.connectionSource else { return .unchanged }
        let new: ConnectionString
        do {
            new = try source()
        } catch {
            return .refused(.configuration("\(error)"))
        }
        // Tried even when the string is the same: a passfile or PGPASSWORD behind it may hold a new
        // password, and a reload is when the operator wants to know that it works.
        do {
            let probe = try await Connection.connect(new, applicationName: "schemagate-reconnect")
            defer { probe.close() }
            _ = try await probe.query("SELECT 1")
        } catch {
            switch MigrateError.classify(error, settingsTable: configuration.migrator.store.settingsTable) {
            case .permanent(let failure): return .refused(failure)
            case .transient(let message): return .refused(.unavailable(message))
            }
        }
        guard new.rawValue != current.rawValue else { return .reconnect }
        logger.notice("reload: connecting with the re-read database URL (\(new.redacted))")
        return .changed(new)
    }

    private func loadFolder(generation: Int) throws -> MigrationFolder {
        do {
            return try MigrationFolder.load(path: configuration.migrationsPath)
        } catch {
            show(.failed, "failed: \(error.description)", error: error.description)
            notifier.notify("STATUS=failed: \(error.description)")
            configuration.stateFile?.write(.init(generation: generation + 1, state: "failed", message: error.description,
                                                 exitCode: SchemagateExitCode.invalidMigrations.rawValue))
            logger.error("\(error.description)", metadata: ["event": "\(SchemagateEvent.migrationsInvalid.rawValue)"])
            throw SidecarFailure(exitCode: SchemagateExitCode.invalidMigrations.rawValue, message: error.description)
        }
    }
}

/// A boolean shared between the migrator's event handler and the timeout ticker.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set(_ newValue: Bool) { value.store(newValue, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// Proof that the sidecar's loop is alive, for the watchdog: beaten on every event and tick.
public final class Heartbeat: Sendable {
    private let last = Atomic<Int64>(0)
    private let start = ContinuousClock.now

    public init() { beat() }

    public func beat() {
        let elapsed = ContinuousClock.now - start
        last.store(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000, ordering: .relaxed)
    }

    /// Time since the last beat.
    public var age: Duration {
        let elapsed = ContinuousClock.now - start
        let now = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(now - last.load(ordering: .relaxed))
    }
}
