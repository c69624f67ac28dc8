import CLibPCI
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// libpci, pointed at one sysfs tree: the ID database for names (never parse `pci.ids` by hand)
/// and, for `show`, config space as libpci reads it. One handle per process is plenty; it is
/// not thread-safe, so it is used from one place at a time.
public final class PCIDatabase {
    private let handle: UnsafeMutablePointer<pci_access>
    /// The thread reading the ID database ahead of the first lookup (`preloadNames`).
    private var loader: pthread_t?
    /// The handle, once no loader thread is using it: every use of libpci goes through here.
    private var access: UnsafeMutablePointer<pci_access> {
        if let loader {
            pthread_join(loader, nil)
            self.loader = nil
        }
        return handle
    }
    private var buffer = [CChar](repeating: 0, count: 1024)

    /// - Parameters:
    ///   - root: the host root; libpci's `sysfs.path` is `<root>/sys/bus/pci`.
    ///   - idsFile: an alternative `pci.ids`; nil uses libpci's default.
    public init?(root: HostRoot, idsFile: String? = nil) {
        // libpci's error hook exits the process. The sys method's init does not touch the tree,
        // and reads of missing files only warn, so handing it a path that may not exist is safe.
        guard let handle = vfioctl_pci_open(root.sysBusPCI, idsFile) else { return nil }
        self.handle = handle
    }

    /// Reads an `lspci -x`/`-xxxx` dump through libpci's dump method. The caller checks the file
    /// exists first: libpci treats an unreadable dump as fatal.
    public init?(dumpFile: String) {
        guard Sysfs.exists(dumpFile), let handle = vfioctl_pci_open_dump(dumpFile) else { return nil }
        self.handle = handle
    }

    /// The functions libpci found by scanning (for a dump: every function in it).
    public func scannedAddresses() -> [PCIAddress] {
        var result: [PCIAddress] = []
        var dev = access.pointee.devices
        while let d = dev {
            result.append(
                PCIAddress(domain: UInt32(truncatingIfNeeded: d.pointee.domain), bus: d.pointee.bus, device: d.pointee.dev, function: d.pointee.func))
            dev = d.pointee.next
        }
        return result.sorted()
    }

    deinit {
        pci_cleanup(access)
    }

