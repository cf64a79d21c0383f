/// The process exit codes scripts and systemd units rely on (the table in docs/reference.md). Each
/// code means one thing. Permanent failures (2, 65, 70, 77) belong in a unit's
/// `RestartPreventExitStatus=`; 69 and 73 are worth a restart.
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
    /// A live holder kept the migration lock past `--lock-wait`, or `unlock` found it alive:
    /// this run changed nothing. Kept apart from 69 so that a script can tell "the database is
    /// down" from "another instance is busy (or stuck) migrating".
    case lockHeld = 73
    /// `rollback` lost the lock mid-way: it must not be finished by another plan (EX_TEMPFAIL).
    /// The one case that needs a human (or a script) to run the command again.
    case lockLost = 75
    /// The database holds a contract migration above this release's target, so this release cannot
    /// work with the schema; `rollback` refuses when a live instance still needs what it would undo.
    case incompatible = 76
    /// The server refused authentication (EX_NOPERM).
    case authenticationFailed = 77
    /// `baseline` refused: the other tool's history is dirty or failed, or does not match the
    /// folder, or schemagate already tracks the database (EX_CONFIG).
    case baselineRefused = 78

    public var meaning: String {
        switch self {
        case .success: return "done"
        case .noDaemon: return "no daemon answered (status, wait)"
        case .usage: return "usage or configuration error (retrying will not help)"
        case .notReady: return "not ready (status; wait, reload: by the timeout)"
        case .failed: return "failed (status)"
        case .invalidMigrations: return "the migrations folder or a checksum is invalid"
        case .unavailable: return "the database stayed unreachable past --lock-wait"
        case .migrationFailed: return "a migration failed (rolled back, recorded)"
        case .lockHeld: return "a live holder kept the lock past --lock-wait (run again later)"
        case .lockLost: return "rollback or repair lost the lock mid-way (nothing more done by it; run it again)"
        case .incompatible: return "schema incompatible with this release (a contract migration above its target is applied)"
        case .authenticationFailed: return "authentication refused"
        case .baselineRefused: return "baseline refused: the other tool's history is dirty, failed or does not match the folder"
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
