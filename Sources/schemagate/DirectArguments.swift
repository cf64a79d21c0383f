import ArgumentParser

/// The arguments of `daemon` and `migrate`, read without ArgumentParser's reflection.
///
/// Every deploy starts these two on every instance, and ArgumentParser builds a command's
/// definition by reflection (mirrors, conformance scans, mangled-name lookups): about 17.7 million
/// instructions of the 45.8 million that `migrate` with nothing pending ran, more than the whole
/// of `psql -c 'select 1'`. This reads only the plain forms, `--option value`, `--option=value`
/// and `--flag`, each at most once. Anything else (`--help`, `-v`, a typo, a value that starts
/// with `-`, a positional argument) makes it give up, and ArgumentParser parses the command
/// instead, so help, error messages and completions still come from one definition, the
/// property wrappers. `DirectArgumentsTests` holds the two readings to the same result.
struct DirectArguments {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// Nil when `arguments` hold anything but the plain forms of `options` and `flags` (names
    /// without the leading `--`).
    init?(_ arguments: ArraySlice<String>, options: Set<String>, flags: Set<String>) {
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else { return nil }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                let name = String(body[..<equals])
                guard options.contains(name) else { return nil }
                guard Self.isPlain(body[body.index(after: equals)...]), values[name] == nil else { return nil }
                values[name] = String(body[body.index(after: equals)...])
            } else if options.contains(String(body)) {
                let name = String(body)
                guard index < arguments.endIndex, Self.isPlain(arguments[index][...]), values[name] == nil else { return nil }
                values[name] = arguments[index]
                index += 1
            } else if flags.contains(String(body)) {
                guard self.flags.insert(String(body)).inserted else { return nil }
            } else {
                return nil
            }
        }
    }

    /// An option's value, nil when not given.
    subscript(option: String) -> String? { values[option] }

    /// Whether a flag was given.
    func isSet(_ flag: String) -> Bool { flags.contains(flag) }

    /// A value ArgumentParser would read the same way: not empty and not option-like.
    private static func isPlain(_ value: Substring) -> Bool {
        !value.isEmpty && !value.hasPrefix("-")
    }
}

/// A command that can be built from `DirectArguments` as well as parsed by ArgumentParser.
protocol DirectlyParsable: AsyncParsableCommand {
    /// Its options' long names (without `--`).
    static var directOptions: Set<String> { get }
    /// Its flags' long names (without `--`).
    static var directFlags: Set<String> { get }
    /// Sets every property wrapper (one left unset would trap when read).
    init(direct arguments: DirectArguments)
}

extension DirectlyParsable {
    /// The command, or nil when ArgumentParser must parse `arguments`.
    static func direct(_ arguments: ArraySlice<String>) -> Self? {
        DirectArguments(arguments, options: directOptions, flags: directFlags).map(Self.init(direct:))
    }
}

// The option groups `daemon` and `migrate` share, each set from the same names as its wrappers.

extension DatabaseOptions {
    static let directOptions: Set<String> = ["database-url", "schema", "settings-table"]

    init(direct arguments: DirectArguments) {
        self.init()
        databaseURL = arguments["database-url"]
        schema = arguments["schema"]
        settingsTable = arguments["settings-table"]
    }
}

extension FolderOptions {
    static let directOptions: Set<String> = ["migrations"]

    init(direct arguments: DirectArguments) {
        self.init()
        migrations = arguments["migrations"]
    }
}

extension TargetOption {
    static let directOptions: Set<String> = ["target"]

    init(direct arguments: DirectArguments) {
        self.init()
        target = arguments["target"]
    }
}

extension LockingOptions {
    static let directOptions: Set<String> = ["lease", "ddl-lock-timeout"]

    init(direct arguments: DirectArguments) {
        self.init()
        lease = arguments["lease"]
        ddlLockTimeout = arguments["ddl-lock-timeout"]
    }
}

extension GovernorOptions {
    static let directOptions: Set<String> = ["max-block", "max-block-retries"]

    init(direct arguments: DirectArguments) {
        self.init()
        maxBlock = arguments["max-block"]
        maxBlockRetries = arguments["max-block-retries"]
    }
}

extension RunOptions {
    static let directOptions: Set<String> = ["lock-wait", "log-format"]
    static let directFlags: Set<String> = ["verbose"]

    init(direct arguments: DirectArguments) {
        self.init()
        lockWait = arguments["lock-wait"]
        logFormat = arguments["log-format"]
        verbose = arguments.isSet("verbose")
    }
}

/// The option groups `daemon` and `migrate` both carry.
protocol SharedOptionGroups {
    var database: DatabaseOptions { get set }
    var folder: FolderOptions { get set }
    var target: TargetOption { get set }
    var locking: LockingOptions { get set }
    var governor: GovernorOptions { get set }
    var runOptions: RunOptions { get set }
}

extension SharedOptionGroups {
    mutating func setSharedGroups(_ arguments: DirectArguments) {
        database = DatabaseOptions(direct: arguments)
        folder = FolderOptions(direct: arguments)
        target = TargetOption(direct: arguments)
        locking = LockingOptions(direct: arguments)
        governor = GovernorOptions(direct: arguments)
        runOptions = RunOptions(direct: arguments)
    }
}

/// Those groups' names, in one set.
private let sharedDirectOptions = DatabaseOptions.directOptions.union(FolderOptions.directOptions)
    .union(TargetOption.directOptions).union(LockingOptions.directOptions)
    .union(GovernorOptions.directOptions).union(RunOptions.directOptions)

extension MigrateCommand: DirectlyParsable, SharedOptionGroups {
    static let directOptions = sharedDirectOptions
    static let directFlags = RunOptions.directFlags.union(["wait-for-contract"])

    init(direct arguments: DirectArguments) {
        self.init()
        setSharedGroups(arguments)
        waitForContract = arguments.isSet("wait-for-contract")
    }
}

extension DaemonCommand: DirectlyParsable, SharedOptionGroups {
    static let directOptions = sharedDirectOptions.union([
        "on-regression", "on-incompatible", "release", "watch-interval", "state-file", "socket", "socket-group", "http",
        "client-timeout",
    ])
    static let directFlags = RunOptions.directFlags

    init(direct arguments: DirectArguments) {
        self.init()
        setSharedGroups(arguments)
        onRegression = arguments["on-regression"]
        onIncompatible = arguments["on-incompatible"]
        release = arguments["release"]
        watchInterval = arguments["watch-interval"]
        stateFile = arguments["state-file"]
        socket = arguments["socket"]
        socketGroup = arguments["socket-group"]
        http = arguments["http"]
        clientTimeout = arguments["client-timeout"]
    }
}
