import FoundationEssentials
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import SchemagateCore

/// Asks a daemon's status endpoints over its Unix socket (or `--http`), with SwiftNIO's HTTP/1
/// codec: one GET per connection, the whole answer read before it returns.
struct StatusClient: Sendable {
    enum Endpoint: Sendable, CustomStringConvertible {
        case socket(String)
        case http(ListenAddress)

        var description: String {
            switch self {
            case .socket(let path): return path
            case .http(let address): return "http://\(address)"
            }
        }
    }

    struct Answer: Sendable {
        let code: Int
        let body: [UInt8]
    }

    let endpoint: Endpoint

    /// GETs `path`; throws `CommandFailure(.noDaemon)` when nothing answers.
    func get(_ path: String) async throws -> Answer {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.seconds(5))
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
            }
        }
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            switch endpoint {
            case .socket(let socketPath):
                channel = try await bootstrap.connect(unixDomainSocketPath: socketPath, channelInitializer: initializer)
            case .http(let address):
                channel = try await bootstrap.connect(host: address.host, port: address.port, channelInitializer: initializer)
            }
        } catch {
            throw CommandFailure(.noDaemon, "no daemon answered on \(endpoint): \(Self.reason(error)); is `schemagate daemon` running with this --socket?")
        }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: "schemagate")
                headers.add(name: "Connection", value: "close")
                // Head and end in one write (one flush): the daemon answers a GET as soon as its head
                // is in and may close before a separate end is written, and that second write's
                // "I/O on closed channel" must not hide an answer that is already on its way.
                var writeError: (any Error)?
                do {
                    try await outbound.write(contentsOf: [.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)), .end(nil)])
                } catch {
                    writeError = error
                }
                var code = 0
                var body = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let head): code = Int(head.status.code)
                    case .body(var chunk): body.writeBuffer(&chunk)
                    case .end: return Answer(code: code, body: Array(buffer: body))
                    }
                }
                if let writeError { throw writeError }
                throw CommandFailure(.noDaemon, "the daemon on \(endpoint) closed the connection before answering (stopping?)")
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.noDaemon, "the daemon on \(endpoint) went away: \(Self.reason(error))")
        }
    }

    /// GETs a status document (from `/status` or `/wait`).
    func status(_ path: String) async throws -> (code: Int, status: DaemonStatus) {
        let answer = try await get(path)
        return (answer.code, try decode(answer))
    }

    func decode(_ answer: Answer) throws -> DaemonStatus {
        do {
            return try DaemonStatus.decoder().decode(DaemonStatus.self, from: Data(answer.body))
        } catch {
            let text = String(decoding: answer.body.prefix(200), as: UTF8.self).trimmingWhitespace()
            throw CommandFailure(.noDaemon, "\(endpoint) answered \(answer.code) without a status (\(text)); is it a schemagate daemon?")
        }
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}
