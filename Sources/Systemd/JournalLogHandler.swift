import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes native journal entries with `sd_journal_sendv`: one entry per
/// event (a multi-line SQL error stays one entry), `PRIORITY`, `SYSLOG_IDENTIFIER`, a `MESSAGE_ID`
/// looked up from the `event` metadata, and every metadata key as an upper-case field.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let identifier: String
    let fieldPrefix: String
    let messageIDs: [String: String]

    /// - Parameters:
    ///   - fieldPrefix: put before each metadata key (`SCHEMAGATE_` + `EVENT`).
    ///   - messageIDs: `MESSAGE_ID` for each value of the `event` metadata key.
    public init(identifier: String, fieldPrefix: String, messageIDs: [String: String]) {
        self.identifier = identifier
        self.fieldPrefix = fieldPrefix
        self.messageIDs = messageIDs
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(Self.priority(event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
        ]
        if case .string(let name)? = all["event"], let id = messageIDs[name] {
            fields.append("MESSAGE_ID=\(id)")
        }
        for (key, value) in all {
            fields.append("\(fieldPrefix)\(Self.fieldName(key))=\(value)")
        }
        Self.send(fields)
    }

    /// Journal field names: upper case letters, digits and underscores (journald drops others).
    static func fieldName(_ key: String) -> String {
        String(key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// Sends one entry; each field is one iovec, so values may hold newlines.
    static func send(_ fields: [String]) {
        var buffers = fields.map { Array($0.utf8) }
        var vectors: [iovec] = []
        vectors.reserveCapacity(buffers.count)
        for index in buffers.indices {
            buffers[index].withUnsafeMutableBytes { bytes in
                vectors.append(iovec(iov_base: bytes.baseAddress, iov_len: bytes.count))
            }
        }
        // The pointers stay valid: `buffers` is not touched again until the call returns.
        withExtendedLifetime(buffers) {
            _ = schemagate_sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }
}

/// Whether stderr is connected to the journal (`JOURNAL_STREAM` names its device and inode), as it
/// is for a service started by systemd with the default `StandardError=journal`.
public enum JournalStream {
    /// Whether journal entries can be written: libsystemd is opened on first use, and a host
    /// without it gets text on stderr instead of entries that would be lost.
    public static var canWriteEntries: Bool { schemagate_sd_available() != 0 }

    public static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(2, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
