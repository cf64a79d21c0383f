import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateCore
import SchemagateDaemon

/// Where `status` and `wait` find the daemon: `--socket`, `--http`, `$SCHEMAGATE_SOCKET`,
/// `$RUNTIME_DIRECTORY/schemagate.sock`, or the one socket under `/run/schemagate/*/`.
struct SocketOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The daemon's status socket (default: $RUNTIME_DIRECTORY/schemagate.sock, or the only /run/schemagate/*/schemagate.sock).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Ask the daemon's TCP listener instead (its --http).", valueName: "addr:port"))
    var http: String?

    /// `$RUNTIME_DIRECTORY/schemagate.sock`.
    static var runtimeDirectorySocket: String? { runtimeDirectoryFile("schemagate.sock") }

    /// Where the units put instances' sockets: `/run/schemagate/<instance>/schemagate.sock`.
    static let unitSocketDirectory = "/run/schemagate"

    func client() throws -> StatusClient {
        if let text = http ?? Environment.value(forOption: "http") {
            do {
                return StatusClient(endpoint: .http(try ListenAddress.parse(text)))
            } catch {
                throw CommandFailure(.usage, error.description)
            }
        }
        if let path = socket ?? Environment.value(forOption: "socket") ?? Self.runtimeDirectorySocket {
            return StatusClient(endpoint: .socket(path))
        }
        let instances = ((try? FileManager.default.contentsOfDirectory(atPath: Self.unitSocketDirectory)) ?? [])
            .map { "\(Self.unitSocketDirectory)/\($0)/schemagate.sock" }
            .filter { FileManager.default.fileExists(atPath: $0) }
            .sorted()
        switch instances.count {
        case 0:
            throw CommandFailure(.noDaemon, "no daemon socket found under \(Self.unitSocketDirectory); pass --socket PATH")
        case 1:
            return StatusClient(endpoint: .socket(instances[0]))
        default:
            throw CommandFailure(.usage, "several daemons run here (\(instances.joined(separator: ", "))); pick one with --socket")
        }
    }
}
