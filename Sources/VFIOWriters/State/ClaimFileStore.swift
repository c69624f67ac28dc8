import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Writes and removes the claim-at-add files (`ClaimFiles`) under the root prefix, through
/// `AtomicFile`; only `ClaimFiles.allPaths` are ever touched.
public struct ClaimFileStore: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    /// The modules of the host drivers the claimed devices have now or had before vfioctl
    /// moved them (the state file), and those of the drivers that are built in (no `module`
    /// link in the driver's directory: they bind at device add, before any rule can run).
    public func hostDrivers(of claims: [ClaimFiles.Claim], inventory: HostInventory, state: HostState?) -> (modules: [String], builtIn: [String]) {
        var drivers = Set<String>()
        for device in inventory.devices {
            guard claims.contains(where: { $0.covers(device) }) else { continue }
            for driver in [device.driver, state?[device.address]?.originalDriver] {
                if let driver, !DriverName.isVFIO(driver), driver != "pci-stub" { drivers.insert(driver) }
            }
        }
        var modules: [String] = []
        var builtIn: [String] = []
        for driver in drivers.sorted() {
            let directory = root.path(SysfsPaths.driverDirectory(driver))
            guard Sysfs.isDirectory(directory) else { continue }
            // The module's name can differ from the driver's (xhci_hcd is xhci_pci's driver).
            // A built-in driver has the link too (module_add_driver() makes /sys/module/NAME
            // for it), but only a loadable module has `initstate` there.
            if let module = Sysfs.linkName(directory + "/module"), Sysfs.exists(root.path("/sys/module/" + module + "/initstate")) {
                modules.append(module)
            } else {
                builtIn.append(driver)
            }
        }
        return (modules, builtIn)
    }

    /// Whether the root has initramfs-tools, so the hook is worth writing.
    public var hasInitramfsTools: Bool { Sysfs.isDirectory(root.path("/etc/initramfs-tools")) }

    /// Makes the files on disk be `files.files` (and none of the others); with `dryRun`, only
    /// says what would change.
    public func sync(_ files: ClaimFiles, dryRun: Bool) -> ClaimUpdate {
        var update = ClaimUpdate(dryRun: dryRun)
        let wanted = files.files
        for file in wanted {
            let current = Sysfs.readBytes(root.path(file.path), limit: 1 << 20)
            if current == Array(file.text.utf8) {
                update.unchanged.append(file.path)
                continue
            }
            if !dryRun {
                let directory = String(file.path[..<(file.path.lastIndex(of: "/") ?? file.path.endIndex)])
                do {
                    try AtomicFile.write(Array(file.text.utf8), to: root.path(file.path), directory: root.path(directory), mode: mode_t(file.mode))
                } catch {
                    update.errors.append(error.message)
                    continue
                }
            }
            update.written.append(file.path)
        }
        for path in ClaimFiles.allPaths where !wanted.contains(where: { $0.path == path }) {
            if dryRun {
                if Sysfs.exists(root.path(path)) { update.removed.append(path) }
                continue
            }
            do {
                if let gone = try UdevRuleStore.unlinkIfPresent(root.path(path), shown: path) { update.removed.append(gone) }
            } catch {
                update.errors.append(error.message)
            }
        }
        return update
    }
}
