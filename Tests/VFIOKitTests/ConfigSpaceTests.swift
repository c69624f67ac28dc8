import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

/// Config-space decoding checked against lspci on real devices' dumps (`lspci -xxxx` output,
/// read back through libpci's dump method by both).
@Suite("Config space decoding agrees with lspci")
struct ConfigSpaceTests {
    static let dumpDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Dumps").path
    static var dumps: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dumpDirectory)) ?? []).filter { $0.hasSuffix(".dump") }.sorted()
    }

    /// lspci's verbose text for one function of a dump, split by function.
    static func lspciBlocks(_ dump: String) throws -> [String: String] {
        try lspciBlocks(arguments: ["-vv", "-D", "-F", dump])
    }

    static func lspciBlocks(arguments: [String]) throws -> [String: String] {
        let output = try runProcess("/usr/bin/lspci", arguments, allowFailure: true)
        var blocks: [String: String] = [:]
        for block in output.components(separatedBy: "\n\n") where !block.isEmpty {
            blocks[String(block.prefix(12))] = block
        }
        return blocks
    }

    @Test("there are dumps to test", .enabled(if: Sysfs.exists("/usr/bin/lspci")))
    func haveDumps() {
        #expect(Self.dumps.count >= 1)
    }

    @Test("capabilities, MSI, MSI-X, link, FLR and ACS", .enabled(if: Sysfs.exists("/usr/bin/lspci")), arguments: dumps)
    func agrees(_ name: String) throws {
        let path = Self.dumpDirectory + "/" + name
        let database = try #require(PCIDatabase(dumpFile: path))
        let blocks = try Self.lspciBlocks(path)
        let addresses = database.scannedAddresses()
        #expect(!addresses.isEmpty)
        try Self.compare(database: database, addresses: addresses, blocks: blocks, name: name)
    }

    @Test("fixture trees read through sysfs decode as lspci decodes them", .enabled(if: Sysfs.exists("/usr/bin/lspci") && geteuid() == 0))
    func fixtureAgrees() throws {
        let host = FixtureLayout.desktop.build()
        let database = try #require(PCIDatabase(root: host.root))
        let blocks = try Self.lspciBlocks(arguments: ["-vv", "-D", "-A", "linux-sysfs", "-O", "sysfs.path=" + host.path + "/sys/bus/pci"])
        let addresses = try InventoryReader(root: host.root, database: nil).read().devices.map(\.address)
        #expect(addresses.count == FixtureLayout.desktop.truth.deviceCount)
        try Self.compare(database: database, addresses: addresses, blocks: blocks, name: "fixture")
        let nvmePort = try #require(database.fullConfigSpace(PCIAddress("00:1d.0")!))
        #expect(nvmePort.acs?.isolates == true)
        #expect(database.fullConfigSpace(PCIAddress("01:00.0")!)?.msix?.tableSize == 16)
    }

    static func compare(database: PCIDatabase, addresses: [PCIAddress], blocks: [String: String], name: String) throws {
        for address in addresses {
            let block = try #require(blocks[address.description], "lspci has no \(address)")
            let space = try #require(database.fullConfigSpace(address))
            // Every capability lspci lists, at the same offset.
            let lspciOffsets = block.split(separator: "\n").compactMap { line -> Int? in
                // "[40]" for standard capabilities, "[100 v1]" for extended ones.
                guard let range = line.range(of: "Capabilities: ["),
                    let end = line[range.upperBound...].firstIndex(where: { $0 == "]" || $0 == " " })
                else { return nil }
                return Int(line[range.upperBound..<end], radix: 16)
            }
            #expect(space.capabilities.map(\.offset) == lspciOffsets, "\(name) \(address)")
            if let msix = space.msix {
                #expect(block.contains("MSI-X: Enable" + (msix.enabled ? "+" : "-") + " Count=\(msix.tableSize) "), "\(address)")
            } else {
                #expect(!block.contains("MSI-X:"))
            }
            if let msi = space.msi {
                #expect(block.contains("MSI: Enable" + (msi.enabled ? "+" : "-") + " Count=") && block.contains("/\(msi.vectors) "), "\(address)")
                #expect(block.contains("64bit" + (msi.is64Bit ? "+" : "-")))
            }
            if let express = space.express {
                // lspci prints FLReset for endpoints only.
                if express.portType.hasSuffix("Endpoint") {
                    #expect(block.contains("FLReset" + (express.flr ? "+" : "-")), "\(address)")
                }
                if let speed = express.linkCapabilitySpeed, let width = express.linkCapabilityWidth {
                    #expect(block.contains("LnkCap:") && block.contains("Speed \(speed), Width x\(width)"), "\(address) \(speed) x\(width)")
                }
                if let speed = express.linkStatusSpeed, let width = express.linkStatusWidth {
                    #expect(block.contains("LnkSta:") && block.contains("Speed \(speed)") && block.contains("Width x\(width)"), "\(address)")
                }
            }
            if let acs = space.acs {
                #expect(block.contains("ACSCap:\t" + acs.capability.lspciText), "\(address)")
                #expect(block.contains("ACSCtl:\t" + acs.control.lspciText), "\(address)")
            } else {
                #expect(!block.contains("ACSCap:"))
            }
        }
    }

    @Test("broken capability lists end instead of looping")
    func loops() {
        var bytes = [UInt8](repeating: 0, count: 256)
        bytes[0x06] = 0x10
        bytes[0x34] = 0x40
        bytes[0x40] = 0x05
        bytes[0x41] = 0x40  // points at itself
        #expect(ConfigSpace(bytes).capabilities.count == 1)
        bytes[0x41] = 0xff  // beyond the header area
        #expect(ConfigSpace(bytes).capabilities.count == 2 || ConfigSpace(bytes).capabilities.count == 1)
    }

    @Test("64 unprivileged bytes give no capabilities")
    func shortSpace() {
        var bytes = [UInt8](repeating: 0, count: 64)
        bytes[0x06] = 0x10
        bytes[0x34] = 0x40
        #expect(ConfigSpace(bytes).capabilities.isEmpty)
        #expect(ConfigSpace(bytes).msix == nil)
    }
}
