/// The session holding a lock the migration waits for, as `pg_stat_activity` describes it: what
/// an operator needs to find it (pid, application) and to judge it (state, transaction age, query).
public struct LockHolder: Sendable, Equatable {
    public var pid: Int32
    public var applicationName: String
    public var state: String
    public var transactionAge: Duration?
    public var query: String

    /// Queries are cut to this many characters in messages: enough to recognise, not to flood.
    public static let queryLimit = 60

    public init(pid: Int32, applicationName: String, state: String, transactionAge: Duration?, query: String) {
        self.pid = pid
        self.applicationName = applicationName
        self.state = state
        self.transactionAge = transactionAge
        self.query = query
    }

    /// `pid 4242 (idle in transaction 12s, application api)`, for status lines.
    public var summary: String {
        var parts = [state.isEmpty ? "unknown state" : state]
        if let age = transactionAge { parts[0] += " \(DurationParser.format(age))" }
        if !applicationName.isEmpty { parts.append("application \(applicationName)") }
        return "pid \(pid) (\(parts.joined(separator: ", ")))"
    }

    /// The query on one line, cut to `queryLimit` characters.
    public var shortQuery: String {
        let oneLine = query.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return oneLine.count <= Self.queryLimit ? oneLine : String(oneLine.prefix(Self.queryLimit - 1)) + "…"
    }
}
