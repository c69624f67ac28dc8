extension DriverName {
    /// A name that is safe as one path component and as a `modprobe` argument: 1–64 of
    /// `[A-Za-z0-9_.-]`, not starting with `-` or `.`.
    public static func isSafe(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 64, let first = name.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: ".")
        else { return false }
        return name.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: ".")
        }
    }

    /// Checks a driver name the user gave (`--driver`, `--to`, `driver =` in the desired-state
    /// file, a module to load) before any path or command is built from it.
    /// - Parameter source: where the name came from (`--driver`), or nil when the caller adds
    ///   its own location.
    /// - Throws: `.usage`: "invalid driver name 'NAME' for SOURCE: expected …".
    public static func validate(_ name: String, from source: String? = nil) throws(VFIOError) {
        guard !isSafe(name) else { return }
        throw .usage(
            "invalid driver name '\(UntrustedText.printable(name))'" + (source.map { " for " + $0 } ?? "")
                + ": expected 1 to 64 letters, digits, '_', '-' or '.', not starting with '-' or '.' (e.g. vfio-pci, e1000e)", target: source)
    }

    /// Checks the driver a device is bound to now, as read from sysfs, before a plan names it in
    /// a path: a name that fails `isSafe` means the tree is not what the kernel makes.
    /// - Throws: `.unavailable` naming the device.
    public static func validateCurrent(_ name: String?, of address: PCIAddress) throws(VFIOError) {
        guard let name, !isSafe(name) else { return }
        throw .unavailable("\(address) is bound to a driver with an unexpected name '\(UntrustedText.printable(name))'; nothing was changed")
    }
}
