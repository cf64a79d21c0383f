import CLibPQ
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. libpq is blocking and a `PGconn` must not be used from two threads at
/// once, so every call runs on this connection's own serial queue: the caller's task suspends, the
/// cooperative pool stays free, and cancelling the task sends a cancel request to the server.
public final class Connection: @unchecked Sendable {
    // @unchecked: `handle` is only touched on `queue`; `canceller` is documented thread-safe.
    private let handle: OpaquePointer
    private let queue: DispatchQueue
    private let canceller: Canceller
    private var closed = false

    /// The server process serving this connection (`pg_backend_pid()`).
    public let backendPID: Int32

    private init(handle: OpaquePointer, queue: DispatchQueue) {
        self.handle = handle
        self.queue = queue
        self.canceller = Canceller(PQgetCancel(handle))
        self.backendPID = PQbackendPID(handle)
    }

    deinit {
        if !closed { PQfinish(handle) }
    }

    /// Connects with libpq's own rules: the connection string may be a URI or conninfo, and
    /// PGHOST, PGSERVICE, .pgpass, multi-host lists and `target_session_attrs` all apply.
    public static func connect(
        _ connectionString: ConnectionString,
        applicationName: String = "schemagate",
        timeout: Duration = .seconds(15)
    ) async throws -> Connection {
        let queue = DispatchQueue(label: "schemagate.pq.connection")
        let abandoned = Atomic<Bool>(false)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result {
                        let handle = try ConnectAttempt(
                            connectionString: connectionString.rawValue,
                            applicationName: applicationName,
                            timeout: timeout,
                            abandoned: { abandoned.load(ordering: .relaxed) }
                        ).run()
                        return Connection(handle: handle, queue: queue)
                    })
                }
            }
        } onCancel: {
            abandoned.store(true, ordering: .relaxed)
        }
    }

    /// Runs one statement with parameters passed out of line (`$1`, `$2`, …), never spliced into
    /// the text. Values are in PostgreSQL's text format; `nil` is SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> QueryResult {
        try await onQueue { handle in
            let result = withCStrings(parameters) { values in
                PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
            return try self.collect(result)
        }
    }

    /// Sends several statements at once in libpq's pipeline mode, so that they cost one round trip,
    /// and returns their results in order. The server runs them one after another, each a
    /// statement of its own (with its own snapshot); after a failure it skips the rest, and the
    /// first error is thrown.
    @discardableResult
    public func pipeline(_ statements: [(sql: String, parameters: [String?])]) async throws -> [QueryResult] {
        try await onQueue { handle in
            guard PQenterPipelineMode(handle) == 1 else { throw self.lastError }
            defer { PQexitPipelineMode(handle) }
            for statement in statements {
                let sent = withCStrings(statement.parameters) { values in
                    PQsendQueryParams(handle, statement.sql, Int32(statement.parameters.count), nil, values, nil, nil, 0)
                }
                guard sent == 1 else { throw self.lastError }
            }
            guard PQpipelineSync(handle) == 1 else { throw self.lastError }
            var results: [QueryResult] = []
            var failure: (any Error)?
            // Each statement's results end with a NULL; then comes the sync point.
            for _ in statements {
                while let result = PQgetResult(handle) {
                    if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                        PQclear(result)
                        continue
                    }
                    do {
                        results.append(try self.collect(result))
                    } catch {
                        failure = failure ?? error
                    }
                }
            }
            guard let sync = PQgetResult(handle) else {
                throw failure ?? PQError(kind: .connectionLost, message: self.lastErrorMessage)
            }
            PQclear(sync)
            if let failure { throw failure }
            return results
        }
    }

    /// Runs text that may hold several statements (a migration file), with the simple query
    /// protocol, as psql would send it. Returns the last statement's result.
    @discardableResult
    public func execute(_ sql: String) async throws -> QueryResult {
        try await onQueue { handle in
            try self.collect(sql.withCString { PQexec(handle, $0) })
        }
    }

    /// Runs a text of several statements in one round trip, as `execute` does, but reads the
    /// server's answer statement by statement: a failure then carries how many statements
    /// completed before it (`PQError.completedStatements`), so that the caller can name the
    /// failing statement's line even when the server gave no error position.
    public func executeScript(_ sql: String) async throws {
        try await onQueue { handle in
            try self.runScript(handle, sql, epilogue: false)
        }
    }

    /// Runs `sql` (text that ends at a statement boundary, a migration's) and then `epilogue`,
    /// statements of our own, in the same simple-query round trip. The epilogue's values are
    /// spelled out as literals quoted by libpq's `PQescapeLiteral`, since the simple protocol has
    /// no parameters; their text must hold `$` only as a parameter (`$1`, `$2`, …). The server
    /// parses the whole text before it runs any of it and skips the rest after a failure, so
    /// nothing of the epilogue runs after a failed statement. A failure carries, besides
    /// `completedStatements` of `sql`, whether it came from the epilogue (`inEpilogue`).
    public func executeScript(_ sql: String, epilogue: [(sql: String, parameters: [String?])]) async throws {
        try await onQueue { handle in
            // A statement of its own between the two parts: its result marks where `sql` ended.
            var text = sql + "\n;\nSELECT 1 AS \"\(Self.epilogueMarker)\";\n"
            for statement in epilogue {
                text += try self.spelledOut(handle, statement.sql, statement.parameters) + ";\n"
            }
            try self.runScript(handle, text, epilogue: true)
        }
    }

    /// The column name of the statement that separates a script from its epilogue.
    private static let epilogueMarker = "pq: end of script"

    private func runScript(_ handle: OpaquePointer, _ sql: String, epilogue: Bool) throws {
        // withCString lends the string's own bytes; the implicit conversion made a full copy
        // (`utf8CString`), 50 MB more at the peak for a 50 MB migration file.
        guard sql.withCString({ PQsendQuery(handle, $0) }) == 1 else { throw self.lastError }
        var completed = 0
        var inEpilogue = false
        var failure: PQError?
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            guard failure == nil else { continue }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK where epilogue && !inEpilogue && PQnfields(result) == 1
                && String(cString: PQfname(result, 0)) == Self.epilogueMarker:
                inEpilogue = true
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                if !inEpilogue { completed += 1 }
            case PGRES_EMPTY_QUERY:
                break
            case PGRES_COPY_IN, PGRES_COPY_OUT:
                // endCopy drains every remaining result itself.
                var error = self.endCopy(inbound: PQresultStatus(result) == PGRES_COPY_IN)
                error.completedStatements = completed
                throw error
            default:
                var error = self.failure(of: result)
                error.completedStatements = completed
                error.inEpilogue = inEpilogue
                failure = error
            }
        }
        if let failure { throw failure }
        if self.connectionBroken { throw PQError(kind: .connectionLost, message: self.lastErrorMessage) }
    }

    /// `sql` with each `$n` replaced by the n-th value as a literal (NULL for nil). Read as
    /// bytes: `$` and digits are ASCII, and a walk over characters cost more than the query.
    private func spelledOut(_ handle: OpaquePointer, _ sql: String, _ parameters: [String?]) throws -> String {
        let bytes = Array(sql.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + parameters.reduce(0) { $0 + ($1?.utf8.count ?? 4) + 2 })
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "$") else {
                out.append(bytes[index])
                index += 1
                continue
            }
            var end = index + 1
            var number = 0
            while end < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end]) {
                number = number * 10 + Int(bytes[end] - UInt8(ascii: "0"))
                end += 1
            }
            guard end > index + 1, number >= 1, number <= parameters.count else {
                preconditionFailure("`$` that is not a parameter in a statement of our own")
            }
            if let value = parameters[number - 1] {
                guard let quoted = PQescapeLiteral(handle, value, value.utf8.count) else { throw self.lastError }
                out.append(contentsOf: UnsafeBufferPointer(start: UnsafeRawPointer(quoted).assumingMemoryBound(to: UInt8.self), count: strlen(quoted)))
                PQfreemem(quoted)
            } else {
                out.append(contentsOf: "NULL".utf8)
            }
            index = end
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Waits up to `timeout` for a NOTIFY on a channel this connection LISTENs to.
    public func nextNotification(timeout: Duration) async throws -> Notification? {
        try await onQueue { handle in
            if let pending = try self.takeNotification() { return pending }
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let slice = min(deadline - ContinuousClock.now, .milliseconds(100))
                _ = waitForSocket(PQsocket(handle), events: Int16(POLLIN), timeout: slice)
                if let notification = try self.takeNotification() { return notification }
            }
            return nil
        }
    }

    /// Quotes an identifier with libpq's own function (doubling embedded quotes, checking encoding).
    public func escapeIdentifier(_ identifier: String) -> String {
        queue.sync {
            guard let escaped = PQescapeIdentifier(handle, identifier, identifier.utf8.count) else {
                preconditionFailure("PQescapeIdentifier failed: \(String(cString: PQerrorMessage(handle)))")
            }
            defer { PQfreemem(escaped) }
            return String(cString: escaped)
        }
    }

    /// A run-time parameter the server reported (`server_version`, `integer_datetimes`, …).
    public func parameterStatus(_ name: String) -> String? {
        queue.sync { PQparameterStatus(handle, name).map { String(cString: $0) } }
    }

    /// The server's version as a number (150018 for 15.18), from `PQserverVersion`.
    public var serverVersion: Int { queue.sync { Int(PQserverVersion(handle)) } }

    /// The file descriptor of the connection's socket, for address checks (not for I/O).
    public var socketDescriptor: Int32 { queue.sync { PQsocket(handle) } }

    /// Asks the server to cancel whatever this connection is running. Safe from any thread.
    public func cancel() { canceller.cancel() }

    /// Closes the connection. Later calls fail with `connectionLost`.
    public func close() {
        queue.sync {
            guard !closed else { return }
            closed = true
            PQfinish(handle)
        }
    }

    // MARK: - Internals

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        try Task.checkCancellation()
        let canceller = self.canceller
        // Set when this call's task is cancelled: a call still waiting in the queue then never
        // starts (PQcancel only reaches a statement the server is already running).
        let cancelled = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    guard !self.closed else {
                        continuation.resume(throwing: PQError(kind: .connectionLost, message: "connection is closed"))
                        return
                    }
                    guard !cancelled.isSet else {
                        continuation.resume(throwing: PQError(kind: .cancelled, message: "cancelled before it was sent"))
                        return
                    }
                    continuation.resume(with: Result { try body(self.handle) })
                }
            }
        } onCancel: {
            cancelled.set()
            canceller.cancel()
        }
    }

    private func collect(_ result: OpaquePointer?) throws -> QueryResult {
        guard let result else { throw lastError }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return QueryResult(result)
        case PGRES_COPY_IN, PGRES_COPY_OUT:
            throw endCopy(inbound: PQresultStatus(result) == PGRES_COPY_IN)
        default:
            throw failure(of: result)
        }
    }

    /// The error of a failed result, sorted into server error, lost connection or our own cancel.
    /// The server gives every error a SQLSTATE; a failed result without one is libpq's own
    /// ("server closed the connection unexpectedly", "lost synchronization"), which it can report
    /// before it marks the connection bad: the connection is unusable either way.
    private func failure(of result: OpaquePointer) -> PQError {
        var error = PQError(result: result, fallbackMessage: lastErrorMessage)
        if connectionBroken || error.sqlState == nil { error.kind = .connectionLost }
        if error.sqlState == .queryCanceled, canceller.wasRequested { error.kind = .cancelled }
        return error
    }

    /// `COPY … FROM STDIN` waits for data that only psql's input could give, and `COPY … TO
    /// STDOUT` streams rows nobody reads: end either at once, leave the connection usable, and
    /// say why, instead of failing later with an empty message.
    private func endCopy(inbound: Bool) -> PQError {
        let message = inbound
            ? "COPY … FROM STDIN needs data from psql's standard input, which a migration cannot give; use INSERT, or COPY FROM a file on the server"
            : "COPY … TO STDOUT sends rows to psql's standard output, which a migration does not have; remove it, or COPY TO a file on the server"
        if inbound {
            _ = PQputCopyEnd(handle, message)
        } else {
            var buffer: UnsafeMutablePointer<CChar>?
            while PQgetCopyData(handle, &buffer, 0) > 0 { PQfreemem(buffer) }
        }
        // Drain the results of the COPY and of anything after it in the same text.
        while let next = PQgetResult(handle) { PQclear(next) }
        if connectionBroken { return PQError(kind: .connectionLost, message: lastErrorMessage) }
        return PQError(kind: .server, sqlState: SQLState("0A000"), message: message)
    }

    private func takeNotification() throws -> Notification? {
        if PQconsumeInput(handle) == 0 {
            throw PQError(kind: .connectionLost, message: lastErrorMessage)
        }
        guard let notify = PQnotifies(handle) else { return nil }
        defer { PQfreemem(notify) }
        return Notification(
            channel: String(cString: notify.pointee.relname),
            payload: String(cString: notify.pointee.extra),
            senderPID: notify.pointee.be_pid
        )
    }

    private var connectionBroken: Bool { PQstatus(handle) == CONNECTION_BAD }

    /// libpq's last error, as lost connection or server error.
    private var lastError: PQError {
        PQError(kind: connectionBroken ? .connectionLost : .server, message: lastErrorMessage)
    }

    private var lastErrorMessage: String {
        String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines()
    }
}

