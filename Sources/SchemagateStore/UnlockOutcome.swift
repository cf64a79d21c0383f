import SchemagateCore

/// What `unlock` found and did.
public enum UnlockOutcome: Sendable, Equatable {
    /// No record (or no tables): nothing to break.
    case noLock
    /// The record went away between reading and deleting it.
    case releasedMeanwhile
    /// Broke the record of this holder, held this many seconds.
    case broke(LockRecord, heldForSeconds: Double)
    /// Broke a record nobody could read (only with `force`); its first characters.
    case brokeUnreadable(String)
}
