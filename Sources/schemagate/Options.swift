import ArgumentParser
import FoundationEssentials
import Glibc
import PQ
import SchemagateCore
import SchemagateStore

/// Where the database is and where schemagate keeps its rows.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "libpq URI or key=value conninfo (also SCHEMAGATE_DATABASE_URL, $CREDENTIALS_DIRECTORY/database-url, PG* variables).",
        valueName: "url"))
    var databaseURL: String?

    @Option(help: "Schema that holds schemagate's tables (default public).")
    var schema: String?

    @Option(help: "Name of the key/value settings table (default schemagate_settings).")
    var settingsTable: String?

    func connectionString() throws -> ConnectionString {
        let raw = databaseURL ?? Environment.value(forOption: "database-url") ?? Environment.credentialDatabaseURL() ?? ""
        do {
            return try ConnectionString(raw)
        } catch {
            throw CommandFailure(.usage, "--database-url: \(error.message)")
        }
    }

    /// The store's settings; `locking` only for the commands that take the lock and run SQL, and
    /// `governor` only for those whose SQL it watches (others neither offer those options nor
    /// read their environment variables).
    func storeConfiguration(_ locking: LockingOptions? = nil, governor: GovernorOptions? = nil) throws -> StoreConfiguration {
        let schema = self.schema ?? Environment.value(forOption: "schema") ?? "public"
        let table = settingsTable ?? Environment.value(forOption: "settings-table") ?? "schemagate_settings"
        for (option, value) in [("--schema", schema), ("--settings-table", table)] where value.isEmpty || value.utf8.count > 63 {
            throw CommandFailure(.usage, "\(option) '\(value)': must be 1 to 63 bytes long")
        }
        guard let locking else {
            return StoreConfiguration(schema: schema, settingsTable: table, lease: LockingOptions.defaultLease,
                                      ddlLockTimeout: LockingOptions.defaultDDLLockTimeout)
        }
        let ddlLockTimeout = try locking.ddlLockTimeoutDuration()
        return StoreConfiguration(schema: schema, settingsTable: table, lease: try locking.leaseDuration(),
                                  ddlLockTimeout: ddlLockTimeout,
                                  governor: try governor?.governorSettings(ddlLockTimeout: ddlLockTimeout) ?? GovernorSettings())
    }
}

/// How a command that takes the migration lock holds it and runs migration SQL: only `daemon`,
/// `migrate`, `rollback` and `repair` offer these, since nowhere else would they act.
struct LockingOptions: ParsableArguments {
    static let defaultLease: Duration = .seconds(15)
    static let defaultDDLLockTimeout: Duration = .seconds(5)

    @Option(help: ArgumentHelp("How long a lock record stays valid without renewal (default 15s).", valueName: "duration"))
    var lease: String?

    @Option(help: ArgumentHelp("lock_timeout of each migration transaction (default 5s).", valueName: "duration"))
    var ddlLockTimeout: String?

    func leaseDuration() throws -> Duration {
        let lease = try duration("lease", lease, default: Self.defaultLease)
        // The lease is renewed every third of it, over its own connection: below a second a
        // renewal cannot be relied on to land in time, and every instance would lose its lock.
        guard lease >= StoreConfiguration.shortestLease else {
            throw CommandFailure(.usage, "--lease '\(DurationParser.format(lease))': too short; give at least \(DurationParser.format(StoreConfiguration.shortestLease)) (it is renewed every third of it), e.g. 15s")
        }
        guard lease <= StoreConfiguration.longestTimeout else {
            throw CommandFailure(.usage, "--lease '\(DurationParser.format(lease))': too long; give at most \(DurationParser.format(StoreConfiguration.longestTimeout)) (a dead holder's lock lasts that long), e.g. 15s")
        }
        return lease
    }

    func ddlLockTimeoutDuration() throws -> Duration {
        try duration("ddl-lock-timeout", ddlLockTimeout, default: Self.defaultDDLLockTimeout,
                     within: StoreConfiguration.shortestDDLLockTimeout...StoreConfiguration.longestTimeout,
                     why: "it is each migration's lock_timeout, and 0 would mean none")
    }

}

