import SchemagateCore
import Testing

@Suite("migrations folder rules")
struct MigrationFolderTests {
    func parse(_ files: [String: String]) -> Result<MigrationFolder, MigrationFolderError> {
        MigrationFolder.parse(path: "m", entries: files.map { .init(name: $0.key, bytes: Array($0.value.utf8)) })
    }

    func problems(_ files: [String: String]) -> [MigrationFolderProblem] {
        guard case .failure(let error) = parse(files) else { return [] }
        return error.problems
    }

    @Test func sortsByNumericVersionAndPairsDownFiles() throws {
        let folder = try parse([
            "10_ten.up.sql": "SELECT 10;", "0002_two.up.sql": "SELECT 2;", "0002_two.down.sql": "SELECT -2;",
            "notes.txt": "ignored", "1_one.up.sql": "SELECT 1;",
        ]).get()
        #expect(folder.migrations.map(\.version) == [1, 2, 10])
        #expect(folder.migrations[1].label == "0002_two")
        #expect(folder.migrations[1].downSQL == "SELECT -2;")
        #expect(folder.migrations[0].downSQL == nil)
        #expect(folder.highestVersion == 10)
    }

    @Test func checksumIsSHA256OfTheBytes() throws {
        let folder = try parse(["1_a.up.sql": "SELECT 1;\n"]).get()
        // sha256("SELECT 1;\n")
        #expect(folder.migrations[0].checksum == Checksum.sha256(Array("SELECT 1;\n".utf8)))
        #expect(Checksum.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func noTransactionDirective() throws {
        let folder = try parse(["1_a.up.sql": "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);"]).get()
        #expect(folder.migrations[0].transactional == false)
        let morph = try parse(["1_a.up.sql": "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY i ON t (c);"]).get()
        #expect(morph.migrations[0].transactional == false)
        let plain = try parse(["1_a.up.sql": "-- a comment\nSELECT 1;"]).get()
        #expect(plain.migrations[0].transactional)
    }

