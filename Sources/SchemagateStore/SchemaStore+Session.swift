import FoundationEssentials
import PQ

extension SchemaStore {
    /// Whether the server process behind this connection is this connection's own session, so that
    /// other instances may judge our liveness by it. Through a pooler (PgBouncer) the backend is
    /// shared and outlives us: then only the lease counts. Unproven means not visible.
    public func sessionIsVisible() async throws -> Bool {
        let row = try await connection.query(
            "SELECT pg_backend_pid() AS pid, inet_client_port() AS port"
        ).first
        guard let backend = row?.int("pid") else { return false }
        switch connection.socketEnd {
        case .tcp(let localPort):
            return row?.int("port") == localPort
        case .unix(let peerPID?):
            // A direct Unix-socket peer is the postmaster, the parent of our backend.
            guard let stat = try? String(contentsOfFile: "/proc/\(backend)/stat", encoding: .utf8),
                  let nameEnd = stat.lastIndex(of: ")") else { return false }
            // The name may itself hold ") ", so the fields start after the last one.
            let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == peerPID
        case .unix(nil), .unknown:
            return false
        }
    }
}
