import FoundationEssentials
import Glibc
import Logging
import SchemagateCore
import Systemd

/// Log lines on stderr for people (`text`) or for log shippers (`json`, one object a line).
/// Metadata keys are the journal's event fields in lower case.
struct ConsoleLogHandler: LogHandler {
    enum Format: String { case text, json }

    let format: Format
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let timestamp = LogTimestamp.now()
        var line: String
        switch format {
        case .text:
            line = "\(timestamp) \(event.level.rawValue.padding(8))\(event.message)"
            let shown = all.filter { $0.key != "instance" }.sorted { $0.key < $1.key }
            if !shown.isEmpty {
                line += " " + shown.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
        case .json:
            var object: [String: String] = ["time": timestamp, "level": event.level.rawValue, "message": "\(event.message)"]
            for (key, value) in all { object[key] = "\(value)" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = (try? encoder.encode(object)) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        StandardStreams.error((line + "\n"))
    }
}

extension RunOptions {
    /// A logger for this run, after the `--log-format` and `--verbose` options.
    func makeLogger(instance: String) throws -> Logger {
        let chosen = logFormat ?? Environment.value(forOption: "log-format")
        let name = chosen ?? (JournalStream.stderrIsJournal() && JournalStream.canWriteEntries ? "journal" : "text")
        var logger: Logger
        if name == "journal" {
            guard JournalStream.canWriteEntries else {
                throw CommandFailure(.usage, "--log-format journal: libsystemd.so.0 could not be loaded; install libsystemd0 or use text or json")
            }
            let ids = Dictionary(uniqueKeysWithValues: SchemagateEvent.allCases.map { ($0.rawValue, $0.messageID) })
            logger = Logger(label: "schemagate") { _ in
                JournalLogHandler(identifier: "schemagate", fieldPrefix: "SCHEMAGATE_", messageIDs: ids)
            }
        } else {
            guard let format = ConsoleLogHandler.Format(rawValue: name) else {
                throw CommandFailure(.usage, "--log-format '\(name)': use text, json or journal")
            }
            logger = Logger(label: "schemagate") { _ in ConsoleLogHandler(format: format) }
        }
        logger.logLevel = verbose ? .debug : .info
        logger[metadataKey: "instance"] = "\(instance)"
        return logger
    }
}
