/// What a VM manager's hook did for one VM.
public enum HookOutcome: Sendable {
    /// The VM has no devices for vfioctl (or the phase is not one vfioctl acts on).
    case nothing
    /// prepare / pre-start: the VM's devices and their groups moved to vfio-pci.
    case prepared(BindOutcome)
    /// release / post-stop: the devices bound for the VM given back.
    case released(ReleaseOutcome)

    public var exitStatus: ExitStatus {
        switch self {
        case .nothing: .success
        case .prepared(let outcome): outcome.exitStatus
        case .released(let outcome): outcome.exitStatus
        }
    }
}
