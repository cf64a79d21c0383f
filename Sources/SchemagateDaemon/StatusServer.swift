import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import SchemagateCore
import ServiceLifecycle
import Synchronization

/// Serves the status endpoints over the Unix socket (and over TCP with `--http`), with Hummingbird.
/// `listening()` returns once every listener is bound and the socket's mode is set, so the sidecar
/// reports nothing before the socket answers. Listed first in the service group, it is shut down
/// last: `/status` keeps answering while the sidecar rolls back and releases the lock.
public struct StatusServer: Service {
    public struct Configuration: Sendable {
        public var socket: StatusSocketPath?
        public var http: ListenAddress?
        /// A connection that sends nothing for this long (a half-sent request included) is closed.
        public var idleTimeout: Duration

        public init(socket: StatusSocketPath?, http: ListenAddress?, idleTimeout: Duration = .seconds(10)) {
            self.socket = socket
            self.http = http
            self.idleTimeout = idleTimeout
        }
    }

    let configuration: Configuration
    public let board: StatusBoard
    public let metrics: DaemonMetrics
    let logger: Logger
    private let bound: BindSignal

    public init(configuration: Configuration, board: StatusBoard, metrics: DaemonMetrics, logger: Logger) {
        self.configuration = configuration
        self.board = board
        self.metrics = metrics
        self.logger = logger
        self.bound = BindSignal(listeners: (configuration.socket == nil ? 0 : 1) + (configuration.http == nil ? 0 : 1))
    }

    /// Returns once every listener is bound; throws when one could not be.
    public func listening() async throws {
        try await bound.wait()
    }

    public func run() async throws {
        defer { configuration.socket?.release() }
        let loops = Self.loops
        let router = StatusRoutes.router(board: board, metrics: metrics)
        var http1 = HTTP1Channel.Configuration(idleTimeout: .init(configuration.idleTimeout))
        http1.httpDecoder = .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 100)
        var applications: [(Application<RouterResponder<BasicRequestContext>>, String)] = []
        if let socket = configuration.socket {
            let application = Application(
                router: router, server: .http1(configuration: http1),
                configuration: .init(address: .unixDomainSocket(path: socket.path)),
                onServerRunning: { [bound] _ in
                    do {
                        try socket.secure()
                        bound.arrive()
                    } catch {
                        bound.fail(SidecarFailure(exitCode: SchemagateExitCode.usage.rawValue, message: "\(error)"))
                    }
                },
                eventLoopGroupProvider: .shared(loops), logger: quietLogger
            )
            applications.append((application, "--socket '\(socket.path)'"))
        }
        if let address = configuration.http {
            let application = Application(
                router: router, server: .http1(configuration: http1),
                configuration: .init(address: .hostname(address.host, port: address.port)),
                onServerRunning: { [bound, logger] channel in
                    logger.info("status endpoints also on http://\(channel.localAddress.map { "\($0.ipAddress ?? address.host):\($0.port ?? address.port)" } ?? address.description)")
                    bound.arrive()
                },
                eventLoopGroupProvider: .shared(loops), logger: quietLogger
            )
            applications.append((application, "--http '\(address)'"))
        }
        bound.arriveIfNone()
        guard !applications.isEmpty else {
            // Nothing to serve: stay until the group shuts down, so the group's order holds.
            try? await gracefulShutdown()
            return
        }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for (application, option) in applications {
                    group.addTask {
                        do {
                            try await application.run()
                        } catch {
                            throw SidecarFailure(exitCode: SchemagateExitCode.usage.rawValue, message: "\(option): cannot listen: \(error)")
                        }
                    }
                }
            }
        } catch let failure as SidecarFailure {
            bound.fail(failure)
            throw failure
        }
    }

    /// One event loop thread is plenty for a handful of read-only endpoints; it lives as long as
    /// the process.
    private static let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private var quietLogger: Logger {
        var logger = self.logger
        logger.logLevel = max(logger.logLevel, .warning)
        return logger
    }
}

/// Counts listeners as they bind; `wait()` returns when all have (or throws the first failure).
final class BindSignal: Sendable {
    private struct State {
        var remaining: Int
        var outcome: Result<Void, SidecarFailure>?
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    private let state: Mutex<State>

    init(listeners: Int) {
        state = Mutex(State(remaining: listeners))
    }

    func arrive() {
        settle { state in
            state.remaining -= 1
            return state.remaining <= 0 ? .success(()) : nil
        }
    }

    func arriveIfNone() {
        settle { $0.remaining <= 0 ? .success(()) : nil }
    }

    func fail(_ failure: SidecarFailure) {
        settle { _ in .failure(failure) }
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<Void, SidecarFailure>? in
                if state.outcome == nil { state.waiters.append(continuation) }
                return state.outcome
            }
            if let outcome { continuation.resume(with: outcome.mapError { $0 as any Error }) }
        }
    }

    private func settle(_ decide: (inout State) -> Result<Void, SidecarFailure>?) {
        let (outcome, waiters) = state.withLock { state -> (Result<Void, SidecarFailure>?, [CheckedContinuation<Void, any Error>]) in
            guard state.outcome == nil, let outcome = decide(&state) else { return (nil, []) }
            state.outcome = outcome
            defer { state.waiters = [] }
            return (outcome, state.waiters)
        }
        guard let outcome else { return }
        for waiter in waiters { waiter.resume(with: outcome.mapError { $0 as any Error }) }
    }
}
