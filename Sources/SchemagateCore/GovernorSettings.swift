/// How long another session may wait behind a migration before the governor cancels the
/// migration's own statement, and how often it tries again. Checked before any connection is
/// opened, so a bad value changes nothing in the database.
public struct GovernorSettings: Sendable, Equatable {
    public var maxBlock: Duration
    public var maxBlockRetries: Int

    public static let defaultMaxBlock: Duration = .milliseconds(200)
    /// Enough attempts, at the backoff's ceiling, to outlast a reader of several seconds.
    public static let defaultMaxBlockRetries = 30
    /// Beyond this a migration would retry for hours; `--lock-wait` is the tool for that.
    public static let mostMaxBlockRetries = 1000

    public init(maxBlock: Duration = defaultMaxBlock, maxBlockRetries: Int = defaultMaxBlockRetries) {
        self.maxBlock = maxBlock
        self.maxBlockRetries = maxBlockRetries
    }

    /// The settings, or the one line that says which option is wrong and what to give instead.
    /// `--max-block` must sit below `--ddl-lock-timeout`, which stays the outer bound of a wait.
    public static func validated(
        maxBlock: Duration, maxBlockRetries: Int, ddlLockTimeout: Duration
    ) -> Result<GovernorSettings, GovernorSettingsProblem> {
        guard maxBlock > .zero else {
            return .failure(GovernorSettingsProblem("--max-block '\(DurationParser.format(maxBlock))': must be more than 0, e.g. 200ms"))
        }
        guard maxBlock < ddlLockTimeout else {
            return .failure(GovernorSettingsProblem(
                "--max-block '\(DurationParser.format(maxBlock))': must be shorter than --ddl-lock-timeout '\(DurationParser.format(ddlLockTimeout))'; lower it or raise --ddl-lock-timeout"))
        }
        guard (0...mostMaxBlockRetries).contains(maxBlockRetries) else {
            return .failure(GovernorSettingsProblem(
                "--max-block-retries '\(maxBlockRetries)': must be from 0 to \(mostMaxBlockRetries)"))
        }
        return .success(GovernorSettings(maxBlock: maxBlock, maxBlockRetries: maxBlockRetries))
    }
}

/// A refused governor option, as one line for the operator.
public struct GovernorSettingsProblem: Error, Equatable, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}
