import Foundation

/// Primary and streaming standby, for failover tests: start a standby, stop the primary the way a
/// crash does, promote the standby.
extension PostgresServer {
    /// A hot standby streaming from this server (which must be a `dedicated()` one, so that its
    /// failover disturbs no other test). Stop it with `stop()`.
    public func startStandby() throws -> PostgresServer {
        try PostgresServer(standbyOf: self)
    }

    /// `pg_ctl stop -m immediate`: every backend ends at once, without a shutdown checkpoint, as
    /// in a crash. The directory stays (`stop()` removes it).
    public func stopImmediately() async throws {
        try Self.check(await Self.asServerUserAsync([
            try Self.binDirectory() + "/pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop",
        ]), "pg_ctl stop -m immediate")
    }

    /// `pg_ctl promote`, waiting until the standby accepts writes.
    public func promote() async throws {
        try Self.check(await Self.asServerUserAsync([
            try Self.binDirectory() + "/pg_ctl", "-D", dataDirectory, "-w", "-t", "60", "promote",
        ]), "pg_ctl promote")
    }

    /// Whether the server is a standby still replaying (`pg_is_in_recovery()`).
    public func isInRecovery() async throws -> Bool {
        try await psql("postgres", "SELECT pg_is_in_recovery()") == "t"
    }

    /// Waits until this standby has replayed everything `primary` has written so far.
    public func catchUp(with primary: PostgresServer, seconds: Double = 30) async throws {
        let target = try await primary.psql("postgres", "SELECT pg_current_wal_lsn()")
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await psql("postgres", "SELECT pg_last_wal_replay_lsn() >= '\(target)'::pg_lsn") == "t" { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("standby did not replay up to \(target) within \(seconds)s")
    }
}
