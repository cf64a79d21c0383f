/// What PostgreSQL is doing with the migration statement that runs now, as the governor's watch
/// saw it: a phase and percentage from `pg_stat_progress_*` where one applies, else the
/// statement's line and how long it has run, and whom it queues behind. `STATUS=`, `/status` and
/// `schemagate status` show it, so an operator sees a long build move rather than a frozen line.
public struct StatementProgress: Sendable, Equatable, Codable {
    /// `0003_add_index`.
    public var migration: String
    /// The statement's first line in its file (nil for a transaction file, sent as a whole).
    public var line: Int?
    public var elapsedSeconds: Double
    /// `CREATE INDEX CONCURRENTLY`, `CLUSTER`, `VACUUM FULL`, `COPY FROM`, … when a progress view reports it.
    public var command: String?
    public var phase: String?
    /// 0…100, when the phase has a known total.
    public var percent: Double?
    /// The table whose lock the statement queues for.
    public var waitingOn: String?
    /// The session it queues behind, as `LockHolder.summary` words it.
    public var waitingFor: String?
    /// Sessions queued behind the statement right now.
    public var blockedSessions: Int
    /// The longest wait among them so far in this attempt.
    public var longestBlockSeconds: Double

    public init(migration: String, line: Int?, elapsedSeconds: Double, command: String? = nil, phase: String? = nil,
                percent: Double? = nil, waitingOn: String? = nil, waitingFor: String? = nil,
                blockedSessions: Int = 0, longestBlockSeconds: Double = 0) {
        self.migration = migration
        self.line = line
        self.elapsedSeconds = elapsedSeconds
        self.command = command
        self.phase = phase
        self.percent = percent
        self.waitingOn = waitingOn
        self.waitingFor = waitingFor
        self.blockedSessions = blockedSessions
        self.longestBlockSeconds = longestBlockSeconds
    }

    enum CodingKeys: String, CodingKey {
        case migration, line, command, phase, percent
        case elapsedSeconds = "elapsed_seconds"
        case waitingOn = "waiting_on"
        case waitingFor = "waiting_for"
        case blockedSessions = "blocked_sessions"
        case longestBlockSeconds = "longest_block_seconds"
    }

    /// `0003_add_index line 2: CREATE INDEX CONCURRENTLY, building index: scanning table 42% (12s)`,
    /// or `… waiting for lock on orders held by pid 4242 (idle in transaction 12s, application api)`.
    public var description: String {
        migration + (line.map { " line \($0)" } ?? "") + ": " + activity
    }

    /// The description without the migration and line: what the statement does.
    public var activity: String {
        var text = ""
        if let waitingFor {
            text += waitingOn.map { "waiting for lock on \($0) held by \(waitingFor)" } ?? "waiting for \(waitingFor) to finish"
        } else if let phase {
            text += (command.map { "\($0), " } ?? "") + phase
            if let percent { text += " \(Int(percent.rounded(.down)))%" }
            text += " (\(Int(elapsedSeconds.rounded(.down)))s)"
        } else {
            text += "running for \(Int(elapsedSeconds.rounded(.down)))s"
        }
        if blockedSessions > 0 {
            text += "; \(blockedSessions) session\(blockedSessions == 1 ? "" : "s") waiting behind it"
        }
        return text
    }

    /// Whether `other` says something new enough to be reported at once rather than on the next tick.
    public func differsInKind(from other: StatementProgress) -> Bool {
        other.phase != phase || other.waitingFor != waitingFor || other.blockedSessions != blockedSessions || other.line != line
    }
}
