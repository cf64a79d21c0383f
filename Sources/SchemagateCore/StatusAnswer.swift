/// How each status endpoint answers for a given daemon state, decided apart from the HTTP
/// server so that every case is a unit test: `/healthz` and `/wait` status codes, the `/wait`
/// timeout a client may ask for, and the exit code `schemagate status` returns.
public enum StatusAnswer {
    /// `GET /healthz`: 200 when ready; 503 otherwise, with a `Retry-After` in seconds.
    public static func health(_ status: DaemonStatus) -> (code: Int, retryAfter: Int?) {
        status.ready ? (200, nil) : (503, retryAfterSeconds)
    }

    /// `GET /wait`: 200 ready, 500 failed or incompatible (neither passes by waiting), 503 still not ready when the wait ended (its timeout,
    /// or the daemon stopping).
    public static func wait(_ status: DaemonStatus) -> (code: Int, retryAfter: Int?) {
        switch status.state {
        case .ready: return (200, nil)
        case .failed, .incompatible: return (500, nil)
        case .starting, .connecting, .waiting, .migrating, .regressed, .stopping: return (503, retryAfterSeconds)
        }
    }

    /// How soon a client told "not ready" should ask again.
    public static let retryAfterSeconds = 1

    /// The longest `/wait` the daemon holds open; longer asks are clipped to it.
    public static let longestWait: Duration = .seconds(3600)
    /// A `/wait` without `timeout=`.
    public static let defaultWait: Duration = .seconds(30)

    public enum TimeoutProblem: Error, Equatable, CustomStringConvertible {
        case notANumber(String)

        public var description: String {
            switch self {
            case .notANumber(let text):
                return "timeout '\(text)': give seconds as a number, e.g. /wait?timeout=30"
            }
        }
    }

    /// Reads `/wait`'s `timeout=` (seconds, fractions allowed): absent means the default; negative
    /// means no wait at all; longer than `longestWait` is clipped.
    public static func waitTimeout(_ text: String?) throws(TimeoutProblem) -> Duration {
        guard let text else { return defaultWait }
        guard let seconds = Double(text), seconds.isFinite else { throw .notANumber(text) }
        return .seconds(clamping: seconds, ceiling: longestWait)
    }

    /// `schemagate status`: 0 ready, 4 failed or incompatible, 3 anything else.
    public static func exitCode(_ status: DaemonStatus) -> SchemagateExitCode {
        switch status.state {
        case .ready: return .success
        case .failed, .incompatible: return .failed
        case .starting, .connecting, .waiting, .migrating, .regressed, .stopping: return .notReady
        }
    }
}
