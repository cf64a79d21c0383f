/// What bringing the database to the target takes, decided from the folder and the database's
/// state alone: the pending migrations in order, or the problem that forbids migrating.
public struct MigrationPlan: Sendable, Equatable {
    public let current: Int64
    public let target: Int64
    /// Migrations after `current` up to and including `target`, ascending.
    public let pending: [Migration]
    /// An interrupted no-transaction migration to undo (with its stored down SQL) before `pending`.
    public let recovery: DirtyMigration?

    /// The database is past the target: an older release is running against a newer schema.
    public var isAhead: Bool { current > target }
    public var isUpToDate: Bool { pending.isEmpty && recovery == nil }

    /// The version to reach: `requested`, which must name a migration of the folder (or be 0), or
    /// the folder's highest. Checked before connecting, so a bad target changes nothing.
    public static func checkTarget(_ requested: Int64?, folder: MigrationFolder) throws(PlanProblem) -> Int64 {
        let highest = folder.highestVersion ?? 0
        guard let target = requested else { return highest }
        if target > highest {
            throw .targetAboveHighest(target: target, highest: highest, folder: folder.path)
        }
        if target != 0, folder.migration(version: target) == nil {
            throw .targetNotAMigration(target: target, folder: folder.path)
        }
        return target
    }

    /// Plans the way from `state` to `target` (the folder's highest version when nil).
    public static func make(folder: MigrationFolder, state: SchemaState, target requested: Int64?) throws(PlanProblem) -> MigrationPlan {
        let target = try checkTarget(requested, folder: folder)
        for migration in folder.migrations where migration.version <= min(state.version, target) {
            guard let applied = state.applied[migration.version] else {
                throw .notRecorded(file: migration.upFile, version: migration.version, current: state.version)
            }
            if applied.checksum != migration.checksum {
                throw .checksumMismatch(
                    version: migration.version, file: migration.upFile,
                    recorded: applied.checksum, found: migration.checksum
                )
            }
        }
        if let dirty = state.dirty, dirty.rollingBack {
            throw .interruptedRollback(dirty)
        }
        if let dirty = state.dirty, dirty.downSQL == nil {
            throw .dirtyWithoutDown(dirty)
        }
        let pending = folder.migrations.filter { $0.version > state.version && $0.version <= target }
        return MigrationPlan(current: state.version, target: target, pending: pending, recovery: state.dirty)
    }
}

/// Why a plan cannot be made. Each names the version or file and what to do.
public enum PlanProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case targetAboveHighest(target: Int64, highest: Int64, folder: String)
    case targetNotAMigration(target: Int64, folder: String)
    case checksumMismatch(version: Int64, file: String, recorded: String, found: String)
    case notRecorded(file: String, version: Int64, current: Int64)
    case dirtyWithoutDown(DirtyMigration)
    /// A rollback stopped inside a no-transaction down file.
    case interruptedRollback(DirtyMigration)
    /// `repair --applied` with no interrupted migration to mark.
    case nothingInterrupted

    public var exitCode: SchemagateExitCode {
        switch self {
        case .targetAboveHighest, .targetNotAMigration, .nothingInterrupted: return .usage
        case .checksumMismatch, .notRecorded: return .invalidMigrations
        case .dirtyWithoutDown, .interruptedRollback: return .migrationFailed
        }
    }

    public var description: String {
        switch self {
        case .targetAboveHighest(let target, let highest, let folder):
            return "--target \(target): no migration that high in \(folder) (highest is \(highest)); lower --target or add the migration"
        case .targetNotAMigration(let target, let folder):
            return "--target \(target): no migration has that version in \(folder); pass a version that exists"
        case .checksumMismatch(let version, let file, let recorded, let found):
            return "\(file): version \(version) was applied with checksum \(recorded.prefix(12))… but the file now has \(found.prefix(12))…; restore the file, or accept the change with `schemagate repair`"
        case .notRecorded(let file, let version, let current):
            return "\(file): version \(version) is at or below the database's version \(current) but was never applied; renumber it above \(current)"
        case .dirtyWithoutDown(let dirty):
            return "version \(dirty.version) (\(MigrationTitle.shown(dirty.name))) is a no-transaction migration that was interrupted and has no down file; check what it did to the database, then run `schemagate repair`"
        case .interruptedRollback(let dirty):
            return "a rollback stopped inside the no-transaction down file of version \(dirty.version) (\(MigrationTitle.shown(dirty.name))), so it may be half undone; finish it with `schemagate rollback` again (the down file runs anew), or check the database and run `schemagate repair`"
        case .nothingInterrupted:
            return "--applied: no interrupted no-transaction migration is marked in the database; run `schemagate repair` without --applied"
        }
    }
}
