import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore

@main
struct Schemagate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemagate",
        abstract: "Brings a PostgreSQL schema to the version a release needs, safely, from every instance of a fleet at once.",
        discussion: """
        Every option also reads SCHEMAGATE_<OPTION> (e.g. SCHEMAGATE_DATABASE_URL); the connection \
        follows libpq's conventions (PGHOST, PGSERVICE, .pgpass, multi-host URLs).

        Exit codes:
        \(SchemagateExitCode.helpTable)
        """,
        version: SchemagateVersion.current,
        subcommands: [
            DaemonCommand.self, MigrateCommand.self, PlanCommand.self, HistoryCommand.self, ValidateCommand.self,
            NewCommand.self, ImportCommand.self, BaselineCommand.self, StatusCommand.self, WaitCommand.self, ReloadCommand.self, RollbackCommand.self, UnlockCommand.self, RepairCommand.self,
            FleetCommand.self,
        ]
    )

    /// The two start-up paths a fleet runs on every deploy, built from their plain arguments
    /// without reflection (`DirectArguments`); anything else goes through ArgumentParser.
    static let directPaths: [String: any DirectlyParsable.Type] = [
        "daemon": DaemonCommand.self,
        "migrate": MigrateCommand.self,
    ]

    /// Runs the command; prints one line and exits with the documented code on failure. Usage
    /// errors exit 2 (ArgumentParser's own default would be 64).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `baseline --version N` is the operator's version number, not a request for ours:
        // parsed on its own, so that ArgumentParser's `--version` flag does not claim it.
        let baseline = arguments.first == BaselineCommand.configuration.commandName
        let root: ParsableCommand.Type = baseline ? BaselineCommand.self : Schemagate.self
        do {
            if let name = arguments.first, let path = directPaths[name], var command = path.direct(arguments.dropFirst()) {
                try await command.run()
                return
            }
            var command = try baseline ? BaselineCommand.parseAsRoot(Array(arguments.dropFirst())) : parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let quiet as QuietExit {
            Glibc.exit(quiet.exitCode.rawValue)
        } catch let failure as CommandFailure {
            // One line, even when the server's message has several (stderr may be the journal).
            let line = failure.message.split(whereSeparator: \.isNewline).joined(separator: " ")
            StandardStreams.error("schemagate: \(line)\n")
            Glibc.exit(failure.exitCode.rawValue)
        } catch {
            let code = root.exitCode(for: error)
            if code == .success {
                root.exit(withError: error)
            }
            StandardStreams.error((root.fullMessage(for: error) + "\n"))
            Glibc.exit(code == .validationFailure || code.rawValue == 64 ? SchemagateExitCode.usage.rawValue : code.rawValue)
        }
    }
}
