import CLibPQ
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Drives libpq's non-blocking connect (`PQconnectStartParams` + `PQconnectPoll`), so that the
/// attempt has a deadline, can be abandoned, and reports the server's SQLSTATE (libpq has no field
/// for it at connect time, so errors are requested in verbose form and the code is read from them).
struct ConnectAttempt {
    var connectionString: String
    var applicationName: String
    var timeout: Duration
    var abandoned: () -> Bool

    func run() throws -> OpaquePointer {
        var keys = ["fallback_application_name"]
        var values = [applicationName]
        if !connectionString.isEmpty {
            keys.append("dbname")
            values.append(connectionString)
        }
        let started = withCStrings(keys) { keyPointers in
            withCStrings(values) { valuePointers in
                PQconnectStartParams(keyPointers + [nil], valuePointers + [nil], 1)
            }
        }
        guard let handle = started else {
            throw PQError(kind: .connectionFailed, message: "out of memory starting a connection")
        }
        PQsetErrorVerbosity(handle, PQERRORS_VERBOSE)
        let deadline = ContinuousClock.now + timeout
        var status = PGRES_POLLING_WRITING
        while true {
            if PQstatus(handle) == CONNECTION_BAD || status == PGRES_POLLING_FAILED {
                let error = Self.error(from: String(cString: PQerrorMessage(handle)))
                PQfinish(handle)
                throw error
            }
            if status == PGRES_POLLING_OK { break }
            let events = status == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
            var ready = false
            while !ready {
                if abandoned() || ContinuousClock.now >= deadline {
                    PQfinish(handle)
                    throw PQError(
                        kind: .connectionFailed,
                        message: abandoned() ? "connection attempt cancelled" : "timed out connecting after \(timeout)"
                    )
                }
                ready = waitForSocket(PQsocket(handle), events: events, timeout: .milliseconds(100))
            }
            status = PQconnectPoll(handle)
        }
        PQsetErrorVerbosity(handle, PQERRORS_DEFAULT)
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return handle
    }

    /// Turns libpq's verbose connect error ("… failed: FATAL:  28P01: password authentication
    /// failed …\nLOCATION: …") into a message without the LOCATION lines, plus the SQLSTATE.
    static func error(from verbose: String) -> PQError {
        var sqlState: SQLState?
        var lines: [String] = []
        for rawLine in verbose.split(separator: "\n") {
            var line = String(rawLine)
            if line.hasPrefix("LOCATION:") { continue }
            for severity in ["FATAL:  ", "ERROR:  ", "PANIC:  "] {
                guard let range = line.firstRange(of: severity) else { continue }
                let rest = line[range.upperBound...]
                let code = rest.prefix(5)
                if code.count == 5, rest.dropFirst(5).hasPrefix(": "),
                   code.allSatisfy({ $0.isNumber || ($0.isUppercase && $0.isASCII) }) {
                    sqlState = sqlState ?? SQLState(String(code))
                    line = String(line[..<range.upperBound]) + rest.dropFirst(7)
                }
            }
            // libpq indents continuation lines with a tab ("\tIs the server running…"): one
            // line for people means single spaces.
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if !words.isEmpty { lines.append(words.joined(separator: " ")) }
        }
        return PQError(kind: .connectionFailed, sqlState: sqlState, message: lines.joined(separator: "; "))
    }
}
