import Foundation
import PostgresHarness
import SchemagateCore
import Testing

/// The splitter against psql itself: for each file of a corpus of tricky SQL, the statements
/// schemagate finds are the ones psql sends. psql's single-step mode prints every query it is
/// about to send between two banner lines, so the test reads psql's split off its output and finds
/// each query in the file (psql leaves out the blank lines and `--` comments before a statement,
/// and blank lines outside quotes). The corpus has no statement made of comments alone: psql sends
/// those, schemagate skips them.
@Suite("splitting as psql splits")
struct PsqlSplittingTests {
    struct CorpusFile: Sendable, CustomTestStringConvertible {
        let name: String
        let sql: String
        var testDescription: String { name }
    }

    static let corpus: [CorpusFile] = [
        CorpusFile(name: "nested comments", sql: #"""
        /* a /* b */ c */ COMMIT;
        /* a /* b */ COMMIT */ SELECT 1;
        SELECT 1 /*/ ; */ ; SELECT 2 /* x /* y; */ z; */ + 3;
        SELECT 4 +/* op; */ 5; SELECT 6 */ 7;
        /**/ SELECT 8; /***/ SELECT 9; /* ** / * ; */ SELECT 10;
        /* a ' quote and a $$ dollar; */ SELECT 11;
        """#),
        CorpusFile(name: "dollar quotes", sql: #"""
        SELECT $$a;b$$;
        SELECT $tag$ $$ ; $tag$;
        SELECT $a$ $b$ ; $a$, $_x1$ ; $_x1$;
        SELECT $é$ ; $é$;
        PREPARE p(int) AS SELECT $1; SELECT 1$$a;b$$;
        SELECT x$$abc$; SELECT 4; SELECT $abc$ ; $abc$;
        SELECT $1$ ; SELECT 2;
        SELECT $$ $ $x $1 $$;
        SELECT $q$ multi
        line; with 'quotes' and "double" and -- dashes
        $q$;
        """#),
        CorpusFile(name: "strings", sql: #"""
        SELECT 'it''s; fine', 'a -- b', 'c /* d';
        SELECT E'back\'slash; still', e'\\'; SELECT 'plain\'; SELECT 2;
        SELECT B'1;0', X'AB;', N'n;', U&'\'; SELECT 3;
        SELECT x$E'\'; SELECT 5;
        SELECT 1e'\'; SELECT 6; SELECT 1xE'\'; SELECT 1e$$; SELECT 8;
        SELECT E'a'
        '\'; SELECT 7;
        SELECT 'two
        lines; in one string';
        """#),
        CorpusFile(name: "quoted identifiers", sql: #"""
        CREATE TABLE "semi;colon" ("dash--dash" int, "quote""d;" int, "/*" int);
        SELECT "dash--dash", "quote""d;", "/*" FROM "semi;colon";
        SELECT U&"a;b" FROM "semi;colon";
        """#),
        CorpusFile(name: "DO bodies", sql: #"""
        DO $$
        BEGIN
          -- a comment with ; and ' and "
          /* block ; ' */
          RAISE NOTICE 'x;y';
          PERFORM 1;
        END
        $$;
        DO $body$ BEGIN PERFORM $$;$$; END $body$ LANGUAGE plpgsql;
        """#),
        CorpusFile(name: "BEGIN ATOMIC", sql: #"""
        CREATE TABLE t (a int);
        CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql
        BEGIN ATOMIC
          SELECT CASE WHEN a > 0 THEN a ELSE 0 END;
          SELECT a + b;
        END;
        CREATE OR REPLACE PROCEDURE ins() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); INSERT INTO t VALUES ((CASE WHEN true THEN 1 END)); END;
        create or replace function lower_case() returns int language sql begin atomic; select 1; end;
        CREATE FUNCTION begin() RETURNS int LANGUAGE sql RETURN 1; SELECT 2 END;
        SELECT a AS begin, a AS atomic FROM t;
        CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql RETURN 1;
        BEGIN; END;
        """#),
        CorpusFile(name: "parentheses", sql: #"""
        CREATE TABLE a (x int); CREATE TABLE b (x int); CREATE TABLE t (x int);
        CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));
        SELECT (1; 2);
        SELECT 1); SELECT 2;
        """#),
        CorpusFile(name: "comments and a last statement without a semicolon", sql: #"""
        -- leading comment; with a semicolon

        SELECT 1; -- trailing; comment
        /* lead */ SELECT 2

          -- inner comment ;
          , 3;
        SELECT 1e--2; SELECT 4 -- a comment
        ;
        SELECT 'no semicolon at the end' -- a comment; to the end
        """#),
    ]

    @Test(arguments: corpus)
    func statementsAreTheOnesPsqlSends(_ file: CorpusFile) async throws {
        let database = try await TestDatabase()
        let queries = try await psqlQueries(for: file.sql, database: database)
        let psql = try #require(Self.statements(of: file.sql, sentAs: queries))
        #expect(!psql.isEmpty)
        #expect(SQLStatementSplitter.split(file.sql).map(\.text) == psql)
    }

    private static let stepStart = "***(Single step mode: verify command)*******************************************\n"
    private static let stepEnd = "\n***(press return to proceed or enter x and return to cancel)********************\n"

    /// The queries psql sends for `sql`, in order. stdin is /dev/null, which answers each
    /// single-step prompt with "go on"; query results go to /dev/null and errors do not stop psql.
    private func psqlQueries(for sql: String, database: TestDatabase) async throws -> [String] {
        let path = NSTemporaryDirectory() + "schemagate-split-" + UUID().uuidString.prefix(8) + ".sql"
        try sql.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try await ProcessRunner.run([
            "/usr/bin/psql", "-X", "-q", "-s", "-v", "ON_ERROR_STOP=0", "-o", "/dev/null",
            "-h", database.server.socketDirectory, "-p", String(database.server.port), "-U", "postgres",
            "-d", database.name, "-f", path,
        ], environment: baseEnvironment.merging(["LC_ALL": "C"]) { $1 })
        #expect(output.status == 0, "\(output.stderr)")
        let steps = output.stdout.components(separatedBy: Self.stepStart)
        #expect(steps.first == "", "unexpected psql output: \(output.stdout)")
        return steps.dropFirst().map { step in
            #expect(step.hasSuffix(Self.stepEnd), "unexpected psql output: \(step)")
            return String(step.dropLast(Self.stepEnd.count))
        }
    }

    /// psql's statements in the splitter's form: the file's text from the end of the previous one
    /// to the terminating semicolon, without it, trimmed. nil (with the reason recorded) when a
    /// query is not found where psql must have read it. A last query ending in `;` is taken as
    /// terminated by it, so no corpus file ends inside an open quote.
    private static func statements(of sql: String, sentAs queries: [String]) -> [String]? {
        let file = Array(sql.unicodeScalars)
        var statements: [String] = []
        var previousEnd = 0
        for query in queries.map({ Array($0.unicodeScalars) }) {
            var index = previousEnd
            // psql keeps nothing of the whitespace and `--` comments before a statement.
            while index < file.count {
                if [" ", "\t", "\n"].contains(file[index]) {
                    index += 1
                } else if file[index...].starts(with: ["-", "-"]) {
                    while index < file.count && file[index] != "\n" { index += 1 }
                } else {
                    break
                }
            }
            var matched = 0
            while matched < query.count {
                if index < file.count && file[index] == query[matched] {
                    index += 1
                    matched += 1
                } else if index < file.count && file[index] == "\n" && file[index - 1] == "\n" {
                    index += 1 // a blank line, which psql drops outside quotes
                } else {
                    let found = String(String.UnicodeScalarView(file[previousEnd..<min(file.count, index + 20)]))
                    Issue.record("psql's query \(statements.count + 1) is not in the file where it should be: \(String(String.UnicodeScalarView(query))) vs \(found)")
                    return nil
                }
            }
            let end = query.last == ";" ? index - 1 : index
            statements.append(String(String.UnicodeScalarView(file[previousEnd..<end])).trimmingCharacters(in: .whitespacesAndNewlines))
            previousEnd = index
        }
        return statements
    }
}
