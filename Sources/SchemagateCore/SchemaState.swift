/// What the database says about the schema: its version, an interrupted no-transaction
/// migration, and the checksums of applied migrations (from history).
public struct SchemaState: Sendable, Equatable {
    public var version: Int64
    public var dirty: DirtyMigration?
    /// The latest successful `up` or `repair` record of each applied version.
    public var applied: [Int64: AppliedMigration]

    public init(version: Int64, dirty: DirtyMigration? = nil, applied: [Int64: AppliedMigration] = [:]) {
        self.version = version
        self.dirty = dirty
        self.applied = applied
    }
}

/// A migration recorded as applied.
public struct AppliedMigration: Sendable, Equatable {
    public var version: Int64
    public var name: String
    public var checksum: String
    /// The down SQL stored with it, so that an older release can still roll it back.
    public var downSQL: String?

    public init(version: Int64, name: String, checksum: String, downSQL: String?) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.downSQL = downSQL
    }
}

/// A no-transaction migration that started and did not finish: its statements may be half done.
public struct DirtyMigration: Sendable, Equatable, Codable {
    public var version: Int64
    public var name: String
    public var checksum: String
    public var downSQL: String?

    public init(version: Int64, name: String, checksum: String, downSQL: String?) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.downSQL = downSQL
    }

    enum CodingKeys: String, CodingKey {
        case version, name, checksum
        case downSQL = "down_sql"
    }
}

/// A migration failure recorded in the settings table's `last_failure`.
public struct FailureRecord: Sendable, Equatable, Codable {
    public var version: Int64
    public var name: String
    public var checksum: String
    public var error: String
    public var sqlState: String?
    /// Seconds since the epoch, by the database's clock.
    public var at: Double
    public var instance: String

    public init(version: Int64, name: String, checksum: String, error: String, sqlState: String?, at: Double, instance: String) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.error = error
        self.sqlState = sqlState
        self.at = at
        self.instance = instance
    }

    enum CodingKeys: String, CodingKey {
        case version, name, checksum, error, at, instance
        case sqlState = "sqlstate"
    }
}
