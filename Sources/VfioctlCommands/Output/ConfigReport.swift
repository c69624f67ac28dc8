import VFIOKit

/// What `show` reports from config space: capabilities, interrupts, PCIe link and FLR, ACS on the
/// device and on every port above it.
struct ConfigReport: Encodable {
    /// Bytes of config space that could be read (64 for an unprivileged reader).
    var readableBytes: Int
    var capabilities: [ConfigSpace.Capability]
    @Nullable var msi: ConfigSpace.MSI?
    @Nullable var msix: ConfigSpace.MSIX?
    @Nullable var express: ConfigSpace.Express?
    /// FLR through PCIe Device Capabilities or the Advanced Features capability; nil when unknown.
    @Nullable var flr: Bool?
    @Nullable var acs: ConfigSpace.ACS?
    var upstreamACS: [UpstreamACS]

    struct UpstreamACS: Encodable {
        var address: String
        /// nil: the port has no ACS capability (or it could not be read).
        @Nullable var acs: ConfigSpace.ACS?
    }

    struct Reader {
        let database: PCIDatabase?
        let inventory: HostInventory

        func report(for device: PCIDevice) -> ConfigReport {
            let space = database?.fullConfigSpace(device.address)
            var upstream: [UpstreamACS] = []
            var seen = Set<PCIAddress>()
            var parent = device.parent
            while let address = parent, seen.insert(address).inserted {
                upstream.append(UpstreamACS(address: address.description, acs: database?.fullConfigSpace(address)?.acs))
                parent = inventory.device(address)?.parent
            }
            let express = space?.express
            var flr: Bool?
            if let space, space.hasCapabilityArea { flr = (express?.flr ?? false) || space.advancedFeaturesFLR }
            return ConfigReport(
                readableBytes: space?.bytes.count ?? 0, capabilities: space?.capabilities ?? [], msi: space?.msi, msix: space?.msix,
                express: express, flr: flr, acs: space?.acs, upstreamACS: upstream)
        }
    }
}

extension ShowRendering {
    static func config(_ report: ConfigReport, color: Bool) -> String {
        var out = ""
        if report.readableBytes < 256 {
            out += field("Config space", "only \(report.readableBytes) bytes readable; run as root for capabilities, MSI-X, FLR and ACS")
            return out
        }
        let names = report.capabilities.map { $0.name + " [" + String($0.offset, radix: 16) + "]" }
        out += field("Capabilities", names.isEmpty ? "none" : names.joined(separator: ", "))
        if let msi = report.msi {
            out += field("MSI", "\(msi.vectors) vector\(msi.vectors == 1 ? "" : "s"), " + (msi.enabled ? "enabled" : "disabled") + (msi.is64Bit ? ", 64-bit" : ""))
        }
        if let msix = report.msix {
            out += field(
                "MSI-X", "table size \(msix.tableSize), " + (msix.enabled ? "enabled" : "disabled") + ", table in BAR \(msix.tableBAR) at 0x" + String(msix.tableOffset, radix: 16))
        }
        if let express = report.express {
            var text = express.portType
            if let speed = express.linkStatusSpeed, let width = express.linkStatusWidth {
                text += ", link " + speed + " x" + String(width)
                if let capSpeed = express.linkCapabilitySpeed, let capWidth = express.linkCapabilityWidth, capSpeed != speed || capWidth != width {
                    text += " (capable of " + capSpeed + " x" + String(capWidth) + ")"
                }
            }
            out += field("PCI Express", text)
        }
        if let flr = report.flr { out += field("FLR", flr ? "supported" : "not supported") }
        if let acs = report.acs {
            out += field("ACS", (acs.isolates ? "isolating" : "not isolating") + "; control " + acs.control.lspciText)
        }
        for port in report.upstreamACS {
            let text: String
            if let acs = port.acs {
                text = (acs.isolates ? Paint.green("isolating", color) : Paint.red("not isolating", color)) + "; control " + acs.control.lspciText
            } else {
                text = "no ACS capability (peer-to-peer traffic below it is not isolated)"
            }
            out += field("ACS above", port.address + ": " + text)
        }
        return out
    }
}
