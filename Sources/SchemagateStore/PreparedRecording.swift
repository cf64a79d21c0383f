/// The version move of a transaction migration (`recordingMove`), prepared once per direct
/// session with `PREPARE`, so that each migration's commit does not parse and plan it again.
/// Through a pooler a session's prepared statement is not ours to keep, so it is never prepared
/// there (`allowed` stays false); a migration that deallocates it turns preparing off for good.
struct PreparedRecording: Sendable {
    var allowed = false
    /// The prepared statement's name, once prepared.
    var name: String?
}
