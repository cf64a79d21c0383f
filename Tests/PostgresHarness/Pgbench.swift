import Foundation

/// Debian's `pgbench` as the application's traffic: a custom script run by a few clients for a
/// fixed time, each transaction's latency logged (`-l`) and read back when it ends, so a test
/// can say how long any transaction waited, and when.
public final class Pgbench: Sendable {
    /// One logged transaction: when it ended (epoch seconds) and how long it took.
    public struct Transaction: Sendable {
        public let end: Double
        public let latency: Double
        public var start: Double { end - latency }
    }

    /// What pgbench printed and every transaction it logged.
    public struct Result: Sendable {
        public let output: ProcessOutput
        public let transactions: [Transaction]

        /// pgbench exits 0 only when no client was aborted by an error (2 otherwise).
        public var everyClientSurvived: Bool { output.status == 0 && !output.all.contains("aborted") }

        /// The longest transaction that overlapped `window` (epoch seconds), 0 when none did.
        public func longest(during window: ClosedRange<Double>) -> Double {
            transactions.filter { $0.end >= window.lowerBound && $0.start <= window.upperBound }.map(\.latency).max() ?? 0
        }

        public var longest: Double { transactions.map(\.latency).max() ?? 0 }
    }

    public static let binary = "/usr/lib/postgresql/15/bin/pgbench"

    private let process: RunningProcess
    private let directory: String

    /// Starts `clients` clients running `script` against `database` for `seconds`.
    public init(_ server: PostgresServer, database: String, script: String, clients: Int = 4, seconds: Int) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw HarnessError("\(Self.binary) not found: install Debian's postgresql-15 package (scripts/test does)")
        }
        directory = NSTemporaryDirectory() + "schemagate-pgbench-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try script.write(toFile: directory + "/script.sql", atomically: true, encoding: .utf8)
        process = try ProcessRunner.start([
            Self.binary, "-n", "-f", directory + "/script.sql", "-c", String(clients), "-j", "2", "-T", String(seconds),
            "-l", "--log-prefix", directory + "/log", "-h", server.socketDirectory, "-p", String(server.port), "-U", "postgres", database,
        ], environment: ["PATH": "/usr/bin:/bin", "PGAPPNAME": "pgbench"], unblockSignals: true)
    }

    /// Waits for the run to end and reads every client's log:
    /// `client transaction latency_us script epoch_s epoch_us`.
    public func finished() async throws -> Result {
        let output = await process.finished()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var transactions: [Transaction] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("log") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count >= 6, let latency = Double(fields[2]), let seconds = Double(fields[4]), let micros = Double(fields[5]) else { continue }
                transactions.append(Transaction(end: seconds + micros / 1e6, latency: latency / 1e6))
            }
        }
        return Result(output: output, transactions: transactions)
    }
}
