/// One row of the fleet registry as the gate sees it: who runs which release, and what schema it needs.
public struct FleetMember: Equatable, Sendable {
    public let instanceID: String
    public let host: String
    public let pid: Int32
    public let release: String
    /// The highest migration version this instance's folder knows.
    public let target: Int64
    /// Age of the last heartbeat by the database's clock, so hosts with skewed clocks agree on who is live.
    public let heartbeatAgeMilliseconds: Int64

    public init(instanceID: String, host: String, pid: Int32, release: String, target: Int64, heartbeatAgeMilliseconds: Int64) {
        self.instanceID = instanceID
        self.host = host
        self.pid = pid
        self.release = release
        self.target = target
        self.heartbeatAgeMilliseconds = heartbeatAgeMilliseconds
    }

    /// A row whose heartbeat is older than one lease is gone; any daemon may delete it.
    public func isLive(leaseMilliseconds: Int64) -> Bool {
        heartbeatAgeMilliseconds < leaseMilliseconds
    }

    /// `host-a pid 812`, as operators find the process.
    public var label: String { "\(host) pid \(pid)" }
}
