import Foundation
import SchemagateCore
import Testing

/// The status JSON carries the contract waits, and the `incompatible` state answers like a failure.
@Suite("status: contract waits and incompatibility")
struct DaemonStatusContractTests {
    func status(_ state: DaemonStatus.State) -> DaemonStatus {
        var status = DaemonStatus(instance: "i", host: "app-1", pid: 7, now: Date(timeIntervalSince1970: 1_800_000_000))
        status.enter(state, at: Date(timeIntervalSince1970: 1_800_000_001))
        return status
    }

    @Test func contractWaitsSurviveTheRoundTrip() throws {
        var sent = status(.ready)
        sent.contractWaits = [.init(version: 3, name: "0003_drop_name",
                                    message: "0003_drop_name waits for 1 instance on release A: app-2 pid 812",
                                    holders: ["app-2 pid 812 (release A, target 1)"])]
        let data = try DaemonStatus.encoder().encode(sent)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""contract_waits":[{"holders":["app-2 pid 812 (release A, target 1)"],"message":"0003_drop_name waits for 1 instance on release A: app-2 pid 812","name":"0003_drop_name","version":3}]"#))
        let received = try DaemonStatus.decoder().decode(DaemonStatus.self, from: data)
        #expect(received.contractWaits == sent.contractWaits)
    }

    @Test func aStatusFromAnOlderDaemonHasNoWaits() throws {
        var object = try JSONSerialization.jsonObject(with: try DaemonStatus.encoder().encode(status(.ready))) as! [String: Any]
        object.removeValue(forKey: "contract_waits")
        let decoded = try DaemonStatus.decoder().decode(DaemonStatus.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(decoded.contractWaits.isEmpty)
    }

    @Test func incompatibleIsSettledAndNotReady() {
        let incompatible = status(.incompatible)
        #expect(!incompatible.ready && incompatible.isSettled, "a /wait must not hang on a release that cannot work")
        #expect(StatusAnswer.wait(incompatible).code == 500)
        #expect(StatusAnswer.health(incompatible).code == 503)
        #expect(StatusAnswer.exitCode(incompatible) == .failed)
    }
}
