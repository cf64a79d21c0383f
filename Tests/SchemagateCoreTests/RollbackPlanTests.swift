import SchemagateCore
import Testing

@Suite("rollback plan")
struct RollbackPlanTests {
    func applied(_ entries: (Int64, String?)...) -> [Int64: AppliedMigration] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.0, AppliedMigration(version: $0.0, name: "v\($0.0)", checksum: "c\($0.0)", downSQL: $0.1)) })
    }

    @Test func newestFirstWithStoredDownSQLAndGaps() throws {
        let state = SchemaState(version: 5, applied: applied((1, "DROP a;"), (2, "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY i;"), (5, "DROP e;")))
        let plan = try RollbackPlan.make(folder: nil, state: state, to: 1)
        #expect(plan.steps.map(\.version) == [5, 2])
        #expect(plan.steps.map(\.resultingVersion) == [2, 1])
        #expect(plan.steps.map(\.transactional) == [true, false])
        #expect(try RollbackPlan.make(folder: nil, state: state, to: 0).steps.last?.resultingVersion == 0)
    }

    @Test func localDownFilesArePreferred() throws {
        let folder = try MigrationFolder.parse(path: "m", entries: [
            .init(name: "1_a.up.sql", bytes: Array("CREATE TABLE a ();".utf8)),
            .init(name: "1_a.down.sql", bytes: Array("DROP TABLE a; -- local".utf8)),
        ]).get()
        let plan = try RollbackPlan.make(folder: folder, state: SchemaState(version: 1, applied: applied((1, "DROP TABLE a;"))), to: 0)
        #expect(plan.steps.first?.downSQL == "DROP TABLE a; -- local")
    }

    @Test func refusals() {
        let state = SchemaState(version: 3, applied: applied((1, nil), (2, "x"), (3, nil)))
        #expect(throws: RollbackProblem.missingDown([3, 1])) { try RollbackPlan.make(folder: nil, state: state, to: 0) }
        #expect(throws: RollbackProblem.targetAboveCurrent(target: 4, current: 3)) { try RollbackPlan.make(folder: nil, state: state, to: 4) }
        #expect(throws: RollbackProblem.targetNotApplied(7)) {
            try RollbackPlan.make(folder: nil, state: SchemaState(version: 9, applied: applied((9, "x"))), to: 7)
        }
        let dirty = SchemaState(version: 3, dirty: DirtyMigration(version: 4, name: "d", checksum: "c", downSQL: nil), applied: applied((3, "x")))
        #expect(throws: RollbackProblem.dirty(4)) { try RollbackPlan.make(folder: nil, state: dirty, to: 0) }
    }
}
