import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Plays systemd's side of sd_notify: a Unix datagram socket to pass as `NOTIFY_SOCKET`, which
/// collects every message the child sends, in order.
public final class NotifyListener: @unchecked Sendable {
    // @unchecked: `received` is guarded by `lock`; the socket is read by one thread.
    public let path: String
    private let descriptor: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var arrivals: [Date] = []
    private var onMessage: (@Sendable (String) -> Void)?

    /// Calls `handler` on the receiving thread the moment each later message arrives, before a
    /// test polling `lines` could see it: to act on a message as fast as systemd could.
    public func onEachMessage(_ handler: @escaping @Sendable (String) -> Void) {
        lock.lock()
        onMessage = handler
        lock.unlock()
    }

    public init() throws {
        path = "/tmp/sg-notify-\(UUID().uuidString.prefix(8)).sock"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            _ = path.utf8CString.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw HarnessError("cannot bind \(path): \(String(cString: strerror(errno)))") }
        let fd = descriptor
        Thread.detachNewThread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count < 0 && errno == EINTR { continue }
                guard count > 0, let self else { return }
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                self.lock.lock()
                self.received.append(message)
                self.arrivals.append(Date())
                let handler = self.onMessage
                self.lock.unlock()
                handler?(message)
            }
        }
    }

    deinit {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
        unlink(path)
    }

    /// Every message so far (each may hold several `KEY=value` lines).
    public var messages: [String] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Every `KEY=value` line so far, in order.
    public var lines: [String] { messages.flatMap { $0.split(separator: "\n").map(String.init) } }

    /// When the first message with a line satisfying `predicate` arrived.
    public func timeOf(_ predicate: (String) -> Bool) -> Date? {
        lock.lock()
        defer { lock.unlock() }
        return received.indices.first { received[$0].split(separator: "\n").map(String.init).contains(where: predicate) }.map { arrivals[$0] }
    }

    /// Waits until a line satisfies `predicate`; false on timeout.
    public func waitFor(seconds: Double = 60, _ predicate: (String) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if lines.contains(where: predicate) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
