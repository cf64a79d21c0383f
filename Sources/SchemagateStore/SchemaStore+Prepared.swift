import PQ

extension SchemaStore {
    /// Allows `PREPARE` on this connection: the session is proven to be our own server session,
    /// not a pooler's.
    func prepareStatements() {
        preparedRecording.withLock { $0.allowed = true }
    }

    /// The name of the prepared version move (`sql`, the text of `recordingMove`, the same for
    /// every migration), preparing it on first use; nil where statements are not prepared. A
    /// failed `PREPARE` turns preparing off for this connection, and the move is sent as text.
    func preparedRecordingName(_ sql: String) async throws -> String? {
        let state = preparedRecording.withLock { $0 }
        guard state.allowed else { return nil }
        if let name = state.name { return name }
        let name = "schemagate_record_version"
        do {
            try await connection.execute("PREPARE \(name) AS \(sql)")
        } catch let error as PQError where error.kind == .server {
            preparedRecording.withLock { $0 = PreparedRecording() }
            return nil
        }
        preparedRecording.withLock { $0.name = name }
        return name
    }
}
