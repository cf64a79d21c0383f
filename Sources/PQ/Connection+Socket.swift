#if canImport(Glibc)
import Glibc
#endif

extension Connection {
    /// What this end of the connection's socket is: a Unix socket peer's process id (from
    /// `SO_PEERCRED`: the process that listens, postmaster or a pooler) or a TCP local port.
    public enum SocketEnd: Sendable, Equatable {
        case unix(peerPID: Int32?)
        case tcp(localPort: Int)
        case unknown
    }

    public var socketEnd: SocketEnd {
        let descriptor = socketDescriptor
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { return .unknown }
        switch Int32(storage.ss_family) {
        case AF_UNIX:
            // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc hides it behind _GNU_SOURCE).
            var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
            var size = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
            let read = getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &size)
            return .unix(peerPID: read == 0 ? credentials.pid : nil)
        case AF_INET:
            let port = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
            return .tcp(localPort: Int(port))
        case AF_INET6:
            let port = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return .tcp(localPort: Int(port))
        default:
            return .unknown
        }
    }
}
