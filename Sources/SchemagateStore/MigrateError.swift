import PQ
import SchemagateCore

/// Why a migrate run ended without reaching the target. `description` is the one line an operator
/// sees; it never holds a password (connection strings are only ever shown redacted).
public enum MigrateError: Error, Sendable, CustomStringConvertible {
    case folder(MigrationFolderError)
    case plan(PlanProblem)
    /// A migration's SQL failed; it was rolled back (or undone) and recorded.
    case migrationFailed(MigrationFailure)
    /// An interrupted no-transaction migration's down SQL failed while undoing it.
    case recoveryFailed(String)
    /// Another instance just failed on this same migration file.
    case failedElsewhere(FailureRecord)
    case unavailable(String)
    case lockWaitExceeded(LockRecord?, waited: Duration)
    case lockLost(by: String?)
    /// `unlock` found a holder that looks alive (and no `--force`): nothing changed.
    case lockAlive(String)
    case authentication(String)
    case configuration(String)
    /// `rollback` refused before changing anything (no down SQL, a bad `--to`, …).
    case rollback(RollbackProblem)
    /// A down SQL failed during `rollback`: the schema stays at that version, the newer ones undone.
    case rollbackFailed(String)
    /// A settings row schemagate cannot read.
    case storedRecord(StoredRecordProblem)
    /// A contract migration above this release's target is applied: this release cannot work.
    case incompatible(ContractGate.AppliedContract, target: Int64)
    /// `migrate --wait-for-contract`: live instances still held a contract migration back after `--lock-wait`.
    case contractWaitExceeded(ContractGate.Wait, waited: Duration)
    /// Cancelled (the daemon is stopping): any transaction was rolled back and the lock released.
    case stopped

    public var exitCode: SchemagateExitCode {
        switch self {
        case .folder, .storedRecord: return .invalidMigrations
        case .plan(let problem): return problem.exitCode
        case .migrationFailed, .failedElsewhere, .recoveryFailed, .rollbackFailed: return .migrationFailed
        case .rollback(let problem): return problem.exitCode
        case .unavailable: return .unavailable
        case .lockWaitExceeded, .lockAlive: return .lockHeld
        case .contractWaitExceeded: return .notReady
        case .incompatible: return .incompatible
        case .lockLost: return .lockLost
        case .authentication: return .authenticationFailed
        case .configuration: return .usage
        case .stopped: return .success
        }
    }

    /// The journal event that says why the run ended: one per exit cause, so that a failed
    /// migration is never confused with an unreachable database in logs, catalog or metrics.
    /// `nil` for a clean stop, which is no failure.
    public var event: SchemagateEvent? {
        switch self {
        case .folder, .storedRecord: return .migrationsInvalid
        case .plan(let problem):
            switch problem.exitCode {
            case .migrationFailed: return .migrationFailed
            case .usage: return .configurationError
            default: return .migrationsInvalid
            }
        case .rollback(let problem):
            switch problem.exitCode {
            case .migrationFailed: return .migrationFailed
            case .usage: return .configurationError
            default: return .migrationsInvalid
            }
        case .migrationFailed, .failedElsewhere, .recoveryFailed, .rollbackFailed: return .migrationFailed
        case .unavailable: return .databaseGaveUp
        case .lockWaitExceeded, .lockAlive: return .lockWaitExceeded
        case .contractWaitExceeded: return .contractWaiting
        case .incompatible: return .incompatible
        case .lockLost: return .lockLost
        case .authentication: return .authenticationFailed
        case .configuration: return .configurationError
        case .stopped: return nil
        }
    }

