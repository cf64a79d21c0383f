import Foundation

/// Raw connections to a Unix socket, for what curl will not send (garbage, a request that never
/// ends) and for holding hundreds of requests open from one thread.
enum RawHTTP {
    /// A connected, blocking Unix stream socket.
    static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard withAddress(path, { Foundation.connect(fd, $0, $1) }) == 0 else { close(fd); return nil }
        return fd
    }

    /// Calls `body` (connect, bind) with `path` as a Unix socket address.
    static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8.prefix($0.count - 1)) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads until the peer closes or `timeout` passes; nil when it timed out with the peer still open.
    static func readAll(_ fd: Int32, timeout: Duration) async -> [UInt8]? {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            // Never block the cooperative pool: poll without waiting, sleep between looks.
            let ready = poll(&entry, 1, 0)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { try? await Task.sleep(for: .milliseconds(min(10, max(1, left / .milliseconds(1))))); continue }
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return collected }
            collected.append(contentsOf: buffer[0..<count])
        }
    }

    /// The status code of an HTTP/1.1 response's first line.
    static func statusCode(_ response: [UInt8]) -> Int? {
        let line = String(decoding: response.prefix(32), as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return nil }
        return Int(parts[1])
    }

    static func request(_ path: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: schemagate\r\nConnection: close\r\n\r\n".utf8)
    }

    /// Sends one request on each of `count` connections at once, then collects every response
    /// with poll(2) from this one thread: the status code per connection (nil: no answer).
    static func concurrent(_ socketPath: String, path: String, count: Int, opened: () async -> Void = {}, timeout: Duration) async -> [Int?] {
        let descriptors = (0..<count).compactMap { _ in connect(socketPath) }
        defer { descriptors.forEach { close($0) } }
        for fd in descriptors { send(fd, request(path)) }
        await opened()
        var responses = [[UInt8]](repeating: [], count: descriptors.count)
        var open = Set(descriptors.indices)
        var buffer = [UInt8](repeating: 0, count: 16384)
        let deadline = ContinuousClock.now + timeout
        while !open.isEmpty, ContinuousClock.now < deadline {
            let indices = Array(open)
            var entries = indices.map { pollfd(fd: descriptors[$0], events: Int16(POLLIN), revents: 0) }
            // Never block the cooperative pool: poll without waiting, sleep between looks.
            let ready = poll(&entries, nfds_t(entries.count), 0)
            guard ready > 0 else { try? await Task.sleep(for: .milliseconds(10)); continue }
            for (slot, entry) in entries.enumerated() where entry.revents != 0 {
                let index = indices[slot]
                let count = read(entry.fd, &buffer, buffer.count)
                if count <= 0 { open.remove(index) } else { responses[index].append(contentsOf: buffer[0..<count]) }
            }
        }
        return responses.map(statusCode) + Array(repeating: nil, count: count - descriptors.count)
    }
}
