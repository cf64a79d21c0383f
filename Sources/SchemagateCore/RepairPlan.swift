/// What `schemagate repair` will change, decided from the folder and the database's state alone:
/// the applied versions whose checksum it accepts, and what becomes of an interrupted
/// no-transaction migration. It refuses what a repair cannot make true: recording as applied a
/// file that was never applied.
public struct RepairPlan: Sendable, Equatable {
    /// Applied versions whose file changed; their new checksums are accepted.
    public let acceptedChecksums: [Migration]
    /// The interrupted migration whose mark is cleared.
    public let clearedDirty: DirtyMigration?
    /// Whether that migration is recorded as applied (it did finish) rather than pending.
    public let marksApplied: Bool
    /// The version record afterwards.
    public let resultingVersion: Int64

    public static func make(folder: MigrationFolder, state: SchemaState, markApplied: Bool) throws(PlanProblem) -> RepairPlan {
        var accepted: [Migration] = []
        for migration in folder.migrations where migration.version <= state.version {
            guard let applied = state.applied[migration.version] else {
                // A new file numbered below the database's version: it never ran, and accepting
                // it would record it as applied.
                throw .notRecorded(file: migration.upFile, version: migration.version, current: state.version)
            }
            if applied.checksum != migration.checksum { accepted.append(migration) }
        }
        if markApplied && state.dirty == nil {
            throw .nothingInterrupted
        }
        let resulting = markApplied ? state.dirty!.version : state.version
        return RepairPlan(acceptedChecksums: accepted, clearedDirty: state.dirty, marksApplied: markApplied, resultingVersion: resulting)
    }
}