    public var description: String {
        switch self {
        case .folder(let error): return error.description
        case .plan(let problem): return problem.description
        case .migrationFailed(let failure): return failure.description
        case .rollback(let problem): return problem.description
        case .rollbackFailed(let message): return message
        case .failedElsewhere(let record):
            return "version \(record.version) (\(MigrationTitle.shown(record.name))) just failed on another instance: \(record.error); fix the migration and start again"
        case .unavailable(let message):
            return "database unreachable: \(message)"
        case .lockWaitExceeded(let holder, let waited):
            let who = holder.map { "held by \($0.holderDescription)" } ?? "busy"
            return "gave up after --lock-wait \(DurationParser.format(waited)): migration lock \(who) made no progress; check that instance, or break a dead lock with `schemagate unlock`"
        case .lockLost(let owner):
            return "lost the migration lock to \(owner ?? "another instance") (lease expired while this instance was stalled); this instance applied nothing further"
        case .authentication(let message):
            return "authentication refused: \(message); check the user and password (PGPASSWORD, .pgpass or the credential file)"
        case .configuration(let message), .recoveryFailed(let message), .lockAlive(let message):
            return message
        case .storedRecord(let problem):
            return problem.description
        case .incompatible(let contract, let target):
            return "contract migration \(contract.version) (\(MigrationTitle.shown(contract.name))) is applied, above this release's target \(target): this release cannot work with the schema; deploy a release whose folder has version \(contract.version)"
        case .contractWaitExceeded(let wait, let waited):
            return "gave up after --lock-wait \(DurationParser.format(waited)): \(wait.description)"
        case .stopped:
            return "stopped before reaching the target; nothing is left half-applied"
        }
    }
}

/// A migration whose SQL failed, located in its file.
public struct MigrationFailure: Sendable, CustomStringConvertible {
    public let migration: Migration
    public let error: PQError
    /// 1-based line (and column) of the failing statement or error position in the file.
    public let line: Int
    public let column: Int?
    /// The version the database is at afterwards.
    public let schemaVersion: Int64
    /// A no-transaction migration that could not be undone: the database is marked dirty.
    public let leftDirty: Bool

    public var description: String {
        let location = column.map { "\(migration.upFile):\(line):\($0)" } ?? "\(migration.upFile):\(line)"
        var text = "\(location): \(error.message)"
        if let sqlState = error.sqlState { text += " (SQLSTATE \(sqlState))" }
        if let hint = error.hint { text += "; hint: \(hint)" }
        if leftDirty {
            text += "; it ran outside a transaction and could not be undone: check the database, then run `schemagate repair`"
        } else {
            text += migration.transactional ? "; rolled back" : "; undone with its down file"
            text += ", schema stays at \(schemaVersion)"
        }
        return text
    }
}

extension MigrateError {
    public enum Classification: Sendable {
        /// Worth retrying with backoff: the same work may succeed a moment later.
        case transient(String)
        case permanent(MigrateError)
    }

    /// Sorts any error met while talking to the database into transient or permanent.
    public static func classify(_ error: any Error, settingsTable: String) -> Classification {
        if let error = error as? MigrateError { return .permanent(error) }
        if let problem = error as? PlanProblem { return .permanent(.plan(problem)) }
        if let problem = error as? StoredRecordProblem { return .permanent(.storedRecord(problem)) }
        if let problem = error as? RollbackProblem { return .permanent(.rollback(problem)) }
        if error is CancellationError || Task.isCancelled { return .permanent(.stopped) }
        guard let error = error as? PQError else {
            return .permanent(.configuration("unexpected content in \(settingsTable): \(error)"))
        }
        switch error.kind {
        case .invalidConnectionString:
            return .permanent(.configuration("--database-url: \(error.message)"))
        case .connectionFailed where error.sqlState?.isAuthenticationFailure == true:
            return .permanent(.authentication(error.message))
        case .connectionFailed where error.sqlState == .invalidCatalogName:
            return .permanent(.configuration("\(error.message); create the database or fix --database-url"))
        case .server where error.sqlState == .readOnlySQLTransaction:
            // The server is not (or no longer) the primary: in a failover the standby refuses
            // writes until it is promoted. Reconnect; libpq with target_session_attrs=read-write
            // finds whichever host accepts them, and --lock-wait bounds the search.
            return .transient("\(error.message) (SQLSTATE 25006): this server accepts no writes (a standby, or default_transaction_read_only); reconnecting. List every host of the cluster with target_session_attrs=read-write")
        case .server where !error.isTransient:
            let hint = error.sqlState == .insufficientPrivilege ? "; grant the role the privileges it needs" : ""
            return .permanent(.configuration("\(error.message) (SQLSTATE \(error.sqlState?.rawValue ?? "?"))\(hint)"))
        case .cancelled:
            return .permanent(.unavailable("cancelled"))
        default:
            return .transient(error.message)
        }
    }
}
