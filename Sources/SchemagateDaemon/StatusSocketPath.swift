import FoundationEssentials
import Glibc

/// The status socket's file: claimed before binding so that a second daemon on the same
/// path fails with a clear error instead of stealing a live daemon's socket, a stale file from a
/// crashed run is replaced, and a path too long for `sun_path` is refused up front. A lock file
/// beside the socket (`<path>.lock`, held with `flock` for the daemon's life) makes the claim safe
/// against two daemons starting at the same moment.
public final class StatusSocketPath: Sendable {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public let path: String
    public let mode: mode_t
    public let group: String?
    private let lockDescriptor: Int32

    /// `sun_path` holds 108 bytes on Linux, one of them the terminating NUL.
    public static let longestPath = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Claims `path`: refuses a path that is too long, one held by a live daemon, or an existing
    /// file that is not a socket; removes a stale socket.
    public init(path: String, mode: mode_t = 0o660, group: String? = nil) throws(Problem) {
        guard path.utf8.count <= Self.longestPath else {
            throw Problem(description: "--socket '\(path)': \(path.utf8.count) bytes is longer than a Unix socket path may be (\(Self.longestPath)); choose a shorter path")
        }
        if let group, getgrnam(group) == nil {
            throw Problem(description: "--socket-group '\(group)': no such group; create it (systemd/schemagate.sysusers) or name another")
        }
        let lockPath = path + ".lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Problem(description: "--socket '\(path)': cannot create \(lockPath): \(String(cString: strerror(errno))); does the directory exist and is it writable?")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw Problem(description: "--socket '\(path)': another schemagate daemon is serving this socket; stop it or give this one its own --socket")
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                close(descriptor)
                throw Problem(description: "--socket '\(path)': a file that is not a socket is in the way; remove it or choose another path")
            }
            if Self.answers(path) {
                close(descriptor)
                throw Problem(description: "--socket '\(path)': a live process is listening on it; stop it or give this daemon its own --socket")
            }
            unlink(path)
        }
        self.path = path
        self.mode = mode
        self.group = group
        self.lockDescriptor = descriptor
    }

    /// Sets the socket's mode and group once it is bound, before anything is reported.
    public func secure() throws(Problem) {
        if let group, let entry = getgrnam(group) {
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                throw Problem(description: "--socket-group '\(group)': cannot give \(path) to it: \(String(cString: strerror(errno)))")
            }
        }
        guard chmod(path, mode) == 0 else {
            throw Problem(description: "--socket '\(path)': cannot set its mode: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the socket on the way out; the lock file stays (removing it would race a successor).
    public func release() {
        unlink(path)
        close(lockDescriptor)
    }

    /// Whether something accepts connections on `path`.
    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8.prefix(buffer.count - 1))
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}
