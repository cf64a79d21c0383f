import ArgumentParser
import Foundation
@testable import schemagate
import Testing

/// `daemon` and `migrate` read their plain arguments without ArgumentParser (`DirectArguments`):
/// these hold that reading to ArgumentParser's, option for option, so that the two can never mean
/// different things, and check that everything else is left to ArgumentParser.
@Suite("direct arguments: daemon and migrate read as ArgumentParser reads them")
struct DirectArgumentsTests {
    /// The long names in a command's help (its options section), without `--help`.
    static func helpNames(_ command: ParsableCommand.Type) -> Set<String> {
        let help = command.helpMessage(columns: 10_000)
        let options = help.components(separatedBy: "OPTIONS:").last!
        var names = Set<String>()
        for line in options.split(separator: "\n") {
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ",")) }
            for word in words.prefix(2) where word.hasPrefix("--") {
                names.insert(String(word.dropFirst(2)))
            }
        }
        names.remove("help")
        return names
    }

    /// Everything in a command value, property wrappers' states included: a wrapper the direct
    /// reading forgot to set shows as an unparsed definition and differs.
    static func contents(_ value: Any) -> String {
        var text = ""
        dump(value, to: &text)
        return text
    }

    /// Every option given, each with its own value, in `--option value` form and in `--option=value`
    /// form, with every flag; and nothing given.
    static func samples<Command: DirectlyParsable>(_: Command.Type) -> [[String]] {
        let pairs = Command.directOptions.sorted().enumerated().map { ["--\($1)", "value\($0)"] }
        let flags = Command.directFlags.sorted().map { "--\($0)" }
        let joined = pairs.map { "\($0[0])=\($0[1])" }
        return [[], pairs.flatMap { $0 } + flags, joined, flags + pairs.reversed().flatMap { $0 }, ["--migrations", "db/migrations", "--target=12"]]
    }

    @Test(arguments: [("daemon", DaemonCommand.self as any DirectlyParsable.Type), ("migrate", MigrateCommand.self)])
    func theDirectNamesAreExactlyTheCommandsOptions(name: String, command: any DirectlyParsable.Type) {
        #expect(command.directOptions.union(command.directFlags) == Self.helpNames(command), "\(name)")
        #expect(command.directOptions.isDisjoint(with: command.directFlags))
    }

    @Test func daemonReadsEveryOptionAsArgumentParserDoes() throws {
        for arguments in Self.samples(DaemonCommand.self) {
            let direct = try #require(DaemonCommand.direct(arguments[...]), "\(arguments)")
            let parsed = try DaemonCommand.parseAsRoot(arguments)
            #expect(Self.contents(direct) == Self.contents(parsed), "\(arguments)")
        }
    }

    @Test func migrateReadsEveryOptionAsArgumentParserDoes() throws {
        for arguments in Self.samples(MigrateCommand.self) {
            let direct = try #require(MigrateCommand.direct(arguments[...]), "\(arguments)")
            let parsed = try MigrateCommand.parseAsRoot(arguments)
            #expect(Self.contents(direct) == Self.contents(parsed), "\(arguments)")
        }
    }

    @Test func aSetValueIsNotADefinition() throws {
        let direct = try #require(MigrateCommand.direct(["--target", "3"]))
        #expect(direct.target.target == "3")
        #expect(direct.database.databaseURL == nil)
        #expect(!Self.contents(direct).contains("definition"))
    }

    /// What only ArgumentParser can answer: help, short flags, repeats, typos, values that look
    /// like options, missing values, positional arguments, the other command's options.
    @Test(arguments: [
        ["--help"], ["-h"], ["-v"], ["--verbose", "--verbose"], ["--verbose=yes"], ["--target"], ["--target", "-1"],
        ["--target=-1"], ["--target="], ["--target", ""], ["--target", "1", "--target", "2"], ["--tagret", "1"], ["extra"],
        ["--"], ["--socket", "/run/x.sock"], ["--wait-for-contract", "--version"],
    ])
    func leavesEverythingElseToArgumentParser(arguments: [String]) {
        #expect(MigrateCommand.direct(arguments[...]) == nil)
    }

    @Test func daemonOnlyOptionsAreDaemons() throws {
        let direct = try #require(DaemonCommand.direct(["--socket", "/run/x.sock", "--http=127.0.0.1:8473"]))
        #expect(direct.socket == "/run/x.sock")
        #expect(direct.http == "127.0.0.1:8473")
        #expect(DaemonCommand.direct(["--wait-for-contract"]) == nil)
    }
}
