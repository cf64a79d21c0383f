import SchemagateCore
import Testing

@Suite("migration plan")
struct MigrationPlanTests {
    let folder = try! MigrationFolder.parse(path: "m", entries: [
        .init(name: "1_a.up.sql", bytes: Array("SELECT 1;".utf8)),
        .init(name: "2_b.up.sql", bytes: Array("SELECT 2;".utf8)),
        .init(name: "2_b.down.sql", bytes: Array("SELECT -2;".utf8)),
        .init(name: "3_c.up.sql", bytes: Array("SELECT 3;".utf8)),
    ]).get()

    func applied(_ versions: Int64...) -> [Int64: AppliedMigration] {
        Dictionary(uniqueKeysWithValues: versions.map { version in
            let migration = folder.migration(version: version)!
            return (version, AppliedMigration(version: version, name: migration.name, checksum: migration.checksum, downSQL: nil))
        })
    }

    @Test func pendingAfterTheCurrentVersion() throws {
        let plan = try MigrationPlan.make(folder: folder, state: SchemaState(version: 1, applied: applied(1)), target: nil)
        #expect(plan.pending.map(\.version) == [2, 3])
        #expect(plan.target == 3)
        #expect(!plan.isUpToDate)
        let partial = try MigrationPlan.make(folder: folder, state: SchemaState(version: 0), target: 2)
        #expect(partial.pending.map(\.version) == [1, 2])
    }

    @Test func upToDateAndAhead() throws {
        let done = try MigrationPlan.make(folder: folder, state: SchemaState(version: 3, applied: applied(1, 2, 3)), target: nil)
        #expect(done.isUpToDate && !done.isAhead)
        let ahead = try MigrationPlan.make(folder: folder, state: SchemaState(version: 5, applied: applied(1, 2, 3)), target: nil)
        #expect(ahead.isUpToDate && ahead.isAhead)
        let behindTarget = try MigrationPlan.make(folder: folder, state: SchemaState(version: 3, applied: applied(1, 2, 3)), target: 1)
        #expect(behindTarget.isAhead && behindTarget.pending.isEmpty)
    }

    @Test func checksumDriftNamesTheVersion() {
        var state = SchemaState(version: 2, applied: applied(1, 2))
        state.applied[2]?.checksum = "0000"
        #expect(throws: PlanProblem.checksumMismatch(version: 2, file: "m/2_b.up.sql", recorded: "0000", found: folder.migration(version: 2)!.checksum)) {
            try MigrationPlan.make(folder: folder, state: state, target: nil)
        }
    }

    @Test func aFileBelowTheCurrentVersionThatWasNeverApplied() {
        #expect(throws: PlanProblem.notRecorded(file: "m/1_a.up.sql", version: 1, current: 2)) {
            try MigrationPlan.make(folder: folder, state: SchemaState(version: 2, applied: applied(2)), target: nil)
        }
    }

    @Test func badTargets() {
        #expect(throws: PlanProblem.targetAboveHighest(target: 7, highest: 3, folder: "m")) {
            try MigrationPlan.make(folder: folder, state: SchemaState(version: 0), target: 7)
        }
        let gappy = try! MigrationFolder.parse(path: "g", entries: [
            .init(name: "1_a.up.sql", bytes: Array("SELECT 1;".utf8)), .init(name: "5_e.up.sql", bytes: Array("SELECT 5;".utf8)),
        ]).get()
        #expect(throws: PlanProblem.targetNotAMigration(target: 3, folder: "g")) {
            try MigrationPlan.make(folder: gappy, state: SchemaState(version: 0), target: 3)
        }
        #expect(PlanProblem.targetAboveHighest(target: 7, highest: 3, folder: "m").exitCode == .usage)
    }

    @Test func dirtyWithAndWithoutDown() throws {
        let withDown = DirtyMigration(version: 2, name: "b", checksum: "x", downSQL: "SELECT -2;")
        let plan = try MigrationPlan.make(folder: folder, state: SchemaState(version: 1, dirty: withDown, applied: applied(1)), target: nil)
        #expect(plan.recovery == withDown)
        #expect(plan.pending.map(\.version) == [2, 3])
        let withoutDown = DirtyMigration(version: 2, name: "b", checksum: "x", downSQL: nil)
        #expect(throws: PlanProblem.dirtyWithoutDown(withoutDown)) {
            try MigrationPlan.make(folder: folder, state: SchemaState(version: 1, dirty: withoutDown, applied: applied(1)), target: nil)
        }
        #expect(PlanProblem.dirtyWithoutDown(withoutDown).description.contains("schemagate repair"))
    }
}
