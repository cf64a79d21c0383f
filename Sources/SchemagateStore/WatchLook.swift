import SchemagateCore

/// One look of the watching connection at a migration statement's backend: the governor's sample
/// (who waits behind it, whom it waits for) and what the progress views say it is doing.
public struct WatchLook: Sendable, Equatable {
    public var sample: GovernorSample
    /// From `pg_stat_progress_create_index`, `_cluster` or `_copy`, when one reports our backend.
    public var command: String?
    public var phase: String?
    public var percent: Double?
    /// Since the statement (the whole text, for a transaction file) started on the server.
    public var elapsedSeconds: Double?

    public init(sample: GovernorSample, command: String? = nil, phase: String? = nil, percent: Double? = nil, elapsedSeconds: Double? = nil) {
        self.sample = sample
        self.command = command
        self.phase = phase
        self.percent = percent
        self.elapsedSeconds = elapsedSeconds
    }
}