    @Test func titlesAsOtherToolsWriteThem() throws {
        let folder = try parse([
            "000056_upgrade_channels_v6.0.up.sql": "SELECT 1;", "000056_upgrade_channels_v6.0.down.sql": "SELECT 2;",
            "000089_add-channelid-to-reaction.up.sql": "SELECT 3;",
            "000090_Add Users (ÄÖ).up.sql": "SELECT 4;",
        ]).get()
        #expect(folder.migrations.map(\.name) == ["upgrade_channels_v6.0", "add-channelid-to-reaction", "Add Users (ÄÖ)"])
        #expect(folder.migrations[0].downSQL == "SELECT 2;")
        #expect(folder.migrations.map { MigrationTitle.shown($0.name) }
                == ["upgrade_channels_v6.0", "add-channelid-to-reaction", "\"Add Users (ÄÖ)\""])
        #expect(MigrationTitle.shown("say \"hi\"") == "\"say \\\"hi\\\"\"")
        // One up per version and titles must agree, whatever they hold.
        #expect(problems(["1_a.b.up.sql": "SELECT 1;", "1_a-b.down.sql": "SELECT 1;"])
                == [.duplicateVersion(version: 1, files: ["m/1_a-b.down.sql", "m/1_a.b.up.sql"])])
        #expect(problems(["2_B.down.sql": "SELECT 1;", "1_a.up.sql": "SELECT 1;"]) == [.downWithoutUp(file: "m/2_B.down.sql")])
    }

    @Test func emptyAndCommentOnlyDownsAreNoOps() throws {
        let folder = try parse([
            "1_a.up.sql": "SELECT 1;", "1_a.down.sql": "",
            "2_b.up.sql": "SELECT 2;", "2_b.down.sql": "-- nothing to undo\n/* really */\n",
        ]).get()
        #expect(folder.migrations.map(\.downSQL) == ["", "-- nothing to undo\n/* really */\n"])
        #expect(problems(["1_a.up.sql": "", "1_a.down.sql": ""]) == [.emptyMigration(file: "m/1_a.up.sql")])
        #expect(MigrationFolderProblem.emptyMigration(file: "m/1_a.up.sql").description.contains("SELECT 1;"))
        #expect(!MigrationFolderProblem.emptyMigration(file: "m/1_a.up.sql").description.contains("delete"))
    }

    @Test func explanationSaysHowEachFileRuns() throws {
        let folder = try parse([
            "1_Users.v2.up.sql": "CREATE TABLE u (id int);\nCREATE TABLE v (id int);", "1_Users.v2.down.sql": "-- nothing\n",
            "2_idx.up.sql": "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY i ON u (id);",
            "2_idx.down.sql": "-- schemagate: no-transaction\nDROP INDEX CONCURRENTLY i;",
            "3_x y.up.sql": "SELECT 1;",
        ]).get()
        #expect(folder.migrations.map { MigrationExplanation($0).lines } == [
            ["m/1_Users.v2.up.sql: version 1 (Users.v2), 2 statements in one transaction",
             "  down m/1_Users.v2.down.sql: no statements, a no-op: rollback passes this version and records it"],
            ["m/2_idx.up.sql: version 2 (idx), 1 statement one by one outside a transaction (first line `-- morph:nontransactional`)",
             "  down m/2_idx.down.sql: 1 statement one by one outside a transaction (first line `-- schemagate: no-transaction`)"],
            ["m/3_x y.up.sql: version 3 (\"x y\"), 1 statement in one transaction",
             "  no down file: rollback refuses this version unless a down SQL was stored when it was applied"],
        ])
    }

    @Test func everyRuleNamesTheFile() {
        #expect(problems([:]) == [.noMigrations(folder: "m")])
        #expect(problems(["x.sql": "SELECT 1;"]) == [.badFileName(file: "m/x.sql")])
        #expect(problems(["1_.up.sql": "SELECT 1;"]) == [.badFileName(file: "m/1_.up.sql")])
        #expect(problems(["1_a\u{7}b.up.sql": "SELECT 1;"]) == [.badFileName(file: "m/1_a\u{7}b.up.sql")])
        #expect(problems(["1_a\tb.up.sql": "SELECT 1;"]) == [.badFileName(file: "m/1_a\tb.up.sql")])
        #expect(problems(["v1_a.up.sql": "SELECT 1;"]) == [.badFileName(file: "m/v1_a.up.sql")])
        #expect(problems(["1_a.sql": "SELECT 1;"]) == [.badFileName(file: "m/1_a.sql")])
        #expect(problems(["0_a.up.sql": "SELECT 1;"]) == [.versionNotPositive(file: "m/0_a.up.sql")])
        #expect(problems(["1234567890123456789_a.up.sql": "SELECT 1;"]) == [.versionTooLarge(file: "m/1234567890123456789_a.up.sql")])
        #expect(problems(["1_a.up.sql": "SELECT 1;", "01_b.up.sql": "SELECT 1;"])
                == [.duplicateVersion(version: 1, files: ["m/01_b.up.sql", "m/1_a.up.sql"])])
        #expect(problems(["1_a.up.sql": "SELECT 1;", "1_b.down.sql": "SELECT 1;"])
                == [.duplicateVersion(version: 1, files: ["m/1_a.up.sql", "m/1_b.down.sql"])])
        #expect(problems(["2_b.down.sql": "SELECT 1;", "1_a.up.sql": "SELECT 1;"]) == [.downWithoutUp(file: "m/2_b.down.sql")])
        #expect(problems(["1_a.up.sql": "-- schemagate: fast\nSELECT 1;"]) == [.unknownDirective(file: "m/1_a.up.sql", directive: "fast")])
        #expect(problems(["1_a.up.sql": "-- schemagate:\nSELECT 1;"]) == [.unknownDirective(file: "m/1_a.up.sql", directive: "")])
        #expect(problems(["1_a.up.sql": "  \n-- only a comment\n/* and another */\n"]) == [.emptyMigration(file: "m/1_a.up.sql")])
        #expect(problems(["1_a.up.sql": "SELECT 1;\nBEGIN;\nSELECT 2;"]) == [.transactionControl(file: "m/1_a.up.sql", line: 2, keyword: "BEGIN")])
        #expect(problems(["1_a.up.sql": "-- schemagate: no-transaction\nSELECT 1;\nCOMMIT;"]).isEmpty)
    }

    /// Directives are read from the first line only: one further down would be ignored, so it is
    /// refused with its line. Text that only looks like one (in a string, a dollar quote, a block
    /// comment) is not a directive.
    @Test func directiveBelowTheFirstLine() {
        #expect(problems(["1_a.up.sql": "SELECT 1;\n-- schemagate: no-transaction\nSELECT 2;"])
                == [.misplacedDirective(file: "m/1_a.up.sql", line: 2)])
        #expect(problems(["1_a.up.sql": "-- schemagate: no-transaction\nSELECT 1;", "1_a.down.sql": "\n\n  --  SchemaGate: no-transaction\nSELECT 2;"])
                == [.misplacedDirective(file: "m/1_a.down.sql", line: 3)])
        #expect(problems(["1_a.up.sql": "SELECT $$\n-- schemagate: no-transaction\n$$, '\n-- schemagate: x';\n/*\n-- schemagate: no-transaction\n*/\n-- schemagate runs this\n"]).isEmpty)
        #expect(MigrationFolderProblem.misplacedDirective(file: "m/1_a.up.sql", line: 2).description
                == "m/1_a.up.sql:2: schemagate directives are read from the first line only; move this one to line 1")
    }

    /// A nested block comment neither hides a COMMIT after it nor makes one inside it count.
    @Test func transactionControlAfterNestedComments() {
        #expect(problems(["1_a.up.sql": "SELECT 1;\n/* a /* b */ c */ COMMIT;"])
                == [.transactionControl(file: "m/1_a.up.sql", line: 2, keyword: "COMMIT")])
        #expect(problems(["1_a.up.sql": "/* a /* b */ COMMIT */ SELECT 1;"]).isEmpty)
    }

    /// psql skips a UTF-8 byte order mark at the start of a file, and so does schemagate; the
    /// checksum still covers the file's exact bytes.
    @Test func leadingByteOrderMarkIsSkipped() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let up = bom + Array("-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n".utf8)
        let folder = try MigrationFolder.parse(path: "m", entries: [
            .init(name: "1_a.up.sql", bytes: up), .init(name: "1_a.down.sql", bytes: bom + Array("DROP INDEX i;".utf8)),
        ]).get()
        let migration = folder.migrations[0]
        #expect(migration.transactional == false)
        #expect(migration.upSQL == "-- schemagate: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n")
        #expect(migration.downSQL == "DROP INDEX i;")
        #expect(migration.checksum == Checksum.sha256(up))
    }

    @Test func invalidUTF8() {
        let result = MigrationFolder.parse(path: "m", entries: [.init(name: "1_a.up.sql", bytes: [0x53, 0xff, 0x3b])])
        guard case .failure(let error) = result else { Issue.record("accepted invalid UTF-8"); return }
        #expect(error.problems == [.invalidUTF8(file: "m/1_a.up.sql")])
    }

    @Test func theHeadlineCountsTheOtherProblems() {
        guard case .failure(let error) = parse(["x.sql": "", "y.sql": "", "1_a.up.sql": "SELECT 1;"]) else { return }
        #expect(error.description.hasSuffix("(and 1 more problem; run `schemagate validate`)"))
    }
}
