import VFIOHost
import VFIOModel

/// Runs `modprobe MODULE`, but only on the real host: under any other root prefix there is no
/// kernel to load a module into, so it fails with a message saying what to do.
public struct RealModuleLoader: ModuleLoading {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public func load(_ module: String) throws(VFIOError) {
        guard root.isHostRoot else {
            throw .unavailable("driver \(module) is not loaded under \(root.prefix) and modules can only be loaded on the running host (modprobe \(module))")
        }
        try DriverName.validate(module, from: "modprobe")
        let status = Subprocess.run(["modprobe", module])
        guard status == 0 else {
            throw .unavailable(
                "cannot load \(module): modprobe \(module) " + (status < 0 ? "could not be run" : "exited with status \(status)")
                    + " (is the module installed for this kernel?)")
        }
    }
}