/// A NOTIFY received on a LISTENing connection.
public struct Notification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    public let senderPID: Int32
}

/// One call's cancellation, seen by the queue before the call starts.
private final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Wraps `PGcancel`, which libpq allows to be used from any thread while the connection is busy.
private final class Canceller: @unchecked Sendable {
    // @unchecked: PQcancel is documented as safe to call from another thread; `requested` is atomic.
    private let handle: OpaquePointer?
    private let requested = Atomic<Bool>(false)

    init(_ handle: OpaquePointer?) { self.handle = handle }
    deinit { if let handle { PQfreeCancel(handle) } }

    var wasRequested: Bool { requested.load(ordering: .relaxed) }

    func cancel() {
        guard let handle else { return }
        requested.store(true, ordering: .relaxed)
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &buffer, Int32(buffer.count))
    }
}

/// Calls `body` with a C array of C strings (NULL entries for `nil`), valid only during the call.
func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let duplicates: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { duplicates.forEach { free($0) } }
    return body(duplicates.map { $0.map { UnsafePointer($0) } })
}

/// Waits for a socket to be ready, retrying on EINTR. Returns false on timeout.
func waitForSocket(_ socket: Int32, events: Int16, timeout: Duration) -> Bool {
    var descriptor = pollfd(fd: socket, events: events, revents: 0)
    let milliseconds = Int32(clamping: max(0, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
    while true {
        let ready = poll(&descriptor, 1, milliseconds)
        if ready < 0 && errno == EINTR { continue }
        return ready > 0
    }
}
