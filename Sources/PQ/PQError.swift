/// An error from libpq or the server. It carries the server's fields so that callers can branch on
/// `sqlState` and show `detail`/`hint`; it never carries the connection string, so it is safe to log.
public struct PQError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The connection could not be established.
        case connectionFailed
        /// An established connection broke (server restart, network, terminated backend).
        case connectionLost
        /// The server rejected a statement.
        case server
        /// The statement was cancelled on our request.
        case cancelled
        /// The connection string could not be parsed.
        case invalidConnectionString
    }

    public var kind: Kind
    public var sqlState: SQLState?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// 1-based character position of the error in the statement text, when the server gave one.
    public var position: Int?
    /// For `executeScript`: how many statements of the text completed before this error.
    public var completedStatements: Int?
    /// For `executeScript(_:epilogue:)`: the failure came from the epilogue, after the script.
    public var inEpilogue = false

    public init(
        kind: Kind, sqlState: SQLState? = nil, message: String,
        detail: String? = nil, hint: String? = nil, position: Int? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
    }

    /// Whether the same work may succeed if retried after a pause.
    public var isTransient: Bool {
        switch kind {
        case .connectionLost: return true
        case .connectionFailed: return !(sqlState?.isAuthenticationFailure ?? false) && sqlState != .invalidCatalogName
        case .server: return sqlState?.isTransient ?? false
        case .cancelled, .invalidConnectionString: return false
        }
    }

    public var description: String {
        var text = message
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        return text
    }
}
