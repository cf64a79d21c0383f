import FoundationEssentials

/// What the daemon's status socket reports (docs/reference.md, "Status socket"): its state, the schema's version against the
/// target, what is still pending, who holds the lock and the last error. The daemon encodes it for
/// `GET /status`; `schemagate status` decodes the same type, so both sides agree on every field.
public struct DaemonStatus: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Binding the socket and reading the folder.
        case starting
        /// Connecting to the database (or waiting for it to come back).
        case connecting
        /// Another instance holds the lock; this one waits for it to finish.
        case waiting
        /// This instance holds the lock and applies migrations.
        case migrating
        /// The schema is at (or past) the target.
        case ready
        /// The schema fell behind the target after ready (someone rolled back): not ready.
        case regressed
        /// A contract migration above this release's target is applied: this release cannot work.
        case incompatible
        /// A permanent failure: the daemon is about to exit with its code.
        case failed
        /// SIGTERM: rolling back and releasing the lock before exit.
        case stopping
    }

    /// A migration still to apply.
    public struct Pending: Sendable, Equatable, Codable {
        public var version: Int64
        public var name: String

        public init(version: Int64, name: String) {
            self.version = version
            self.name = name
        }
    }

    /// The lock's holder as this daemon last saw it.
    public struct Lock: Sendable, Equatable, Codable {
        public var owner: String
        public var host: String
        public var pid: Int32
        /// When the holder took it (by this daemon's clock, from the age the database reported).
        public var heldSince: Date
        /// Whether this daemon is the holder.
        public var ours: Bool

        public init(owner: String, host: String, pid: Int32, heldSince: Date, ours: Bool) {
            self.owner = owner
            self.host = host
            self.pid = pid
            self.heldSince = heldSince
            self.ours = ours
        }

        enum CodingKeys: String, CodingKey {
            case owner, host, pid, ours
            case heldSince = "held_since"
        }
    }

    /// A pending contract migration of this release and the live instances that hold it back.
    public struct ContractWait: Sendable, Equatable, Codable {
        public var version: Int64
        public var name: String
        /// `0003_drop_name waits for 1 instance on release 1: host-a pid 812`.
        public var message: String
        public var holders: [String]

        public init(version: Int64, name: String, message: String, holders: [String]) {
            self.version = version
            self.name = name
            self.message = message
            self.holders = holders
        }
    }

    public var state: State
    /// Contract migrations of this release that live instances of older releases hold back.
    public var contractWaits: [ContractWait] = []
    /// True only in `ready`: the schema is at or past the target.
    public var ready: Bool { state == .ready }
    public var currentVersion: Int64?
    public var targetVersion: Int64?
    public var pending: [Pending]
    public var lock: Lock?
    public var lastError: String?
    /// The daemon's instance id, as the lock row and the journal name it.
    public var instance: String
    public var host: String
    public var pid: Int32
    /// When the current state began.
    public var since: Date
    /// When the daemon started.
    public var startedAt: Date
    /// The same words systemd shows as `StatusText`.
    public var message: String
    /// While a migration statement runs: what PostgreSQL is doing with it.
    public var progress: StatementProgress?
    /// The words of the step under way (`applying 0003_add_index (1 of 1)`), which progress
    /// messages extend. Not reported on its own.
    public var step = "migrating"
    /// The schemagate release answering (`SchemagateVersion.current`), for bug reports.
    public var version: String = SchemagateVersion.current
    /// The lock's age and the uptime as the daemon computed them when it answered (decoded only:
    /// the reader's clock need not agree with the daemon's).
    public private(set) var reportedLockHeldFor: Double?
    public private(set) var reportedUptime: Double?

    public init(instance: String, host: String, pid: Int32, now: Date) {
        self.state = .starting
        self.pending = []
        self.instance = instance
        self.host = host
        self.pid = pid
        self.since = now
        self.startedAt = now
        self.message = "starting"
    }

    /// Moves to `state`, restarting `since` only when the state really changes.
    public mutating func enter(_ state: State, at now: Date) {
        if self.state != state {
            self.state = state
            since = now
        }
    }

    /// Ready, failed and stopping end a `/wait`; every other state is still on its way.
    public var isSettled: Bool {
        switch state {
        case .ready, .failed, .stopping, .incompatible: return true
        case .starting, .connecting, .waiting, .migrating, .regressed: return false
        }
    }

    enum CodingKeys: String, CodingKey {
        case state, ready, pending, lock, instance, host, pid, since, message, version, progress
        case currentVersion = "current_version"
        case targetVersion = "target_version"
        case lastError = "last_error"
        case contractWaits = "contract_waits"
        case startedAt = "started_at"
        case lockHeldFor = "lock_held_for_seconds"
        case uptime = "uptime_seconds"
    }

    /// Encodes the stored fields plus `ready`, and the lock's age and the uptime as of `encodedAt`
    /// (set by the encoder's `userInfo[.statusClock]`, else the moment of encoding).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let now = (encoder.userInfo[.statusClock] as? Date) ?? Date()
        try container.encode(state, forKey: .state)
        try container.encode(ready, forKey: .ready)
        try container.encode(currentVersion, forKey: .currentVersion)
        try container.encode(targetVersion, forKey: .targetVersion)
        try container.encode(pending, forKey: .pending)
        try container.encode(lock, forKey: .lock)
        try container.encode(lock.map { max(0, now.timeIntervalSince($0.heldSince)).rounded(toPlaces: 3) }, forKey: .lockHeldFor)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(contractWaits, forKey: .contractWaits)
        try container.encode(instance, forKey: .instance)
        try container.encode(host, forKey: .host)
        try container.encode(pid, forKey: .pid)
        try container.encode(since, forKey: .since)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(max(0, now.timeIntervalSince(startedAt)).rounded(toPlaces: 3), forKey: .uptime)
        try container.encode(message, forKey: .message)
        try container.encode(progress, forKey: .progress)
        try container.encode(version, forKey: .version)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        state = try container.decode(State.self, forKey: .state)
        currentVersion = try container.decodeIfPresent(Int64.self, forKey: .currentVersion)
        targetVersion = try container.decodeIfPresent(Int64.self, forKey: .targetVersion)
        pending = try container.decodeIfPresent([Pending].self, forKey: .pending) ?? []
        lock = try container.decodeIfPresent(Lock.self, forKey: .lock)
        lastError = try container.decodeIfPresent(String.self, forKey: .lastError)
        contractWaits = try container.decodeIfPresent([ContractWait].self, forKey: .contractWaits) ?? []
        instance = try container.decode(String.self, forKey: .instance)
        host = try container.decodeIfPresent(String.self, forKey: .host) ?? ""
        pid = try container.decodeIfPresent(Int32.self, forKey: .pid) ?? 0
        since = try container.decode(Date.self, forKey: .since)
        startedAt = try container.decodeIfPresent(Date.self, forKey: .startedAt) ?? since
        message = try container.decodeIfPresent(String.self, forKey: .message) ?? state.rawValue
        progress = try container.decodeIfPresent(StatementProgress.self, forKey: .progress)
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? "unknown"
        reportedLockHeldFor = try container.decodeIfPresent(Double.self, forKey: .lockHeldFor)
        reportedUptime = try container.decodeIfPresent(Double.self, forKey: .uptime)
    }

    /// The JSON encoder both ends use: snake_case keys as written above, ISO 8601 dates.
    public static func encoder(now: Date = Date()) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        encoder.userInfo[.statusClock] = now
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension CodingUserInfoKey {
    /// The instant a `DaemonStatus` is encoded at, so that ages are computed once per response.
    public static let statusClock = CodingUserInfoKey(rawValue: "schemagate.statusClock")!
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = (0..<places).reduce(1.0) { scale, _ in scale * 10 }
        return (self * scale).rounded() / scale
    }
}
