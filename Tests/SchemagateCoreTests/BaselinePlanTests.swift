import SchemagateCore
import Testing

@Suite("baseline plan and other tools' histories")
struct BaselinePlanTests {
    let folder: MigrationFolder = try! MigrationFolder.parse(path: "m", entries: [1, 2, 3, 5].flatMap { version in
        [MigrationFolder.Entry(name: "\(version)_v\(version).up.sql", bytes: Array("SELECT \(version);".utf8)),
         MigrationFolder.Entry(name: "\(version)_v\(version).down.sql", bytes: Array("SELECT -\(version);".utf8))]
    }).get()

    func plan(_ source: BaselinePlan.Source, state: SchemaState = SchemaState(version: 0)) -> Result<BaselinePlan, BaselineProblem> {
        Result { () throws(BaselineProblem) in try BaselinePlan.make(folder: folder, state: state, source: source) }
    }

    @Test func recordsEveryFolderVersionUpToTheHighestApplied() throws {
        let dbmate = ForeignHistory.perVersion(.dbmate, table: "schema_migrations", versions: ["1", "2", "3"])
        let recorded = try plan(.history(dbmate)).get()
        #expect(recorded.version == 3)
        #expect(recorded.recorded.map(\.version) == [1, 2, 3])
        #expect(recorded.recorded.map(\.checksum) == folder.migrations.prefix(3).map(\.checksum))
        #expect(try plan(.version(5)).get().recorded.count == 4)
        // golang-migrate's one version counts for everything at or below it.
        #expect(try plan(.history(.golangMigrate(table: "schema_migrations", rows: [(3, false)]))).get().version == 3)
    }

    @Test func refusesWhatWouldMakeTheRecordUntrue() {
        #expect(plan(.version(4)) == .failure(.unknownVersion(4, highest: 5)))
        #expect(plan(.version(4)).failure?.exitCode == .usage)
        #expect(plan(.version(2), state: SchemaState(version: 2)) == .failure(.alreadyTracked(version: 2)))
        let dirty = ForeignHistory.golangMigrate(table: "schema_migrations", rows: [(3, true)])
        #expect(plan(.history(dirty)).failure?.description.hasPrefix("golang-migrate marks version 3 dirty in schema_migrations") == true)
        #expect(plan(.history(dirty)).failure?.exitCode == .baselineRefused)
        // golang-migrate at a version the folder lacks.
        let ahead = ForeignHistory.golangMigrate(table: "schema_migrations", rows: [(4, false)])
        #expect(plan(.history(ahead)).failure?.description.contains("records version 4 as applied, but the folder has no file for it") == true)
        // A gap the folder fills: 3 never applied, 5 was.
        let gap = ForeignHistory.perVersion(.morph, table: "db_migrations", versions: ["1", "2", "5"])
        #expect(plan(.history(gap)).failure?.description.hasPrefix("m/3_v3.up.sql: version 3 was never applied by morph, which applied 5 after it") == true)
        let none = ForeignHistory.perVersion(.dbmate, table: "schema_migrations", versions: [])
        #expect(plan(.history(none)).failure == .nothingApplied(none))
        #expect(ForeignHistory.perVersion(.dbmate, table: "t", versions: ["x1"]).refusal?.contains("'x1', which is not a positive whole number") == true)
    }

    @Test func gooseLatestRowDecidesAndFlywayFailuresRefuse() throws {
        let goose = ForeignHistory.goose(table: "goose_db_version", rows: [
            (1, 0, true), (2, 1, true), (3, 2, true), (4, 3, true), (5, 3, false),
        ])
        #expect(goose.versions == [1, 2])
        #expect(try plan(.history(goose)).get().version == 2)

        let flyway = ForeignHistory.flyway(table: "flyway_schema_history", rows: [
            (nil, "SCHEMA", "<< Flyway Schema Creation >>", true),
            ("2", "BASELINE", "<< Flyway Baseline >>", true),
            ("3", "SQL", "V3__c.sql", true),
            ("5", "SQL", "V5__e.sql", true),
            ("5", "UNDO_SQL", "U5__e.sql", true),
        ])
        #expect(flyway.upTo == 2 && flyway.versions == [3])
        #expect(try plan(.history(flyway)).get().recorded.map(\.version) == [1, 2, 3])
        let failed = ForeignHistory.flyway(table: "flyway_schema_history", rows: [("1", "SQL", "V1__a.sql", true), ("2", "SQL", "V2__b.sql", false)])
        #expect(failed.refusal == "Flyway records version 2 (V2__b.sql) as failed in flyway_schema_history; fix the database, run `flyway repair`, then baseline")
        #expect(ForeignHistory.flyway(table: "f", rows: [("1.1", "SQL", "V1.1__a.sql", true)]).refusal?.contains("1.1, which is not a whole number") == true)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { return error }; return nil }
}
