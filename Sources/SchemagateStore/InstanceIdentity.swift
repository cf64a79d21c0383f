import FoundationEssentials

/// Who this run is, as lock records and history rows name it.
public struct InstanceIdentity: Sendable, Equatable {
    public let id: String
    public let host: String
    public let pid: Int32

    public init(id: String, host: String, pid: Int32) {
        self.id = id
        self.host = host
        self.pid = pid
    }

    /// A new identity for this process run.
    public static func current() -> InstanceIdentity {
        InstanceIdentity(
            id: UUID().uuidString.lowercased(),
            host: ProcessInfo.processInfo.hostName,
            pid: ProcessInfo.processInfo.processIdentifier
        )
    }
}
