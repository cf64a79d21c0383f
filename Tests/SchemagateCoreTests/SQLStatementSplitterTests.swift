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

    @Test func commentOnlyTextHasNoStatements() {
        #expect(texts("-- a\n/* b */\n  ;  ;\n").isEmpty)
    }
}