/// The lock-impact governor's options: only where it watches migration SQL (`daemon`, `migrate`,
/// `rollback`). `repair` and `baseline` take the lock but send only bookkeeping, so they do not
/// offer them.
struct GovernorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Cancel our own statement when another session waits behind it this long, and retry (default 200ms; below --ddl-lock-timeout).", valueName: "duration"))
    var maxBlock: String?

    @Option(help: ArgumentHelp("How often a migration cancelled by --max-block is retried before it fails (default \(GovernorSettings.defaultMaxBlockRetries), at most \(GovernorSettings.mostMaxBlockRetries)).", valueName: "count"))
    var maxBlockRetries: String?

    /// `--max-block` and `--max-block-retries`, refused (exit 2) before any connection is opened.
    func governorSettings(ddlLockTimeout: Duration) throws -> GovernorSettings {
        let maxBlock = try duration("max-block", maxBlock, default: GovernorSettings.defaultMaxBlock)
        let retriesText = maxBlockRetries ?? Environment.value(forOption: "max-block-retries")
        let retries: Int
        if let retriesText {
            guard let parsed = Int(retriesText) else {
                throw CommandFailure(.usage, "--max-block-retries '\(retriesText)': not a whole number; give one from 0 to \(GovernorSettings.mostMaxBlockRetries)")
            }
            retries = parsed
        } else {
            retries = GovernorSettings.defaultMaxBlockRetries
        }
        switch GovernorSettings.validated(maxBlock: maxBlock, maxBlockRetries: retries, ddlLockTimeout: ddlLockTimeout) {
        case .success(let settings): return settings
        case .failure(let problem): throw CommandFailure(.usage, problem.message)
        }
    }
}

/// The migrations folder.
struct FolderOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Migrations folder (default ./migrations).", valueName: "dir"))
    var migrations: String?

    var path: String { migrations ?? Environment.value(forOption: "migrations") ?? "migrations" }

    func load() throws -> MigrationFolder {
        do {
            return try MigrationFolder.load(path: path)
        } catch {
            throw CommandFailure(.invalidMigrations, error.description)
        }
    }
}

/// The version to reach: for the commands that plan a way there (`daemon`, `migrate`, `plan`).
struct TargetOption: ParsableArguments {
    @Option(help: ArgumentHelp("Version to reach (default: the folder's highest).", valueName: "version"))
    var target: String?

    func targetVersion() throws -> Int64? {
        guard let text = target ?? Environment.value(forOption: "target") else { return nil }
        guard let version = Int64(text), version >= 0 else {
            throw CommandFailure(.usage, "--target '\(text)': must be a version number (0 or more)")
        }
        return version
    }
}

/// How long to wait and how to log.
struct RunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Give up when the lock or the database makes no progress for this long (default 5m).", valueName: "duration"))
    var lockWait: String?

    @Option(help: ArgumentHelp("text, json or journal (default: journal when stderr is the journal, else text).", valueName: "format"))
    var logFormat: String?

    @Flag(name: .shortAndLong, help: "Log debug detail.")
    var verbose = false

    func lockWaitDuration() throws -> Duration {
        try duration("lock-wait", lockWait, default: .seconds(300))
    }
}

/// Reads a duration option (or its environment variable: that of `environment` when two
/// commands' options share a name but not a meaning, as `wait --timeout` and `reload --timeout`).
func duration(_ option: String, _ value: String?, default fallback: Duration, environment: String? = nil) throws -> Duration {
    guard let text = value ?? Environment.value(forOption: environment ?? option) else { return fallback }
    guard let parsed = DurationParser.parse(text) else {
        throw CommandFailure(.usage, "--\(option) '\(text)': not a duration from 0 to \(DurationParser.format(DurationParser.longest)); write it as 500ms, 30s, 5m or 1h")
    }
    return parsed
}

/// A duration option that only makes sense within `range` (`why` says what it is used for),
/// refused with one line before anything is opened.
func duration(_ option: String, _ value: String?, default fallback: Duration, within range: ClosedRange<Duration>,
              why: String) throws -> Duration {
    let parsed = try duration(option, value, default: fallback)
    guard range.contains(parsed) else {
        throw CommandFailure(.usage, "--\(option) '\(DurationParser.format(parsed))': out of range; give \(DurationParser.format(range.lowerBound)) to \(DurationParser.format(range.upperBound)) (\(why))")
    }
    return parsed
}
