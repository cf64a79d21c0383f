import ArgumentParser
import FoundationEssentials
import Glibc
import SchemagateStore

/// `schemagate history`: what the history table holds.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List every migration applied, rolled back or repaired, oldest first."
    )

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let store = try await database.openStore()
        defer { store.connection.close() }
        let entries: [HistoryEntry]
        do {
            entries = try await store.tablesExist() ? try await store.historyEntries() : []
        } catch {
            throw DatabaseOptions.failure(error, settingsTable: store.configuration.settingsTable)
        }
        if json {
            try printJSON(entries)
            return
        }
        guard !entries.isEmpty else {
            print("no migrations recorded")
            return
        }
        for entry in entries {
            let outcome = entry.success ? "ok" : "FAILED"
            var line = "\(entry.startedAt)  \(String(entry.version).leftPadded(6))  \(entry.direction.padded(8)) \(outcome.padded(6)) \(entry.name.padded(28)) \(String(Int(entry.durationMilliseconds.rounded())).leftPadded(7))ms  \(entry.host) pid \(entry.pid)"
            if let error = entry.error, !entry.success { line += "  \(error)" }
            print(line)
        }
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
