/// Decides, without I/O, how far one instance may migrate while other releases are live, and whether
/// its release can work with the schema the database holds. A contract migration V is applied only
/// once every live instance targets V or above; until then the schema stops just below V.
public struct ContractGate: Equatable, Sendable {
    /// A contract migration recorded as applied in the database. Comes from history, not from the
    /// folder: an old release's folder does not know the contract migrations of newer ones.
    public struct AppliedContract: Equatable, Sendable {
        public let version: Int64
        public let name: String
        public init(version: Int64, name: String) {
            self.version = version
            self.name = name
        }
        public var label: String { "\(version)_\(name)" }
    }

    /// A pending contract migration of this folder and the live instances that still need the schema below it.
    public struct Wait: Equatable, Sendable {
        public let migration: Migration
        public let holders: [FleetMember]

        /// `0041_drop_users_name waits for 3 instances on release 40: host-a pid 812, …`.
        public var description: String {
            let releases = Array(Set(holders.map(\.release))).sorted()
            let count = holders.count == 1 ? "1 instance" : "\(holders.count) instances"
            let list = holders.map(\.label).joined(separator: ", ")
            return "\(migration.label) waits for \(count) on release \(releases.joined(separator: ", ")): \(list)"
        }
    }

    public enum Readiness: Equatable, Sendable {
        case ready
        /// Non-contract migrations up to the target are still pending.
        case pending
        /// A contract migration above this instance's target is applied: this release cannot work.
        case incompatible(AppliedContract)
    }

    /// The highest version this instance may apply now (equal to `applied` when nothing may run).
    public let applyLimit: Int64
    /// Pending contract migrations up to the target that live instances hold back, lowest first.
    public let waits: [Wait]
    public let readiness: Readiness

    /// - Parameters:
    ///   - migrations: this instance's folder, sorted by version.
    ///   - applied: the database's current version (0 when empty).
    ///   - target: this instance's target version.
    ///   - others: the live fleet rows, this instance excluded.
    ///   - appliedContracts: contract migrations the database's history records as applied.
    public init(migrations: [Migration], applied: Int64, target: Int64, others: [FleetMember], appliedContracts: [AppliedContract]) {
        var waits: [Wait] = []
        for migration in migrations where migration.contract && migration.version > applied && migration.version <= target {
            let holders = others.filter { $0.target < migration.version }
            if !holders.isEmpty { waits.append(Wait(migration: migration, holders: holders)) }
        }
        self.waits = waits
        self.applyLimit = Swift.max(applied, waits.first.map { $0.migration.version - 1 } ?? target)
        let needed = migrations.last { !$0.contract && $0.version <= target }?.version ?? 0
        if let breaking = appliedContracts.filter({ $0.version > target && $0.version <= applied }).min(by: { $0.version < $1.version }) {
            self.readiness = .incompatible(breaking)
        } else {
            self.readiness = applied >= needed ? .ready : .pending
        }
    }

    /// Live instances whose release needs a version above `version`: `rollback --to version` would break them.
    public static func rollbackBlockers(to version: Int64, fleet: [FleetMember]) -> [FleetMember] {
        fleet.filter { $0.target > version }
    }
}
