/// What `doctor` looks at, read once from the host. Reading is separate from judging so the
/// verdicts are plain functions of these facts.
public struct DoctorFacts: Sendable {
    /// The IOMMU units, interrupt chips and VFIO's unsafe-interrupt switches
    /// (`IOMMUPlatformReader`).
    public var platform = IOMMUPlatform()
    public var groupCount = 0
    /// Default domain type → number of groups with it.
    public var groupTypes: [String: Int] = [:]
    public var commandLine: [String] = []
    public var kernelRelease: String?
    /// vfio-pci's driver directory exists (loaded or built in).
    public var vfioPCIDriverPresent = false
    /// Module names under /sys/module (vfio, vfio_pci, vfio_iommu_type1, iommufd).
    public var loadedModules: Set<String> = []
    /// vfio-pci is in modules.dep or modules.builtin for the running kernel; nil when unknown.
    public var vfioPCIAvailable: Bool?
    public var noIOMMUMode: Bool?
    /// Groups vfio made in no-IOMMU mode (`vfio-noiommu`); not counted in `groupCount`.
    public var noIOMMUGroups: [Int] = []
    /// The VFIO interfaces of the running kernel (group nodes, device cdevs).
    public var interfaces = VFIOInterfaces(groups: true, cdevs: false)
    public var inventory: HostInventory?
    /// What vfioctl recorded in its state file; nil when the file is unreadable.
    public var recorded: HostState?
    /// Why the state file could not be read.
    public var stateError: String?
    /// For each owner of VFIO nodes in the state file, the pam_limits `memlock` entry that
    /// applies to it (nil: none, the default applies).
    public var memlock: [(owner: NodeOwner, entry: MemlockLimits.Entry?)] = []
    /// The running kernel's `vfio_pci:` aliases (modules.alias).
    public var vfioAliases: [VFIOAlias] = []
    /// What the host runs in, when it is a virtual machine (`Hypervisor.read`); nil on bare metal.
    public var hypervisor: Hypervisor?
    /// The desired-state file (nil: none, or it does not parse) and what it claims at add.
    public var claims: [ClaimFiles.Claim] = []
    /// The claim rule file exists, and whether it was there before this boot (nil: unknown).
    public var claimRule: (present: Bool, beforeBoot: Bool?) = (false, nil)

    public init() {}

    public func parameter(_ name: String) -> String? {
        for argument in commandLine {
            if argument == name { return "" }
            if argument.hasPrefix(name + "=") { return String(argument.dropFirst(name.count + 1)) }
        }
        return nil
    }
}
