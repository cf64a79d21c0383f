/// What `schemagate baseline` records for a database another tool migrated (or one whose version
/// an operator states): the version, and one history row per folder version at or below it,
/// with the checksums of the files on disk. Nothing is applied. It refuses whatever would make
/// that record untrue.
public struct BaselinePlan: Sendable, Equatable {
    /// Where the version comes from.
    public enum Source: Sendable, Equatable {
        case history(ForeignHistory)
        /// `--version N`: the operator's word.
        case version(Int64)
    }

    public let version: Int64
    /// The folder's migrations recorded as applied, oldest first.
    public let recorded: [Migration]

    public static func make(folder: MigrationFolder, state: SchemaState, source: Source) throws(BaselineProblem) -> BaselinePlan {
        guard state.version == 0 && state.dirty == nil else { throw .alreadyTracked(version: state.version) }
        let folderVersions = Set(folder.migrations.map(\.version))
        switch source {
        case .version(let version):
            guard folderVersions.contains(version) else { throw .unknownVersion(version, highest: folder.highestVersion ?? 0) }
            return BaselinePlan(version: version, recorded: folder.migrations.filter { $0.version <= version })
        case .history(let history):
            if let refusal = history.refusal { throw .foreignState(refusal) }
            if let upTo = history.upTo, !folderVersions.contains(upTo) {
                throw .missingFromFolder(version: upTo, history: history)
            }
            let applied = history.versions.union(folder.migrations.map(\.version).filter { $0 <= history.upTo ?? 0 })
            guard let highest = applied.max() else { throw .nothingApplied(history) }
            if let missing = applied.sorted().first(where: { !folderVersions.contains($0) }) {
                throw .missingFromFolder(version: missing, history: history)
            }
            if let gap = folder.migrations.first(where: { $0.version < highest && !applied.contains($0.version) }) {
                throw .gap(gap, highest: highest, history: history)
            }
            return BaselinePlan(version: highest, recorded: folder.migrations.filter { $0.version <= highest })
        }
    }
}
