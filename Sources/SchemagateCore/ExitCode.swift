/// The process exit codes scripts and systemd units rely on (the table in docs/reference.md). Permanent failures (2, 65,
/// 70, 77) belong in a unit's `RestartPreventExitStatus=`.
public enum SchemagateExitCode: Int32, Sendable, CaseIterable {
    case success = 0
    /// `status`/`wait`: no daemon answered on the socket.
    case noDaemon = 1
    case usage = 2
    /// `status`: the daemon is not ready.
    case notReady = 3
    /// `status`: the daemon failed.
    case failed = 4
    /// The migrations folder or a checksum is invalid (EX_DATAERR).
    case invalidMigrations = 65
    /// The database stayed unreachable past `--lock-wait` (EX_UNAVAILABLE).
    case unavailable = 69
    /// A migration failed; it was rolled back and recorded (EX_SOFTWARE).
    case migrationFailed = 70
    /// `rollback` lost the lock mid-way: it must not be finished by another plan (EX_TEMPFAIL).
    case lockLost = 75
    /// The server refused authentication (EX_NOPERM).
    case authenticationFailed = 77

    public var meaning: String {
        switch self {
        case .success: return "done"
        case .noDaemon: return "no daemon answered (status, wait)"
        case .usage: return "usage or configuration error"
        case .notReady: return "not ready (status)"
        case .failed: return "failed (status)"
        case .invalidMigrations: return "the migrations folder or a checksum is invalid"
        case .unavailable: return "the database stayed unreachable past --lock-wait"
        case .migrationFailed: return "a migration failed (rolled back, recorded)"
        case .lockLost: return "rollback or repair lost the lock mid-way (nothing more done by it; run it again)"
        case .authenticationFailed: return "authentication refused"
        }
    }

    /// The table printed by `--help` and the man page.
    public static var helpTable: String {
        allCases.map { "  \(String($0.rawValue).padding(3)) \($0.meaning)" }.joined(separator: "\n")
    }
}

extension String {
    /// Left-aligned in a column of `width` characters.
    public func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
