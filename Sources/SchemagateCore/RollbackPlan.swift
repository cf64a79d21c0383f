/// The way back from the database's version to an earlier one: each applied version above the
/// target, newest first, with its down SQL — the local file when the folder has it, else the copy
/// stored when it was applied (so an older release, whose folder lacks newer files, can still go back).
public struct RollbackPlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public let version: Int64
        public let name: String
        public let checksum: String
        public let downSQL: String
        public let transactional: Bool
        /// The version recorded once this step is undone: the next lower applied version, or 0.
        public let resultingVersion: Int64
        /// A rollback of this step was interrupted before: the mark it left is expected.
        public let resumes: Bool
        /// The down file is marked `-- schemagate: allow-blocking`: the governor watches, never cancels.
        public var allowBlocking = false
    }

    public let current: Int64
    public let target: Int64
    public let steps: [Step]

    public static func make(folder: MigrationFolder?, state: SchemaState, to target: Int64) throws(RollbackProblem) -> RollbackPlan {
        // Only a rollback interrupted in this very version's down file may go on: it runs again.
        if let dirty = state.dirty, !(dirty.rollingBack && dirty.version == state.version) { throw .dirty(dirty.version) }
        if target > state.version { throw .targetAboveCurrent(target: target, current: state.version) }
        let versions = state.applied.keys.sorted(by: >)
        if target != 0 && state.applied[target] == nil { throw .targetNotApplied(target) }
        // A version the folder has between the target and the database's version but history does
        // not record would be skipped silently, its changes left in place: refuse instead.
        let unrecorded = (folder?.migrations ?? []).map(\.version).filter {
            $0 > target && $0 <= state.version && state.applied[$0] == nil
        }
        if !unrecorded.isEmpty { throw .notRecorded(unrecorded) }
        var steps: [Step] = []
        var missing: [Int64] = []
        for (index, version) in versions.enumerated() where version > target {
            let applied = state.applied[version]!
            let local = folder?.migration(version: version)
            guard let downSQL = local?.downSQL ?? applied.downSQL else {
                missing.append(version)
                continue
            }
            let directives = try? MigrationDirectives.parse(firstLineOf: downSQL).get()
            let transactional = directives?.transactional ?? true
            let lower = index + 1 < versions.count ? versions[index + 1] : 0
            steps.append(Step(version: version, name: applied.name, checksum: applied.checksum, downSQL: downSQL,
                              transactional: transactional, resultingVersion: lower,
                              resumes: state.dirty?.rollingBack == true && state.dirty?.version == version,
                              allowBlocking: directives?.allowBlocking ?? false))
        }
        if !missing.isEmpty { throw .missingDown(missing) }
        return RollbackPlan(current: state.version, target: target, steps: steps)
    }
}

public enum RollbackProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case dirty(Int64)
    case targetAboveCurrent(target: Int64, current: Int64)
    case targetNotApplied(Int64)
    case missingDown([Int64])
    /// Versions of the folder at or below the database's version that history does not record.
    case notRecorded([Int64])

    public var exitCode: SchemagateExitCode {
        switch self {
        case .dirty: return .migrationFailed
        case .targetAboveCurrent, .targetNotApplied: return .usage
        case .missingDown, .notRecorded: return .invalidMigrations
        }
    }

    public var description: String {
        switch self {
        case .dirty(let version):
            return "version \(version) is an interrupted no-transaction migration; check the database and run `schemagate repair` first"
        case .targetAboveCurrent(let target, let current):
            return "--to \(target): the database is at \(current); use `schemagate migrate --target \(target)` to go forward"
        case .targetNotApplied(let target):
            return "--to \(target): no applied migration has that version; pass an applied version or 0"
        case .missingDown(let versions):
            return "no down SQL for version\(versions.count == 1 ? "" : "s") \(versions.map(String.init).joined(separator: ", ")) (neither a .down.sql file nor a stored copy); nothing was rolled back"
        case .notRecorded(let versions):
            let list = versions.map(String.init).joined(separator: ", ")
            return "version\(versions.count == 1 ? "" : "s") \(list) of the folder lie\(versions.count == 1 ? "s" : "") below the database's version but \(versions.count == 1 ? "has" : "have") no history row, so rolling back would skip \(versions.count == 1 ? "it" : "them"); check what the database holds, restore the history rows, then roll back; nothing was rolled back"
        }
    }
}
