/// How far a run goes when live instances of older releases hold a contract migration back.
public enum ContractPolicy: Sendable, Equatable {
    /// `migrate`: apply what the gate allows and finish; the waits are reported.
    case applyAllowed
    /// `migrate --wait-for-contract`: wait until no contract migration waits, up to `--lock-wait`.
    case waitForContracts
    /// The daemon: finish once ready (contract migrations at the folder's end do not hold it back).
    case untilReady
}
