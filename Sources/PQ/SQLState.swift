/// A PostgreSQL SQLSTATE code. Callers branch on these, never on message text, which the
/// server localizes.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The two-character class ("08" for connection exceptions, "28" for authorization).
    public var errorClass: String { String(rawValue.prefix(2)) }

    public static let uniqueViolation = SQLState("23505")
    public static let duplicateTable = SQLState("42P07")
    public static let duplicateObject = SQLState("42710")
    public static let duplicateSchema = SQLState("42P06")
    public static let syntaxError = SQLState("42601")
    public static let invalidSQLStatementName = SQLState("26000")
    public static let lockNotAvailable = SQLState("55P03")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let idleInTransactionTimeout = SQLState("25P03")
    public static let activeSQLTransaction = SQLState("25001")
    public static let tooManyConnections = SQLState("53300")
    public static let invalidPassword = SQLState("28P01")
    public static let invalidAuthorization = SQLState("28000")
    public static let invalidCatalogName = SQLState("3D000")
    public static let insufficientPrivilege = SQLState("42501")
    public static let undefinedColumn = SQLState("42703")
    public static let undefinedTable = SQLState("42P01")
    /// A write on a server that accepts none: a standby, or `default_transaction_read_only`.
    public static let readOnlySQLTransaction = SQLState("25006")

    /// Errors worth retrying with backoff: the same statement may well succeed a moment later.
    public var isTransient: Bool {
        switch self {
        case .serializationFailure, .deadlockDetected, .lockNotAvailable, .cannotConnectNow,
             .tooManyConnections, .adminShutdown, .crashShutdown, .idleInTransactionTimeout:
            return true
        default:
            return errorClass == "08"
        }
    }

    /// Authentication was refused: retrying with the same credentials cannot help.
    public var isAuthenticationFailure: Bool {
        self == .invalidPassword || self == .invalidAuthorization
    }
}
