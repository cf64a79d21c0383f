@testable import SchemagateCore
import Testing

@Suite("directives, durations, exit codes")
struct DirectiveAndDurationTests {
    @Test func directives() throws {
        #expect(try MigrationDirectives.parse(firstLineOf: "-- schemagate: no-transaction\nX").get().transactional == false)
        #expect(try MigrationDirectives.parse(firstLineOf: "--schemagate:no-transaction").get().transactional == false)
        #expect(try MigrationDirectives.parse(firstLineOf: "SELECT 1; -- schemagate: no-transaction").get().transactional)
        #expect(try MigrationDirectives.parse(firstLineOf: "\n-- schemagate: no-transaction").get().transactional)
        #expect(MigrationDirectives.misplacedLine(in: "\n-- schemagate: no-transaction") == 2)
        #expect(MigrationDirectives.misplacedLine(in: "-- schemagate: no-transaction\nSELECT 1; -- schemagate, said twice") == nil)
        guard case .failure(let problem) = MigrationDirectives.parse(firstLineOf: "-- schemagate: no-transaction, turbo") else {
            Issue.record("accepted an unknown directive"); return
        }
        #expect(problem.directive == "turbo")
    }

    @Test func durations() {
        #expect(DurationParser.parse("500ms") == .milliseconds(500))
        #expect(DurationParser.parse("30s") == .seconds(30))
        #expect(DurationParser.parse("5m") == .seconds(300))
        #expect(DurationParser.parse("1h") == .seconds(3600))
        #expect(DurationParser.parse("2") == .seconds(2))
        #expect(DurationParser.parse("1.5s") == .milliseconds(1500))
        #expect(DurationParser.parse("soon") == nil)
        #expect(DurationParser.parse("5 parsecs") == nil)
        #expect(DurationParser.parse("-1s") == nil)
        #expect(DurationParser.format(.milliseconds(250)) == "250ms")
        #expect(DurationParser.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationParser.format(.seconds(300)) == "5m")
        #expect(DurationParser.format(.seconds(90)) == "1m30s")
    }

    @Test func exitCodesAreTheContract() {
        #expect(SchemagateExitCode.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 65, 69, 70, 73, 75, 77, 78])
    }
}
