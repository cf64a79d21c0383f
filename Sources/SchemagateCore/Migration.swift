/// One versioned migration as found on disk: its up SQL, the optional down SQL, and the checksum
/// recorded when it is applied.
public struct Migration: Sendable, Equatable, Identifiable {
    public var id: Int64 { version }
    public let version: Int64
    public let name: String
    /// The file name's version text as written (`0042`), kept for messages.
    public let versionText: String
    public let upFile: String
    public let upSQL: String
    public let downFile: String?
    public let downSQL: String?
    /// SHA-256 of the up file's bytes, lowercase hex.
    public let checksum: String
    /// False for `-- schemagate: no-transaction`: statements then run one at a time, outside a transaction.
    public let transactional: Bool
    /// True for `-- schemagate: contract`: applied only once every live instance targets this version or above.
    public let contract: Bool
    /// True for `-- schemagate: allow-blocking`: the governor never cancels it.
    public let allowBlocking: Bool

    public init(
        version: Int64, name: String, versionText: String, upFile: String, upSQL: String,
        downFile: String?, downSQL: String?, checksum: String, transactional: Bool,
        contract: Bool = false,
        allowBlocking: Bool = false
    ) {
        self.version = version
        self.name = name
        self.versionText = versionText
        self.upFile = upFile
        self.upSQL = upSQL
        self.downFile = downFile
        self.downSQL = downSQL
        self.checksum = checksum
        self.transactional = transactional
        self.contract = contract
        self.allowBlocking = allowBlocking
    }

    /// `0042_add_index`, as operators see it in file names.
    public var label: String { "\(versionText)_\(name)" }
}
