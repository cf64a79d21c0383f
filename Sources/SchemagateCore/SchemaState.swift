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
    /// The interrupted work was this version's no-transaction *down* file (a rollback), not its
    /// up file: the version is still recorded, and part of its undo may have run.
    public var rollingBack: Bool

    public init(version: Int64, name: String, checksum: String, downSQL: String?, rollingBack: Bool = false) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.downSQL = downSQL
        self.rollingBack = rollingBack
    }

    enum CodingKeys: String, CodingKey {
        case version, name, checksum
        case downSQL = "down_sql"
        case rollingBack = "rolling_back"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int64.self, forKey: .version)
        name = try container.decode(String.self, forKey: .name)
        checksum = try container.decode(String.self, forKey: .checksum)
        downSQL = try container.decodeIfPresent(String.self, forKey: .downSQL)
        rollingBack = try container.decodeIfPresent(Bool.self, forKey: .rollingBack) ?? false
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
