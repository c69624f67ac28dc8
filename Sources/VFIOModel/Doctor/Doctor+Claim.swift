extension Doctor {
    /// The devices /etc/vfioctl.conf gives to a VFIO driver should never meet their host
    /// driver: one on a host driver now, or one vfioctl moved away from a host driver during
    /// this boot although the claim rule was there before it (the host driver probed it first:
    /// built in, loaded from an initramfs without the rule, or a rule udev did not run).
    static func claimAtAdd(_ facts: DoctorFacts) -> [Finding] {
        guard !facts.claims.isEmpty, let inventory = facts.inventory else { return [] }
        guard facts.claimRule.present else {
            return [
                Finding(
                    "claim-at-add", .warn, "/etc/vfioctl.conf gives devices to VFIO drivers, but \(ClaimFiles.rulePath) is missing: their host drivers probe them first at boot",
                    fix: "vfioctl apply")
            ]
        }
        var findings: [Finding] = []
        for device in inventory.devices {
            guard let claim = facts.claims.first(where: { $0.covers(device) }) else { continue }
            if let driver = device.driver, !DriverName.isVFIO(driver), driver != "pci-stub" {
                findings.append(
                    Finding(
                        "claim-at-add", .warn, "\(device.address) is configured for \(claim.driver) (\(claim.source)) but is on its host driver \(driver)",
                        fix: "vfioctl apply; if it boots on \(driver) again, see the claim-at-add section of vfioctl(8)"))
            } else if facts.claimRule.beforeBoot == true, let record = facts.recorded?[device.address], let host = record.originalDriver,
                !DriverName.isVFIO(host), host != "pci-stub"
            {
                findings.append(
                    Finding(
                        "claim-at-add", .warn,
                        "\(device.address) booted on its host driver \(host) and was moved to \(device.driver ?? claim.driver) afterwards, although \(ClaimFiles.rulePath) was there at boot",
                        fix:
                            "if \(host) is built into the kernel no rule can stop it; if it loads from the initramfs, run update-initramfs -u (the hook puts the rule and the softdep there); check the rule with 'udevadm test /sys/bus/pci/devices/\(device.address)'"
                    ))
            }
        }
        if findings.isEmpty {
            let count = inventory.devices.filter { device in facts.claims.contains { $0.covers(device) } }.count
            findings.append(Finding("claim-at-add", .ok, "\(count) configured device(s) claimed at add by \(ClaimFiles.rulePath); none met its host driver"))
        }
        return findings
    }
}

extension ClaimFiles.Claim {
    /// Whether the claim's rule matches the device.
    public func covers(_ device: PCIDevice) -> Bool {
        switch match {
        case .address(let address): address == device.address
        case .ids(let vendor, let id): device.vendorID == vendor && device.deviceID == id
        }
    }
}
