/// The migration tools whose folders `schemagate import` converts and whose history tables
/// `schemagate baseline` reads.
public enum ForeignTool: String, CaseIterable, Sendable {
    case golangMigrate = "golang-migrate"
    case dbmate
    case goose
    case flyway
    case morph

    /// The history table the tool creates by default (each tool lets it be renamed).
    public var defaultHistoryTable: String {
        switch self {
        case .golangMigrate, .dbmate: return "schema_migrations"
        case .goose: return "goose_db_version"
        case .flyway: return "flyway_schema_history"
        case .morph: return "db_migrations"
        }
    }

    /// `golang-migrate, dbmate, …`, for messages that list the choices.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
