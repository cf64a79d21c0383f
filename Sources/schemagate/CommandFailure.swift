import SchemagateCore

/// A command's failure: one line for the operator and the exit code scripts branch on.
struct CommandFailure: Error, CustomStringConvertible {
    let exitCode: SchemagateExitCode
    let message: String

    init(_ exitCode: SchemagateExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    var description: String { message }
}

/// Ends a command with an exit code that its output has already explained (`status` not ready).
struct QuietExit: Error {
    let exitCode: SchemagateExitCode

    init(_ exitCode: SchemagateExitCode) { self.exitCode = exitCode }
}
