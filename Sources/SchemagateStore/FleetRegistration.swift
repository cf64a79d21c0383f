import SchemagateCore

/// What a daemon writes into its fleet row on every heartbeat. A one-shot `migrate` is not a live
/// instance and has none.
public struct FleetRegistration: Sendable, Equatable {
    public var identity: InstanceIdentity
    /// The systemd unit instance (from `INVOCATION_ID`'s unit environment), empty outside systemd.
    public var unit: String
    public var release: String
    public var target: Int64
    /// `DaemonStatus.State`'s name: starting, waiting, migrating, ready, incompatible, …
    public var state: String

    public init(identity: InstanceIdentity, unit: String, release: String, target: Int64, state: String = "starting") {
        self.identity = identity
        self.unit = unit
        self.release = release
        self.target = target
        self.state = state
    }
}
