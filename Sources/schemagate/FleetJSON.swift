import SchemagateCore
import SchemagateStore

/// `fleet --json`: the registry as a script reads it. Field names are the registry's columns, so
/// that the JSON and `SELECT * FROM schemagate_fleet` say the same thing.
struct FleetJSON: Encodable {
    struct Instance: Encodable {
        let instance: String
        let host: String
        let pid: Int32
        let unit: String?
        let release: String
        let target: Int64
        let state: String?
        let heartbeatAgeMs: Int64

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(instance, forKey: .instance)
            try container.encode(host, forKey: .host)
            try container.encode(pid, forKey: .pid)
            try container.encode(unit, forKey: .unit)
            try container.encode(release, forKey: .release)
            try container.encode(target, forKey: .target)
            try container.encode(state, forKey: .state)
            try container.encode(heartbeatAgeMs, forKey: .heartbeatAgeMs)
        }

        enum CodingKeys: String, CodingKey {
            case instance, host, pid, unit, release, target, state
            case heartbeatAgeMs = "heartbeat_age_ms"
        }
    }

    /// A pending contract migration and the live instances (by id) that hold it back.
    struct ContractWait: Encodable {
        let version: Int64
        let name: String
        let waitsFor: [String]

        enum CodingKeys: String, CodingKey {
            case version, name
            case waitsFor = "waits_for"
        }
    }

    /// The database's schema version; nil when there is no registry yet.
    let version: Int64?
    let instances: [Instance]
    /// Nil when no folder was read: then nothing can be said about pending contracts.
    let contractWaits: [ContractWait]?

    enum CodingKeys: String, CodingKey {
        case version, instances
        case contractWaits = "contract_waits"
    }

    init(view: FleetView, waits: [ContractGate.Wait]?) {
        version = view.version
        instances = view.members.map { member in
            Instance(instance: member.instanceID, host: member.host, pid: member.pid,
                     unit: view.units[member.instanceID].flatMap { $0.isEmpty ? nil : $0 },
                     release: member.release, target: member.target, state: view.states[member.instanceID],
                     heartbeatAgeMs: member.heartbeatAgeMilliseconds)
        }
        contractWaits = waits?.map { wait in
            ContractWait(version: wait.migration.version, name: wait.migration.name, waitsFor: wait.holders.map(\.instanceID))
        }
    }

    /// Written by hand so that an unknown version and unread contracts appear as null rather
    /// than as missing keys.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(instances, forKey: .instances)
        try container.encode(contractWaits, forKey: .contractWaits)
    }

    /// No registry yet: nobody has registered.
    init() {
        version = nil
        instances = []
        contractWaits = nil
    }
}
