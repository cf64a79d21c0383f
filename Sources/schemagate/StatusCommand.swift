import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore

/// `schemagate status`: asks a running daemon. Exit 0 ready, 3 not ready, 4 failed, 1 no daemon.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Ask a running daemon how far it is: exit 0 ready, 3 not ready, 4 failed, 1 no daemon answered."
    )

    @OptionGroup var socket: SocketOptions

    @Flag(help: "Print the daemon's JSON as it is (for scripts).")
    var json = false

    func run() async throws {
        let client = try socket.client()
        let answer = try await client.get("/status")
        let status = try client.decode(answer)
        if json {
            StandardStreams.output(Array(answer.body))
        } else {
            print(StatusView(status: status, colour: StatusView.terminalWantsColour).text)
        }
        let code = StatusAnswer.exitCode(status)
        if code != .success { throw QuietExit(code) }
    }
}
