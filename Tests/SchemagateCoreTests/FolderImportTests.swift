import SchemagateCore
import Testing

@Suite("importing other tools' folders")
struct FolderImportTests {
    func convert(_ tool: ForeignTool, _ files: [String: String]) -> Result<FolderImport, FolderImportError> {
        FolderImport.convert(tool, entries: files.map { .init(name: $0.key, bytes: Array($0.value.utf8)) })
    }

    func text(_ imported: FolderImport, _ name: String) -> String? {
        imported.files.first { $0.name == name }.map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    func folder(_ imported: FolderImport) throws -> MigrationFolder {
        try MigrationFolder.parse(path: "out", entries: imported.files).get()
    }

    func problems(_ tool: ForeignTool, _ files: [String: String]) -> [String] {
        guard case .failure(let error) = convert(tool, files) else { return [] }
        return error.problems
    }

    @Test func dbmateSectionsBecomeUpAndDownFiles() throws {
        let imported = try convert(.dbmate, [
            "20240101120000_create_users.sql": "-- a note\n-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n",
            "20240102120000_index.sql": "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_id ON users (id);\n-- migrate:down\n",
            "README.md": "not a migration",
        ]).get()
        #expect(imported.files.map(\.name) == [
            "20240101120000_create_users.down.sql", "20240101120000_create_users.up.sql",
            "20240102120000_index.down.sql", "20240102120000_index.up.sql",
        ])
        let migrations = try folder(imported).migrations
        #expect(migrations.map(\.version) == [20240101120000, 20240102120000])
        #expect(migrations[0].transactional && !migrations[1].transactional)
        #expect(SQLStatementSplitter.split(migrations[0].upSQL).map(\.text) == ["-- imported from dbmate 20240101120000_create_users.sql (-- migrate:up section)\nCREATE TABLE users (id int)"])
        #expect(SQLStatementSplitter.split(migrations[0].downSQL!).map(\.keyword) == ["DROP"])
        #expect(SQLStatementSplitter.split(migrations[1].downSQL!).isEmpty)
        #expect(text(imported, "20240102120000_index.up.sql")!.hasPrefix("-- schemagate: no-transaction\n"))
        #expect(imported.report.count == 3)
        #expect(imported.report[1].contains("transaction:false became -- schemagate: no-transaction"))
        #expect(imported.report[1].contains("empty down: a no-op"))
        #expect(imported.report[2] == "README.md: skipped, not a .sql file")
        #expect(imported.summary.hasPrefix("imported 2 migrations from dbmate (versions 20240101120000 to 20240102120000): 1 outside a transaction, 1 no-op down"))
    }

    @Test func dbmateRefusalsNameTheFileAndLine() {
        #expect(problems(.dbmate, ["1_a.sql": "CREATE TABLE a (id int);\n"]).first?.hasPrefix("1_a.sql: has no `-- migrate:up` line") == true)
        #expect(problems(.dbmate, ["1_a.sql": "CREATE TABLE b (id int);\n-- migrate:up\nSELECT 1;\n"])
                == ["1_a.sql: line 1: SQL before `-- migrate:up`, which dbmate does not run; move it into a section"])
        #expect(problems(.dbmate, ["1_a.sql": "-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n"]).first?.contains("line 1: `-- migrate:down` comes before") == true)
        #expect(problems(.dbmate, ["notes.sql": "-- migrate:up\nSELECT 1;\n"]).first?.hasPrefix("notes.sql: not a dbmate migration name") == true)
        // An empty up section is schemagate's own rule, checked after conversion.
        #expect(problems(.dbmate, ["1_a.sql": "-- migrate:up\n-- migrate:down\n"]).first?.hasPrefix("after import, 1_a.up.sql: holds no SQL statements") == true)
    }

    @Test func gooseSectionsBlocksAndNoTransaction() throws {
        let function = """
        -- +goose Up
        -- +goose StatementBegin
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.at := now(); -- a ; in a comment
          RETURN NEW;
        END
        $$;
        -- +goose StatementEnd
        CREATE TABLE t (at timestamptz);

        -- +goose Down
        DROP TABLE t;
        DROP FUNCTION touch();
        """
        let imported = try convert(.goose, [
            "00001_touch.sql": function,
            "00002_index.sql": "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY t_at ON t (at);\n",
        ]).get()
        let migrations = try folder(imported).migrations
        #expect(migrations.map(\.name) == ["touch", "index"])
        #expect(SQLStatementSplitter.split(migrations[0].upSQL).count == 2)
        #expect(!migrations[0].upSQL.contains("StatementBegin") && !migrations[0].upSQL.contains("DROP"))
        #expect(!migrations[1].transactional)
        #expect(SQLStatementSplitter.split(migrations[1].downSQL!).isEmpty)
        #expect(imported.report[0].contains("1 StatementBegin block kept whole"))
        #expect(imported.report[1].contains("NO TRANSACTION became -- schemagate: no-transaction"))
    }

    /// Outside a transaction a block must stay one statement as psql splits it: a `$$` body with
    /// semicolons and a SQL-standard `BEGIN ATOMIC` body both do.
    @Test func gooseBlocksStayOneStatementOutsideATransaction() throws {
        let text = """
        -- +goose NO TRANSACTION
        -- +goose Up
        -- +goose StatementBegin
        CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM 1; -- a ; here
          RETURN length('it''s; fine');
        END
        $$;
        -- +goose StatementEnd
        -- +goose StatementBegin
        CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC
          SELECT 1;
          SELECT 2;
        END;
        -- +goose StatementEnd
        CREATE INDEX CONCURRENTLY t_id ON t (id);
        """
        let migration = try folder(try convert(.goose, ["7_funcs.sql": text]).get()).migrations[0]
        #expect(!migration.transactional)
        #expect(SQLStatementSplitter.split(migration.upSQL).map(\.keyword) == ["CREATE", "CREATE", "CREATE"])
    }

    @Test func gooseRefusesWhatItCannotKeep() {
        // Two statements in one block of a file that runs one statement at a time.
        let split = problems(.goose, ["3_two.sql": "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- +goose StatementEnd\n"])
        #expect(split.first?.hasPrefix("3_two.sql: line 3: the StatementBegin block is 2 statements where psql splits it") == true)
        #expect(problems(.goose, ["3_env.sql": "-- +goose ENVSUB ON\n-- +goose Up\nSELECT '${X}';\n"]).first?.contains("line 1: goose substitutes environment variables") == true)
        #expect(problems(.goose, ["3_open.sql": "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n"]).first?.contains("line 2: StatementBegin without its StatementEnd") == true)
        #expect(problems(.goose, ["3_odd.sql": "-- +goose Up\n-- +goose Sideways\nSELECT 1;\n"]).first?.contains("unknown goose annotation `-- +goose Sideways`") == true)
        #expect(problems(.goose, ["3_none.sql": "SELECT 1;\n"]).first?.contains("line 1: SQL before `-- +goose Up`") == true)
    }

    @Test func flywayScriptsAreRenamedAndDottedVersionsRefused() throws {
        let imported = try convert(.flyway, [
            "V1__Create_people.sql": "CREATE TABLE people (id int);\n",
            "U1__Create_people.sql": "DROP TABLE people;\n",
            "V2__index.sql": "-- fast\nCREATE INDEX CONCURRENTLY people_id ON people (id);\n",
            "V3__vacuum.sql": "ANALYZE people;\n",
            "V3__vacuum.sql.conf": "executeInTransaction=false\n",
            "flyway.conf": "ignored",
        ]).get()
        let migrations = try folder(imported).migrations
        #expect(migrations.map(\.label) == ["1_Create_people", "2_index", "3_vacuum"])
        #expect(migrations.map(\.transactional) == [true, false, false])
        #expect(migrations[0].downFile == "out/1_Create_people.down.sql")
        #expect(imported.report.contains { $0.hasPrefix("V2__index.sql → 2_index.up.sql: renamed; line 2 (CREATE …) cannot run in a transaction") })
        #expect(imported.report.contains { $0.contains("executeInTransaction=false in V3__vacuum.sql.conf") })

        #expect(problems(.flyway, ["V1.2__dotted.sql": "SELECT 1;"])
                == ["V1.2__dotted.sql: Flyway version 1.2 is not a whole number, and schemagate's versions are; rename the scripts to whole-number versions in the same order (e.g. 1.2 → V12__), then import"])
        #expect(problems(.flyway, ["V1_2__dotted.sql": "SELECT 1;"]).first?.contains("Flyway version 1.2 is not a whole number") == true)
        #expect(problems(.flyway, ["R__views.sql": "SELECT 1;"]).first?.contains("repeatable migration") == true)
        #expect(problems(.flyway, ["V4__p.sql": "CREATE SCHEMA ${schema};"]).first?.contains("line 1: Flyway replaces ${…} placeholders") == true)
        #expect(problems(.flyway, ["U5__orphan.sql": "SELECT 1;"]).first?.contains("down file without its .up.sql") == true)
    }

    @Test func golangMigrateAndMorphFoldersAreCopiedAsTheyAre() throws {
        let files = ["000001_Create-Users.up.sql": "CREATE TABLE users (id int);", "000001_Create-Users.down.sql": "",
                     "000002_idx.up.sql": "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY u ON users (id);"]
        for tool in [ForeignTool.golangMigrate, .morph] {
            let imported = try convert(tool, files).get()
            #expect(imported.files.map { String(decoding: $0.bytes, as: UTF8.self) } == files.sorted { $0.key < $1.key }.map(\.value))
            #expect(imported.report.allSatisfy { $0.hasSuffix(": copied unchanged") })
            #expect(try folder(imported).migrations.map(\.transactional) == [true, false])
        }
        #expect(problems(.golangMigrate, ["1_a.up.sql": "SELECT 1;", "notes.sql": "x"]).first?.hasPrefix("after import, notes.sql: not a migration file name") == true)
    }
}
