@testable import SchemagateCore
import Testing

@Suite("SQL statement splitting, as psql does it")
struct SQLStatementSplitterTests {
    func texts(_ sql: String) -> [String] { SQLStatementSplitter.split(sql).map(\.text) }

    @Test func splitsAtTopLevelSemicolons() {
        #expect(texts("SELECT 1; SELECT 2;\nSELECT 3") == ["SELECT 1", "SELECT 2", "SELECT 3"])
    }

    @Test func quotesAndCommentsHideSemicolons() {
        #expect(texts("SELECT 'a;b', \"x;y\" FROM t; -- c;d\nSELECT /* e; /* nested; */ f; */ 2;") ==
                ["SELECT 'a;b', \"x;y\" FROM t", "-- c;d\nSELECT /* e; /* nested; */ f; */ 2"])
        #expect(texts("SELECT 'it''s; fine'; SELECT E'back\\'slash;'; SELECT 3") ==
                ["SELECT 'it''s; fine'", "SELECT E'back\\'slash;'", "SELECT 3"])
    }

    @Test func dollarQuotesHideSemicolons() {
        let function = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql"
        #expect(texts(function + "; SELECT $$a;b$$; PREPARE p AS SELECT $1; SELECT 2") ==
                [function, "SELECT $$a;b$$", "PREPARE p AS SELECT $1", "SELECT 2"])
    }

    @Test func linesAndKeywords() {
        let statements = SQLStatementSplitter.split("-- header\n\nCREATE TABLE a (id int);\n\n/* c */ commit;\n")
        #expect(statements.map(\.line) == [3, 5])
        #expect(statements.map(\.keyword) == ["CREATE", "COMMIT"])
    }

    @Test func standardSQLFunctionBodiesStayWhole() {
        let function = "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN a ELSE 0 END; SELECT a + b; END"
        #expect(texts(function + "; SELECT 1") == [function, "SELECT 1"])
        #expect(SQLStatementSplitter.split(function + ";").map(\.keyword) == ["CREATE"])
    }

    /// PostgreSQL nests block comments: the keyword is the first word after the whole comment.
    @Test func nestedBlockCommentsHideTheirWholeText() {
        #expect(SQLStatementSplitter.split("/* a /* b */ c */ COMMIT;").map(\.keyword) == ["COMMIT"])
        #expect(SQLStatementSplitter.split("/* a /* b */ COMMIT */ SELECT 1;").map(\.keyword) == ["SELECT"])
        #expect(texts("SELECT 1 /*/ ; */ ; SELECT 2 */ 3") == ["SELECT 1 /*/ ; */", "SELECT 2 */ 3"])
    }

    /// psql does not end a statement at a semicolon inside parentheses (a rule's action list).
    @Test func parenthesesHideSemicolons() {
        let rule = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))"
        #expect(texts(rule + "; SELECT 1") == [rule, "SELECT 1"])
        #expect(texts("SELECT 1); SELECT 2") == ["SELECT 1)", "SELECT 2"])
    }

    /// Like psql, BEGIN … END is counted only in CREATE [OR REPLACE] FUNCTION/PROCEDURE, outside
    /// parentheses, and every BEGIN counts there (psql does not look for ATOMIC).
    @Test func beginIsCountedAsPsqlCountsIt() {
        #expect(texts("SELECT x AS begin, atomic FROM t; SELECT 2") == ["SELECT x AS begin, atomic FROM t", "SELECT 2"])
        #expect(texts("CREATE FUNCTION begin() RETURNS int LANGUAGE sql RETURN 1; SELECT 2 END; SELECT 3")
                == ["CREATE FUNCTION begin() RETURNS int LANGUAGE sql RETURN 1; SELECT 2 END", "SELECT 3"])
        #expect(texts("CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql RETURN 1; SELECT 2")
                == ["CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql RETURN 1", "SELECT 2"])
        let procedure = "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END"
        #expect(texts(procedure + "; SELECT 1") == [procedure, "SELECT 1"])
    }

    /// Token boundaries as psql draws them: `$` belongs to an identifier it follows, a number
    /// does not swallow a following `$$`, and `x$E'…'` is an identifier and a plain string.
    @Test func tokenBoundariesDecideWhatIsQuoted() {
        #expect(texts("SELECT 1$$a;b$$; SELECT 2") == ["SELECT 1$$a;b$$", "SELECT 2"])
        #expect(texts("SELECT x$$abc$; SELECT 4; $abc$") == ["SELECT x$$abc$", "SELECT 4", "$abc$"])
        #expect(texts("SELECT x$E'\\'; SELECT 5") == ["SELECT x$E'\\'", "SELECT 5"])
        #expect(texts("SELECT U&'\\'; SELECT 6") == ["SELECT U&'\\'", "SELECT 6"])
        #expect(texts("SELECT 1e--x; SELECT 7") == ["SELECT 1e--x", "SELECT 7"])
        #expect(texts("SELECT 1e$$; SELECT 8; $$") == ["SELECT 1e$$", "SELECT 8", "$$"])
        #expect(texts("SELECT 1xE'\\'; SELECT 9") == ["SELECT 1xE'\\'", "SELECT 9"])
    }

    @Test func aLastLineCommentLosesItsTrailingSpaces() {
        #expect(texts("SELECT 1 -- c  \n;") == ["SELECT 1 -- c"])
    }

    /// A comment left open runs to the end, as in psql; it is sent, so the server reports it.
    @Test func unterminatedCommentIsSentNotDropped() {
        #expect(texts("SELECT 1; /* open") == ["SELECT 1", "/* open"])
    }

    @Test func commentOnlyTextHasNoStatements() {
        #expect(texts("-- a\n/* b */\n  ;  ;\n").isEmpty)
    }

    /// What may follow a migration's text in the same round trip: only text that ends outside
    /// every quote, comment, parenthesis and function body, with or without its last semicolon.
    @Test func aTextEndsAtAStatementBoundaryOnlyOutsideQuotesCommentsAndBodies() {
        for closed in ["SELECT 1;", "SELECT 1", "SELECT 1; -- done", "SELECT 1 -- no newline", "", "-- only a comment",
                       "SELECT 'a;b' /* c */", "DO $$ BEGIN NULL; END $$;\n", "CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY t)",
                       "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END"] {
            #expect(SQLStatementSplitter.endsAtStatementBoundary(closed), "\(closed)")
        }
        for open in ["SELECT 'open", "SELECT \"open", "SELECT E'\\'", "SELECT 1; /* open", "/* a /* b */ still open",
                     "DO $$ BEGIN NULL; END", "DO $body$ x $$", "SELECT (1", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;"] {
            #expect(!SQLStatementSplitter.endsAtStatementBoundary(open), "\(open)")
        }
    }
}
