import CoreMetrics
import FoundationEssentials
import Metrics
import Prometheus
import SchemagateCore
import SchemagateStore
import Synchronization

/// The daemon's metrics (`GET /metrics`), recorded through swift-metrics into a
/// Prometheus registry of its own (no process-wide bootstrap, so tests can build several).
public final class DaemonMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// Made at the first known value: a gauge reads 0 from its creation, and "version 0" is not
    /// "not read yet", so until the daemon has read the database (and the folder) they are absent.
    private let schemaVersion = Mutex<CoreMetrics.Gauge?>(nil)
    private let targetVersion = Mutex<CoreMetrics.Gauge?>(nil)
    private let ready: CoreMetrics.Gauge
    private let migrationsApplied: CoreMetrics.Counter
    private let migrationDuration: CoreMetrics.Timer
    private let lockWait: CoreMetrics.Timer
    private let lockTakeovers: CoreMetrics.Counter
    private let migrationFailures: CoreMetrics.Counter
    private let parkedWaits: CoreMetrics.Gauge
    private let contractWaits: CoreMetrics.Gauge
    private let contractsApplied: CoreMetrics.Counter
    private let fleetInstances: CoreMetrics.Gauge
    private let governorCancels: CoreMetrics.Counter
    private let blockedSessions: CoreMetrics.Gauge
    private let maxBlock: CoreMetrics.Timer
    /// The longest wait behind the running statement so far (nil: none running, or none waited).
    private let statementMaxBlock = Mutex<Double?>(nil)
    /// When this instance began waiting for another's lock (nil: not waiting).
    private let waitingSince = Mutex<ContinuousClock.Instant?>(nil)

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Migrations take from milliseconds to hours; so can a wait for another's lock.
        let buckets: [Duration] = [.milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                   .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
                                   .seconds(300), .seconds(900), .seconds(3600)]
        factory.defaultDurationHistogramBuckets = buckets
        ready = CoreMetrics.Gauge(label: "schemagate_ready", factory: factory)
        migrationsApplied = CoreMetrics.Counter(label: "schemagate_migrations_applied_total", factory: factory)
        migrationDuration = CoreMetrics.Timer(label: "schemagate_migration_duration_seconds", factory: factory)
        lockWait = CoreMetrics.Timer(label: "schemagate_lock_wait_duration_seconds", factory: factory)
        lockTakeovers = CoreMetrics.Counter(label: "schemagate_lock_takeovers_total", factory: factory)
        migrationFailures = CoreMetrics.Counter(label: "schemagate_migration_failures_total", factory: factory)
        parkedWaits = CoreMetrics.Gauge(label: "schemagate_parked_waits", factory: factory)
        contractWaits = CoreMetrics.Gauge(label: "schemagate_contract_waits", factory: factory)
        contractsApplied = CoreMetrics.Counter(label: "schemagate_contract_migrations_applied_total", factory: factory)
        fleetInstances = CoreMetrics.Gauge(label: "schemagate_fleet_live_instances", factory: factory)
        governorCancels = CoreMetrics.Counter(label: "schemagate_governor_cancels_total", factory: factory)
        blockedSessions = CoreMetrics.Gauge(label: "schemagate_blocked_sessions", factory: factory)
        maxBlock = CoreMetrics.Timer(label: "schemagate_max_block_seconds", factory: factory)
        blockedSessions.record(0)
        ready.record(0)
        self.factory = factory
        contractWaits.record(0)
    }

    /// Counts and times what a migrator event tells.
    public func record(_ event: MigratorEvent) {
        switch event {
        case .waiting:
            waitingSince.withLock { since in
                if since == nil { since = .now }
            }
        case .acquired(let replaced):
            endWait()
            if replaced != nil { lockTakeovers.increment() }
        case .progress(let progress):
            blockedSessions.record(progress.blockedSessions)
            statementMaxBlock.withLock { longest in
                if progress.longestBlockSeconds > 0 { longest = max(longest ?? 0, progress.longestBlockSeconds) }
            }
        case .applied(let migration, let milliseconds):
            endStatement()
            migrationsApplied.increment()
            if migration.contract { contractsApplied.increment() }
            migrationDuration.recordNanoseconds((milliseconds * 1_000_000).clampedInt64)
        case .ready:
            endWait()
        case .contractWaiting(let waits):
            contractWaits.record(waits.count)
        case .governorCancelled, .governorGaveUp, .rollbackGovernorCancelled:
            endStatement()
            governorCancels.increment()
        case .connecting, .planned, .recovering, .applying, .retrying, .rollingBack, .rolledBack, .released, .releaseFoundOtherOwner, .lostLock:
            break
        }
    }

    /// Mirrors the status's gauges.
    public func observe(_ status: DaemonStatus) {
        if let version = status.currentVersion { gauge(schemaVersion, "schemagate_schema_version").record(version) }
        if let target = status.targetVersion { gauge(targetVersion, "schemagate_target_version").record(target) }
        ready.record(status.ready ? 1 : 0)
    }

    /// Live registered instances, this one included, as its last heartbeat saw them.
    public func observeFleet(liveInstances: Int) { fleetInstances.record(liveInstances) }

    public func recordFailure() { migrationFailures.increment() }

    /// How many `/wait` requests are held open right now.
    public func observeParkedWaits(_ count: Int) { parkedWaits.record(count) }

    /// The Prometheus text exposition of everything recorded.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// A statement ended: nobody waits behind it any more, and its longest wait goes in the histogram.
    private func endStatement() {
        blockedSessions.record(0)
        if let longest = statementMaxBlock.withLock({ longest -> Double? in
            defer { longest = nil }
            return longest
        }) {
            maxBlock.recordNanoseconds(Int64(longest * 1e9))
        }
    }

    private func gauge(_ slot: borrowing Mutex<CoreMetrics.Gauge?>, _ label: String) -> CoreMetrics.Gauge {
        slot.withLock { gauge in
            if let gauge { return gauge }
            let made = CoreMetrics.Gauge(label: label, factory: factory)
            gauge = made
            return made
        }
    }

    private func endWait() {
        guard let started = waitingSince.withLock({ since -> ContinuousClock.Instant? in
            defer { since = nil }
            return since
        }) else { return }
        lockWait.recordInterval(since: started)
    }
}

extension CoreMetrics.Timer {
    /// Records the time elapsed since `start`.
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
