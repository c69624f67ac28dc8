import VFIOModel

extension ShowRendering {
    package static func config(_ report: ConfigReport, color: Bool) -> String {
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
