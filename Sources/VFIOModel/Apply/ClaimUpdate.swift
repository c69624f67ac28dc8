/// What `apply` did to the claim-at-add files.
public struct ClaimUpdate: Sendable, Equatable {
    public var dryRun: Bool
    /// Host-absolute paths written (or, in a dry run, that would be).
    public var written: [String] = []
    public var removed: [String] = []
    public var unchanged: [String] = []
    public var errors: [String] = []
    /// Host drivers of claimed devices that are built into the kernel: no rule can keep them off.
    public var builtInDrivers: [String] = []
    /// The devices and ids the rule claims.
    public var claims: [ClaimFiles.Claim] = []
    /// `udevadm control --reload` was run (or would be).
    public var udevReloaded = false

    public init(dryRun: Bool) {
        self.dryRun = dryRun
    }

    public var changed: Bool { !written.isEmpty || !removed.isEmpty }

    /// The modprobe file or the hook changed: the initramfs needs `update-initramfs -u`.
    public var initramfsStale: Bool {
        (written + removed).contains { $0 == ClaimFiles.modprobePath || $0 == ClaimFiles.initramfsHookPath }
    }

    public static let initramfsCommand = "update-initramfs -u"
}
