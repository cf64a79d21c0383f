import SchemagateCore

/// One read of the fleet registry, taken with the heartbeat that rides on it: the schema version,
/// the live instances, and the contract migrations history records as applied.
public struct FleetView: Sendable, Equatable {
    public var version: Int64
    /// Live rows (heartbeat younger than one lease), the beating instance excluded.
    public var members: [FleetMember]
    /// The state each live member reported, by instance id (for `schemagate fleet`).
    public var states: [String: String]
    /// The unit each live member runs under, by instance id.
    public var units: [String: String]
    public var appliedContracts: [ContractGate.AppliedContract]
    /// True when this heartbeat found no live row of ours: first registration, or we were
    /// dropped (paused past the lease) and registered again.
    public var registeredAnew: Bool

    /// The live members that can hold a contract migration back: not the incompatible ones, whose
    /// release the schema has already broken.
    public var holdingMembers: [FleetMember] {
        members.filter { states[$0.instanceID] != DaemonStatus.State.incompatible.rawValue }
    }

    public init(version: Int64, members: [FleetMember], states: [String: String] = [:], units: [String: String] = [:],
                appliedContracts: [ContractGate.AppliedContract], registeredAnew: Bool) {
        self.version = version
        self.members = members
        self.states = states
        self.units = units
        self.appliedContracts = appliedContracts
        self.registeredAnew = registeredAnew
    }
}
