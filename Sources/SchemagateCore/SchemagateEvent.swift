/// Every kind of event schemagate logs. The name is the `SCHEMAGATE_EVENT` journal field (and the
/// `event` key of text and JSON logs); the message id is the journal's `MESSAGE_ID`, explained in
/// `systemd/schemagate.catalog`. Defined once here for the code, the catalog and the docs.
public enum SchemagateEvent: String, CaseIterable, Sendable {
    case planned
    case databaseUnreachable = "database_unreachable"
    case lockWaiting = "lock_waiting"
    case lockAcquired = "lock_acquired"
    case lockTakenOver = "lock_taken_over"
    case lockReleased = "lock_released"
    case lockLost = "lock_lost"
    case holderInterrupted = "holder_interrupted"
    case dirtyRecovery = "dirty_recovery"
    case migrationStarted = "migration_started"
    case migrationApplied = "migration_applied"
    case migrationRetry = "migration_retry"
    case migrationFailed = "migration_failed"
    case migrationRolledBack = "migration_rolled_back"
    case ready
    case regression
    // Why a daemon or migrate run ended, one event per exit cause (migration_failed and lock_lost
    // above are two of them).
    case migrationsInvalid = "migrations_invalid"
    case databaseGaveUp = "database_gave_up"
    case lockWaitExceeded = "lock_wait_exceeded"
    case authenticationFailed = "authentication_failed"
    case configurationError = "configuration_error"

    /// The journal `MESSAGE_ID` (128 bits, lowercase hex, as `journalctl --new-id128` prints it).
    public var messageID: String {
        switch self {
        case .planned: return "112db7835efa429e8af87e05d67196ce"
        case .databaseUnreachable: return "857914bb69b340d99cfc547b10743770"
        case .lockWaiting: return "7130c34b77924be08e45e0e9c2dc38bf"
        case .lockAcquired: return "0fb6ad7eb3cc4812850cb2f190e642a7"
        case .lockTakenOver: return "83fa238e93b34e289977bed858bbfabc"
        case .lockReleased: return "68233e6a5e224ac1b4b109c9869d67d4"
        case .lockLost: return "6955f7eb4a1341eb88797fdd4fe96b5e"
        case .holderInterrupted: return "685c0dce18f6463882d0822f9eb84858"
        case .dirtyRecovery: return "329efacff2fe4a7392e585310d5fbe87"
        case .migrationStarted: return "dc87ece7e1fd434284a64ac50b1d7e75"
        case .migrationApplied: return "5408586fb23049588bb2d27a922d4b39"
        case .migrationRetry: return "dffab9cdc91c4cc79a5865883cc5db55"
        case .migrationFailed: return "d999127cef014b17a625be5a2de6b632"
        case .migrationRolledBack: return "a57bc7ad0d2a4c0e95480ec7b425cc25"
        case .ready: return "96c1494cf5614906bd6b38db7c44d312"
        case .regression: return "3c133eaa9a9c4b0b8fa06083d08426e8"
        case .migrationsInvalid: return "86201750659b4fc692e601f313bbecc1"
        case .databaseGaveUp: return "6be1281794b94b31a4e4475574ed82a2"
        case .lockWaitExceeded: return "680866fd3e3143aca83f6f6241d2c6e9"
        case .authenticationFailed: return "9e007ebf03d5420bbc356822105d6da8"
        case .configurationError: return "332b2a01d7e84bb09315d0fc37d694c8"
        }
    }
}

/// Log metadata keys, and the journal fields they become (upper case: journald drops others).
public enum LogField: String, CaseIterable, Sendable {
    case event, version, migration, instance
    case durationMilliseconds = "duration_ms"
    case lockOwner = "lock_owner"

    public var journalField: String { "SCHEMAGATE_" + rawValue.uppercased() }
}
