/// What a migrate run does next after reading the schema and the fleet: decided by
/// `ContractGate.step`, carried out by the migrator.
public enum ContractStep: Equatable, Sendable {
    /// Run the lock protocol up to this version, then read again.
    case apply(upTo: Int64)
    /// Done: report ready (or, for `migrate`, the waits) and return.
    case finish
    /// Nothing may be applied yet and the policy says wait: read again after a pause.
    case wait
    /// `--wait-for-contract` ran out of `--lock-wait` with this migration still held back.
    case giveUp(ContractGate.Wait)
    /// A contract migration above the target is applied: this release cannot work.
    case incompatible(ContractGate.AppliedContract)
}

extension ContractGate {
    /// Whether `step` can need the fleet at all. At exactly the target it cannot: nothing is
    /// pending to hold back, and no applied contract lies above the target and at or below the
    /// version, so the answer is `.finish` whoever is live. A run there skips reading the fleet.
    public static func needsFleet(applied: Int64, target: Int64) -> Bool {
        applied != target
    }

    /// The next step for a run at `current` under `policy`; `waitedTooLong` when `--lock-wait`
    /// has passed since the run began.
    public func step(current: Int64, policy: ContractPolicy, waitedTooLong: Bool) -> ContractStep {
        if case .incompatible(let contract) = readiness { return .incompatible(contract) }
        if applyLimit > current { return .apply(upTo: applyLimit) }
        let done: Bool
        switch policy {
        case .applyAllowed: done = true
        case .untilReady: done = readiness == .ready
        case .waitForContracts: done = waits.isEmpty && readiness == .ready
        }
        if done { return .finish }
        if policy == .waitForContracts, waitedTooLong, let first = waits.first { return .giveUp(first) }
        return .wait
    }
}
