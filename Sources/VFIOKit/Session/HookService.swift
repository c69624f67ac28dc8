import VFIOHost
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

extension HostSession {
    /// Before a VM starts: binds `devices` to vfio-pci with every other endpoint of their
    /// groups (QEMU needs whole groups), as one transaction, recording each moved device as
    /// bound for `domain`. A device already on vfio-pci stays as it is and keeps its record
    /// (a device bound by hand is not given back when the VM stops).
    public func prepareVM(_ domain: String, devices: [PCIAddress]) throws(VFIOError) -> HookOutcome {
        guard !devices.isEmpty else { return .nothing }
        var request = BindRequest(targets: devices.map(Target.address), wholeGroup: true)
        request.domain = domain
        return .prepared(try bind(request))
    }

    /// After a VM stopped: every device recorded as bound for `domain` back to the driver it
    /// had, group by group, each only once no process (QEMU tearing down) holds any member,
    /// waiting at most `timeout`. A group still held then is left as it is (exit 3).
    public func releaseVM(_ domain: String, timeout: Duration) throws(VFIOError) -> HookOutcome {
        guard try store.load().devices.contains(where: { $0.domain == domain }) else { return .nothing }
        return .released(try restore(wait: ReleaseWait(timeout: timeout), domain: domain))
    }
}

extension HostSession {
    /// Proxmox `pre-start`: the guest's `hostpciN` devices (slots expanded to their functions,
    /// mappings looked up in `/etc/pve/mapping/pci.cfg` for this node), then `prepareVM`.
    public func prepareVM(proxmox guest: ProxmoxGuest) throws(VFIOError) -> HookOutcome {
        guard !guest.entries.isEmpty else { return .nothing }
        let inventory = try InventoryReader(root: root, database: nil, fields: .forChanges).read()
        let root = self.root
        let devices = try guest.devices(inventory: inventory, node: ProxmoxGuest.nodeName(root: root)) {
            Sysfs.readBytes(root.path(ProxmoxGuest.mappingFile), limit: 1 << 22).map { String(decoding: $0, as: UTF8.self) }
        }
        return try prepareVM(guest.vmid, devices: devices)
    }
}

extension HostSession {
    /// A Proxmox guest's `hostpci` entries from `/etc/pve/qemu-server/VMID.conf` under the root
    /// (or `conf`), for `prepareVM(proxmox:)`.
    public func proxmoxGuest(_ vmid: String, conf: String? = nil) throws(VFIOError) -> ProxmoxGuest {
        try ProxmoxGuest.load(vmid: vmid, root: root, conf: conf)
    }

    /// The domain XML a libvirt hook is given: `file`, or standard input.
    public static func hookInput(file: String?) throws(VFIOError) -> String {
        let limit = 16 << 20
        if let file {
            guard let bytes = Sysfs.readBytes(file, limit: limit) else { throw .usage("cannot read \(file)") }
            return String(decoding: bytes, as: UTF8.self)
        }
        guard let bytes = Sysfs.readBytes(fd: STDIN_FILENO, limit: limit), !bytes.isEmpty else {
            throw .usage("no domain XML on standard input")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
