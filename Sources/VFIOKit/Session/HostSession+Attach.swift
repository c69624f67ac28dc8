import VFIOHost
import VFIOModel
import VFIOWriters

extension HostSession {
    /// Whether VFIO will attach each of `groups` on this host: the IOMMU units behind them,
    /// the interrupt chips and the allow_unsafe_interrupts switches, read now.
    public func attachVerdicts(_ groups: [Int]) -> [Int: AttachVerdict] {
        IOMMUPlatformReader(root: root).attachVerdicts(groups)
    }
}

extension IOMMUPlatformReader {
    public func attachVerdicts(_ groups: [Int]) -> [Int: AttachVerdict] {
        guard !groups.isEmpty else { return [:] }
        let platform = read(groups: groups)
        var verdicts: [Int: AttachVerdict] = [:]
        for id in groups { verdicts[id] = platform.attachVerdict(group: id) }
        return verdicts
    }
}
