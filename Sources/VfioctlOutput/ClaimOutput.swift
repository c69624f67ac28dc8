import VFIOModel

/// The `claim` member of `apply --json`.
package struct ClaimUpdateDocument: Encodable {
    /// Host-absolute paths written (in a dry run: that would be written).
    package var written: [String]
    package var removed: [String]
    package var unchanged: [String]
    /// `address` or `vendor:device` of each claim, with its driver.
    package var claims: [Claim]
    package var builtInDrivers: [String]
    package var udevReloaded: Bool
    /// `update-initramfs -u` is needed for the initramfs to have the new files.
    @Nullable package var initramfsCommand: String?
    package var errors: [String]

    package struct Claim: Encodable {
        var match: String
        var driver: String
        var source: String
    }

    package init(_ update: ClaimUpdate) {
        written = update.written
        removed = update.removed
        unchanged = update.unchanged
        claims = update.claims.map { Claim(match: ClaimRendering.match($0), driver: $0.driver, source: $0.source) }
        builtInDrivers = update.builtInDrivers
        udevReloaded = update.udevReloaded
        initramfsCommand = update.initramfsStale ? ClaimUpdate.initramfsCommand : nil
        errors = update.errors
    }
}

/// Text for the claim-at-add files in `apply`.
package enum ClaimRendering {
    package static func match(_ claim: ClaimFiles.Claim) -> String {
        switch claim.match {
        case .address(let address): address.description
        case .ids(let vendor, let device): Target.ids(vendor: vendor, device: device).description
        }
    }

    /// One line per file changed, then what is left to do; nothing when nothing changed.
    package static func lines(_ update: ClaimUpdate) -> String {
        var out = ""
        for path in update.written { out += "claim      \(path): \(update.dryRun ? "would be " : "")written\n" }
        for path in update.removed { out += "claim      \(path): \(update.dryRun ? "would be " : "")removed\n" }
        if update.udevReloaded { out += "claim      udevadm control --reload: " + (update.dryRun ? "would run\n" : "done\n") }
        if update.initramfsStale { out += "claim      the initramfs \(update.dryRun ? "would be" : "is") out of date: run \(ClaimUpdate.initramfsCommand)\n" }
        for error in update.errors { out += "claim      not done: \(error)\n" }
        if update.changed || !update.errors.isEmpty {
            for driver in update.builtInDrivers {
                out += "claim      \(driver) is built into the kernel and binds at device add, before any rule: its devices are moved after boot\n"
            }
        }
        return out
    }

    /// `--dry-run`: the file changes as comments of the script.
    package static func script(_ update: ClaimUpdate, root: HostRoot) -> String {
        var out = ""
        for path in update.written { out += "# write \(root.path(path)) (claim at device add)\n" }
        for path in update.removed { out += "rm \(root.path(path))\n" }
        if update.udevReloaded { out += "udevadm control --reload\n" }
        if update.initramfsStale { out += "# then: \(ClaimUpdate.initramfsCommand)\n" }
        return out
    }
}
