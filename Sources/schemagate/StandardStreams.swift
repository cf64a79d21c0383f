import Glibc

/// Writes to the process's standard streams without buffering, as FileHandle did: a message must
/// be out before the process exits or the journal reads the next line.
enum StandardStreams {
    static func error(_ text: String) { write(Array(text.utf8), to: STDERR_FILENO) }

    static func output(_ bytes: [UInt8]) { write(bytes, to: STDOUT_FILENO) }

    private static func write(_ bytes: [UInt8], to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
