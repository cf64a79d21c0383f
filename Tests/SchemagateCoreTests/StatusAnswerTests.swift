import Foundation
@testable import SchemagateCore
import Testing

@Suite("status answers, listen addresses, the status document")
struct StatusAnswerTests {
    func status(_ state: DaemonStatus.State) -> DaemonStatus {
        var status = DaemonStatus(instance: "i-1", host: "host-a", pid: 812, now: Date(timeIntervalSince1970: 1_000))
        status.enter(state, at: Date(timeIntervalSince1970: 1_001))
        return status
    }

    @Test(arguments: DaemonStatus.State.allCases)
    func everyStateAnswersEveryEndpoint(_ state: DaemonStatus.State) {
        let current = status(state)
        let health = StatusAnswer.health(current)
        let wait = StatusAnswer.wait(current)
        switch state {
        case .ready:
            #expect(health.code == 200 && health.retryAfter == nil)
            #expect(wait.code == 200)
            #expect(StatusAnswer.exitCode(current) == .success)
            #expect(current.isSettled && current.ready)
        case .failed:
            #expect(health.code == 503 && health.retryAfter == 1)
            #expect(wait.code == 500)
            #expect(StatusAnswer.exitCode(current) == .failed)
            #expect(current.isSettled && !current.ready)
        case .stopping:
            #expect(health.code == 503)
            #expect(wait.code == 503 && wait.retryAfter == 1)
            #expect(StatusAnswer.exitCode(current) == .notReady)
            #expect(current.isSettled, "a wait ends when the daemon goes away")
        case .starting, .connecting, .waiting, .migrating, .regressed:
            #expect(health.code == 503 && health.retryAfter == 1)
            #expect(wait.code == 503)
            #expect(StatusAnswer.exitCode(current) == .notReady)
            #expect(!current.isSettled && !current.ready)
        }
    }

    @Test func waitTimeouts() throws {
        #expect(try StatusAnswer.waitTimeout(nil) == .seconds(30))
        #expect(try StatusAnswer.waitTimeout("2.5") == .milliseconds(2500))
        #expect(try StatusAnswer.waitTimeout("-1") == .zero)
        #expect(try StatusAnswer.waitTimeout("999999") == .seconds(3600))
        #expect(throws: StatusAnswer.TimeoutProblem.notANumber("soon")) { try StatusAnswer.waitTimeout("soon") }
        #expect(throws: StatusAnswer.TimeoutProblem.notANumber("inf")) { try StatusAnswer.waitTimeout("inf") }
    }

    @Test func enteringTheSameStateKeepsItsStart() {
        var current = status(.waiting)
        current.enter(.waiting, at: Date(timeIntervalSince1970: 2_000))
        #expect(current.since == Date(timeIntervalSince1970: 1_001))
        current.enter(.migrating, at: Date(timeIntervalSince1970: 2_000))
        #expect(current.since == Date(timeIntervalSince1970: 2_000))
    }

    @Test func listenAddresses() throws {
        #expect(try ListenAddress.parse("127.0.0.1:8473") == ListenAddress(host: "127.0.0.1", port: 8473))
        #expect(try ListenAddress.parse("[::1]:8473") == ListenAddress(host: "::1", port: 8473))
        #expect(try ListenAddress.parse("localhost:0") == ListenAddress(host: "localhost", port: 0))
        #expect(ListenAddress(host: "::1", port: 80).description == "[::1]:80")
        for bad in ["8473", ":8473", "::1:8473", "host:http", "host:70000", "host:-1"] {
            #expect(throws: ListenAddress.Problem.self, "\(bad)") { try ListenAddress.parse(bad) }
        }
    }

    @Test func theDocumentHasSpecSevensFieldsAndRoundTrips() throws {
        var current = status(.waiting)
        current.currentVersion = 2
        current.targetVersion = 4
        current.pending = [.init(version: 3, name: "0003_add_index"), .init(version: 4, name: "0004_more")]
        current.lock = .init(owner: "other", host: "host-b", pid: 99, heldSince: Date(timeIntervalSince1970: 1_000), ours: false)
        current.lastError = "could not connect"
        let data = try DaemonStatus.encoder(now: Date(timeIntervalSince1970: 1_004.5)).encode(current)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["state", "ready", "current_version", "target_version", "pending", "lock", "last_error", "instance", "since"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["state"] as? String == "waiting")
        #expect(object["ready"] as? Bool == false)
        #expect(object["lock_held_for_seconds"] as? Double == 4.5)
        #expect(object["uptime_seconds"] as? Double == 4.5)
        #expect(object["since"] as? String == "1970-01-01T00:16:41Z")
        let decoded = try DaemonStatus.decoder().decode(DaemonStatus.self, from: data)
        #expect(decoded.state == .waiting && decoded.pending == current.pending && decoded.lock == current.lock)
        #expect(decoded.reportedLockHeldFor == 4.5)
    }
}
