import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a finished program printed, and how it ended.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// The child's peak resident set size (its `VmHWM`, from `wait4`'s `ru_maxrss`), in KiB.
    public let peakMemoryKilobytes: Int
    /// stdout and stderr together, for assertions that do not care which.
    public var all: String { stdout + stderr }
}

/// Starts programs with posix_spawn and reaps them with wait4: plain and predictable with many
/// children at once, and no run loop involved.
public enum ProcessRunner {
    private static let spawnLock = NSLock()

    /// Runs a program to its end. The wait happens on a thread of its own, never on the
    /// cooperative pool: with two cores that pool has two threads, and a test blocked in
    /// `waitpid` there stalls every other test's tasks (their notify listeners, their polls).
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> ProcessOutput {
        try await start(arguments, environment: environment).finished()
    }

    /// Runs a program to its end, blocking the calling thread. Only for a cluster's set-up and
    /// tear-down, which run once per server and from `defer` blocks and `atexit`, where nothing
    /// can await.
    @discardableResult
    public static func runBlocking(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
        try start(arguments, environment: environment).wait()
    }

    /// `unblockSignals`: the child starts with no signal blocked, as a shell would start it. The
    /// test process blocks most signals in its threads and a spawned child inherits that mask,
    /// which stops a program that relies on SIGALRM (pgbench's `-T`) or on SIGTERM's default.
    public static func start(_ arguments: [String], environment: [String: String]? = nil, newSession: Bool = false,
                             unblockSignals: Bool = false) throws -> RunningProcess {
        var stdoutPipe: [Int32] = [0, 0]
        var stderrPipe: [Int32] = [0, 0]
        // Pipes are made close-on-exec under one lock with the spawn, so that a child started at
        // the same moment by another thread never inherits (and holds open) this child's pipes;
        // dup2 onto 1 and 2 clears the flag for this child alone.
        spawnLock.lock()
        defer { spawnLock.unlock() }
        guard pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0 else {
            throw HarnessError("pipe failed: \(String(cString: strerror(errno)))")
        }
        for descriptor in stdoutPipe + stderrPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags: Int32 = newSession ? 0x80 : 0 // POSIX_SPAWN_SETSID
        if unblockSignals {
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            flags |= Int32(POSIX_SPAWN_SETSIGMASK)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let environmentLines = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let result = withCStringArray(arguments) { argv in
            withCStringArray(environmentLines) { envp in
                posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
            }
        }
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard result == 0 else {
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw HarnessError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return RunningProcess(pid: pid, stdout: stdoutPipe[0], stderr: stderrPipe[0])
    }
}

/// A started child whose output is collected while it runs (so a full pipe never blocks it).
public final class RunningProcess: @unchecked Sendable {
    // @unchecked: the buffers are written by the reading threads and read after `group` finished;
    // `status` is written once under `lock`.
    public let pid: Int32
    private var out = [UInt8]()
    private var err = [UInt8]()
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var status: Int32?
    private var peakMemory = 0

    init(pid: Int32, stdout: Int32, stderr: Int32) {
        self.pid = pid
        for (descriptor, isOut) in [(stdout, true), (stderr, false)] {
            group.enter()
            Thread.detachNewThread {
                var collected = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = read(descriptor, &buffer, buffer.count)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    collected.append(contentsOf: buffer[0..<count])
                }
                close(descriptor)
                if isOut { self.out = collected } else { self.err = collected }
                self.group.leave()
            }
        }
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Blocks until the child exits and its output is read. The status is the exit code, or
    /// 128 + the signal for a child killed by one.
    public func wait() -> ProcessOutput {
        lock.lock()
        if status == nil {
            var raw: Int32 = 0
            var usage = rusage()
            while wait4(pid, &raw, 0, &usage) < 0 && errno == EINTR {}
            peakMemory = Int(usage.ru_maxrss)
            let signal = raw & 0x7f
            status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        }
        lock.unlock()
        group.wait()
        return ProcessOutput(
            status: status!,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self),
            peakMemoryKilobytes: peakMemory
        )
    }

    /// Waits off the cooperative pool.
    public func finished() async -> ProcessOutput {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.wait()) }
        }
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