    /// Starts reading the ID database on a thread of its own, for a caller with other work to
    /// do meanwhile (the inventory's sysfs reads). libpci otherwise parses all of `pci.ids` at
    /// the first name lookup, milliseconds spent after the reads when nothing else runs. The
    /// handle is not thread-safe: every other use waits for that thread first (`access`).
    public func preloadNames() {
        guard loader == nil else { return }
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { raw in
                // A database that cannot be read is libpci's to report at the first lookup,
                // as without the preload.
                _ = pci_load_name_list(raw!.assumingMemoryBound(to: pci_access.self))
                return nil
            }, UnsafeMutableRawPointer(handle))
        if started == 0 { loader = thread }
    }

    private func lookup(_ body: (UnsafeMutablePointer<pci_access>, UnsafeMutablePointer<CChar>, Int32) -> UnsafePointer<CChar>?) -> String? {
        buffer.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress, let result = body(access, base, Int32(buf.count)) else { return nil }
            return String(cString: result)
        }
    }

    public func vendorName(_ vendor: UInt16) -> String? {
        lookup { vfioctl_pci_vendor_name($0, $1, $2, UInt32(vendor)) }
    }

    public func deviceName(vendor: UInt16, device: UInt16) -> String? {
        lookup { vfioctl_pci_device_name($0, $1, $2, UInt32(vendor), UInt32(device)) }
    }

    /// "Vendor Name Device Name" for a subsystem, as lspci's `Subsystem:` line shows it.
    public func subsystemName(vendor: UInt16, device: UInt16, subsystemVendor: UInt16, subsystemDevice: UInt16) -> String? {
        let vendorPart = lookup { vfioctl_pci_subsystem_vendor_name($0, $1, $2, UInt32(subsystemVendor)) }
        let devicePart = lookup {
            vfioctl_pci_subsystem_name($0, $1, $2, UInt32(vendor), UInt32(device), UInt32(subsystemVendor), UInt32(subsystemDevice))
        }
        switch (vendorPart, devicePart) {
        case (nil, nil): return nil
        case (let v?, nil): return v
        case (nil, let d?): return d
        case (let v?, let d?): return d.hasPrefix(v) ? d : v + " " + d
        }
    }

    /// The most specific class name libpci knows: subclass, else base class.
    public func className(_ classCode: UInt32) -> String? {
        // libpci falls back to the base class by itself, then appends " [xxxx]"; callers add the
        // numbers they want, so that suffix is dropped.
        guard var name = lookup({ vfioctl_pci_class_name($0, $1, $2, classCode >> 8) }) else { return nil }
        if name.hasSuffix("]"), let open = name.lastIndex(of: "["), open > name.startIndex {
            name = String(name[..<open])
            while name.last == " " { name.removeLast() }
        }
        return name
    }

    /// The names of a function. A host has thousands of functions but few distinct ids, so
    /// results are remembered per id tuple and each is looked up (and copied out of libpci)
    /// once.
    /// - Parameter subsystem: also name the subsystem (when the function has subsystem ids).
    public func names(for device: PCIDevice, subsystem: Bool = true) -> PCIDevice.Names {
        var key = NamesKey(vendor: device.vendorID, device: device.deviceID, classID: device.classCode >> 8, subsystemVendor: 0, subsystemDevice: 0)
        var withSubsystem = false
        if subsystem, let sv = device.subsystemVendorID, let sd = device.subsystemDeviceID, sv != 0 || sd != 0 {
            key.subsystemVendor = sv
            key.subsystemDevice = sd
            withSubsystem = true
        }
        if let known = namesCache[key] { return known }
        var names = PCIDevice.Names()
        names.vendor = vendorName(device.vendorID)
        names.device = deviceName(vendor: device.vendorID, device: device.deviceID)
        if withSubsystem {
            names.subsystem = subsystemName(
                vendor: device.vendorID, device: device.deviceID, subsystemVendor: key.subsystemVendor, subsystemDevice: key.subsystemDevice)
        }
        names.className = className(device.classCode)
        namesCache[key] = names
        return names
    }

    private struct NamesKey: Hashable {
        var vendor: UInt16
        var device: UInt16
        var classID: UInt32
        var subsystemVendor: UInt16
        var subsystemDevice: UInt16
    }
    private var namesCache: [NamesKey: PCIDevice.Names] = [:]

    // MARK: - Config space

    /// Config space of one function as libpci reads it (from `<sysfs>/devices/BDF/config`, or
    /// from the dump). Returns nil when the function or its config file is not there.
    public func configSpace(_ address: PCIAddress, length: Int = 256) -> [UInt8]? {
        let dev: UnsafeMutablePointer<pci_dev>?
        var owned = false
        if access.pointee.method == PCI_ACCESS_DUMP.rawValue {
            dev = scannedDevice(address)
        } else {
            dev = pci_get_dev(access, Int32(address.domain), Int32(address.bus), Int32(address.device), Int32(address.function))
            owned = true
        }
        guard let dev else { return nil }
        defer { if owned { pci_free_dev(dev) } }
        var bytes = [UInt8](repeating: 0, count: length)
        let ok = bytes.withUnsafeMutableBufferPointer { pci_read_block(dev, 0, $0.baseAddress, Int32(length)) }
        return ok != 0 ? bytes : nil
    }

    /// As much config space as can be read: 4096 bytes (PCIe, as root), 256 (conventional PCI,
    /// as root) or the 64 bytes sysfs gives an unprivileged reader.
    public func fullConfigSpace(_ address: PCIAddress) -> ConfigSpace? {
        for length in [4096, 256, 64] {
            if let bytes = configSpace(address, length: length) { return ConfigSpace(bytes) }
        }
        return nil
    }

    private func scannedDevice(_ address: PCIAddress) -> UnsafeMutablePointer<pci_dev>? {
        var dev = access.pointee.devices
        while let d = dev {
            if UInt32(truncatingIfNeeded: d.pointee.domain) == address.domain, d.pointee.bus == address.bus, d.pointee.dev == address.device,
                d.pointee.func == address.function
            {
                return d
            }
            dev = d.pointee.next
        }
        return nil
    }
}
