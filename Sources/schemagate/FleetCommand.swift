import ArgumentParser
import FoundationEssentials
import SchemagateCore
import SchemagateStore

/// `schemagate fleet`: the live instances the registry holds, and what each pending contract
/// migration of the folder waits for.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "List the live daemons (release, target, state, heartbeat age) and the contract migrations they hold back."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("Migrations folder whose pending contract migrations to explain (default ./migrations; optional).", valueName: "dir"))
    var migrations: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let store = try await database.openStore()
        defer { store.connection.close() }
        let view: FleetView
        do {
            guard try await store.fleetTableExists() else {
                if json { try printJSON(FleetJSON()) } else { print("no live instances registered") }
                return
            }
            view = try await store.fleetView(beat: nil)
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
        let path = migrations ?? Environment.value(forOption: "migrations") ?? "migrations"
        let waits = (try? MigrationFolder.load(path: path)).map { folder in
            ContractGate(migrations: folder.migrations, applied: view.version, target: folder.highestVersion ?? 0,
                         others: view.holdingMembers, appliedContracts: view.appliedContracts).waits
        }
        if json {
            try printJSON(FleetJSON(view: view, waits: waits))
            return
        }
        if view.members.isEmpty {
            print("no live instances registered")
        } else {
            print("\("release".padded(16)) \("target".leftPadded(6))  \("state".padded(12)) \("heartbeat".leftPadded(9))  instance")
            for member in view.members {
                let age = "\(Double(member.heartbeatAgeMilliseconds / 100) / 10)s ago"
                let unit = view.units[member.instanceID].flatMap { $0.isEmpty ? nil : " \($0)" } ?? ""
                print("\(member.release.padded(16)) \(String(member.target).leftPadded(6))  \((view.states[member.instanceID] ?? "").padded(12)) \(age.leftPadded(9))  \(member.label)\(unit) \(member.instanceID)")
            }
        }
        for wait in waits ?? [] { print(wait.description) }
    }
}
