import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@Suite("list and show on fixture layouts")
struct ListShowCommandTests {
    @Test("list --json: every device with its driver and group, every group with its verdict", arguments: FixtureLayout.allCases)
    func listJSON(_ layout: FixtureLayout) throws {
        let host = layout.build()
        let truth = layout.truth
        let run = vfioctl(["list", "--json"], host: host)
        #expect(run.status == 0)
        let json = try run.json()
        #expect(json["schemaVersion"] as? Int == 1)
        let devices = try #require(json["devices"] as? [[String: Any]])
        #expect(devices.count == truth.deviceCount)
        var facts = LayoutFacts(iommuEnabled: try #require(json["iommuEnabled"] as? Bool), devices: [:], groups: [:])
        for device in devices {
            let address = try #require(device["address"] as? String)
            facts.devices[address] = LayoutFacts.Device(
                driver: device["driver"] as? String, group: device["iommuGroup"] as? Int, vendor: try #require(device["vendorID"] as? String),
                isBridge: try #require(device["isBridge"] as? Bool), vfioBound: try #require(device["vfioBound"] as? Bool))
            // Absent facts are null, not missing keys.
            #expect(device.keys.contains("driverOverride"))
        }
        let groups = try #require(json["groups"] as? [[String: Any]])
        #expect(groups.count == truth.groups.count)
        for group in groups {
            let id = try #require(group["id"] as? Int)
            let blockers = (group["blockers"] as? [[String: Any]] ?? []).compactMap { $0["address"] as? String }
            facts.groups[id] = LayoutFacts.Group(
                members: try #require(group["devices"] as? [String]), blockers: blockers, viable: try #require(group["viable"] as? Bool))
        }
        #expect(facts == layout.expectedFacts(host))
    }

    @Test("list text: grouped rows with verdicts, ids, drivers, names and the VFIO mark")
    func listText() throws {
        let host = FixtureLayout.desktop.build()
        let run = vfioctl(["list"], host: host)
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("GROUP") == true)
        let port = try #require(lines.first { $0.contains("0000:00:01.0") })
        #expect(port.hasPrefix("1 blocked"))
        let gpu = try #require(lines.first { $0.contains("0000:01:00.0") })
        #expect(gpu.hasPrefix(" "))
        #expect(gpu.contains("[10de:2204]"))
        #expect(gpu.contains("nouveau"))
        #expect(gpu.contains("NVIDIA Corporation GA102 [GeForce RTX 3090]"))
        #expect(gpu.contains("VGA compatible controller [0300]"))
        let vf = try #require(lines.first { $0.contains("0000:07:02.1") })
        #expect(vf.hasPrefix("24 viable"))
        #expect(vf.contains("vfio-pci*"))
        // Group rows come in group order; the ungrouped function is last and marked '-'.
        let groupCells = lines.dropFirst().compactMap { line -> Int? in Int(line.split(separator: " ").first ?? "") }
        #expect(groupCells == groupCells.sorted())
        let last = try #require(lines.last { $0.contains("0000:") })
        #expect(last.hasPrefix("-") && last.contains("0000:00:08.0"))
        #expect(run.stdout.contains("* bound to a VFIO driver"))
        #expect(run.stderr.isEmpty)
    }

    @Test("without IOMMU groups, list still lists and says in one line that the IOMMU is off")
    func noIOMMU() throws {
        let host = FixtureLayout.noIOMMU.build()
        let run = vfioctl(["list"], host: host)
        #expect(run.status == 0)
        #expect(run.stdout.split(separator: "\n").count == 1 + FixtureLayout.noIOMMU.truth.deviceCount)
        let errorLines = run.stderr.split(separator: "\n")
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.contains("IOMMU is off") == true)
        #expect(errorLines.first?.contains("vfioctl doctor") == true)
    }

    @Test(
        "filters",
        arguments: [
            (["--group", "12"], ["0000:00:1f.0", "0000:00:1f.3", "0000:00:1f.4", "0000:00:1f.5"]),
            (["--driver", "igb"], ["0000:05:00.0", "0000:06:00.0"]),
            (["--driver", "none"], ["0000:00:00.0", "0000:00:08.0", "0000:00:1e.0", "0000:00:1f.0"]),
            (["--class", "0403"], ["0000:00:1f.3", "0000:01:00.1"]),
            (["--class", "ethernet"], ["0000:05:00.0", "0000:06:00.0", "0000:07:00.0", "0000:07:02.0", "0000:07:02.1", "0000:08:01.0"]),
            (["--vfio"], ["0000:07:02.1"]),
            (["--class", "02", "--driver", "iavf"], ["0000:07:02.0"]),
        ])
    func filters(_ args: [String], _ expected: [String]) throws {
        let host = FixtureLayout.desktop.build()
        let run = vfioctl(["list", "--json"] + args, host: host)
        #expect(run.status == 0)
        let devices = try #require(try run.json()["devices"] as? [[String: Any]])
        #expect(devices.compactMap { $0["address"] as? String }.sorted() == expected)
    }

    @Test("list --tree nests functions under their bridges")
    func tree() throws {
        let host = FixtureLayout.desktop.build()
        let run = vfioctl(["list", "--tree"], host: host)
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let port = try #require(lines.firstIndex { $0.hasPrefix("0000:00:1c.0") })
        let upstream = try #require(lines.firstIndex { $0.contains("0000:03:00.0") })
        let nic = try #require(lines.firstIndex { $0.contains("0000:05:00.0") })
        #expect(port < upstream && upstream < nic)
        #expect(lines[nic].hasPrefix("   ") || lines[nic].hasPrefix("│"))
        // A filter keeps the path to what it selects.
        let filtered = vfioctl(["list", "--tree", "--driver", "igb"], host: host)
        #expect(filtered.stdout.contains("0000:04:08.0"))
        #expect(!filtered.stdout.contains("0000:02:00.0"))
    }

    @Test("show DEVICE: facts, the group's members and why it is not viable")
    func showDevice() throws {
        let host = FixtureLayout.desktop.build()
        let run = vfioctl(["show", "01:00.0"], host: host)
        #expect(run.status == 0)
        let out = run.stdout
        #expect(out.hasPrefix("0000:01:00.0"))
        #expect(out.contains("Driver:            nouveau"))
        #expect(out.contains("Boot VGA:          yes"))
        #expect(out.contains("IOMMU group:       1 (not viable)"))
        #expect(out.contains("0000:01:00.1  snd_hda_intel  blocks: bound to host driver snd_hda_intel"))
        #expect(out.contains("0000:00:01.0  pcieport  bridge, stays on the host"))
        #expect(out.contains("vfioctl bind --group group:1"))
        let json = try vfioctl(["show", "0000:01:00.0", "--json"], host: host).json()
        let device = try #require(json["device"] as? [String: Any])
        #expect(device["bootVGA"] as? Bool == true)
        #expect(device["resetMethods"] as? [String] == ["flr", "bus"])
        let group = try #require(json["group"] as? [String: Any])
        #expect(group["viable"] as? Bool == false)
        #expect((group["blockers"] as? [[String: Any]])?.compactMap { $0["address"] as? String } == ["0000:01:00.0", "0000:01:00.1"])
    }

    @Test("show decodes config space: MSI-X, PCIe link, FLR and ACS on the ports above")
    func showConfig() throws {
        let host = FixtureLayout.desktop.build()
        let gpu = vfioctl(["show", "01:00.0"], host: host).stdout
        #expect(gpu.contains("MSI-X:             table size 16"))
        #expect(gpu.contains("PCI Express:       Endpoint, link 16GT/s x16"))
        #expect(gpu.contains("FLR:               supported"))
        #expect(gpu.contains("ACS above:         0000:00:01.0: no ACS capability"))
        let nvme = vfioctl(["show", "02:00.0"], host: host).stdout
        #expect(nvme.contains("ACS above:         0000:00:1d.0: isolating"))
        #expect(nvme.contains("FLR:               supported"))
        let json = try vfioctl(["show", "02:00.0", "--json"], host: host).json()
        let config = try #require(json["config"] as? [String: Any])
        #expect((config["msix"] as? [String: Any])?["tableSize"] as? Int == 33)
        #expect(config["flr"] as? Bool == true)
        let upstream = try #require(config["upstreamACS"] as? [[String: Any]])
        #expect(upstream.first?["address"] as? String == "0000:00:1d.0")
        #expect(((upstream.first?["acs"] as? [String: Any])?["control"] as? [String: Any])?["requestRedirect"] as? Bool == true)
        // Conventional PCI functions have no PCIe capability and no FLR.
        let firewire = try vfioctl(["show", "08:00.0", "--json"], host: host).json()
        #expect((firewire["config"] as? [String: Any])?["express"] is NSNull)
    }

    @Test("driverctl overrides are shown, and flagged when they differ from the bound driver")
    func driverctl() throws {
        let host = FixtureLayout.desktop.build()
        host.write("/etc/driverctl.d/pci-0000:05:00.0", "vfio-pci\n")
        host.write("/etc/driverctl.d/pci-0000:07:02.1", "vfio-pci\n")
        host.write("/etc/driverctl.d/pci-garbage", "vfio-pci\n")
        let list = vfioctl(["list"], host: host).stdout
        let nic = try #require(list.split(separator: "\n").first { $0.contains("0000:05:00.0") })
        #expect(nic.contains("igb (driverctl: vfio-pci)"))
        let vf = try #require(list.split(separator: "\n").first { $0.contains("0000:07:02.1") })
        #expect(!vf.contains("driverctl"))
        #expect(list.contains("driverctl will rebind"))
        let show = vfioctl(["show", "05:00.0"], host: host).stdout
        #expect(show.contains("driverctl:         vfio-pci (persisted in /etc/driverctl.d/pci-0000:05:00.0"))
        let json = try vfioctl(["show", "05:00.0", "--json"], host: host).json()
        #expect((json["device"] as? [String: Any])?["driverctlOverride"] as? String == "vfio-pci")
        let other = try vfioctl(["show", "06:00.0", "--json"], host: host).json()
        #expect((other["device"] as? [String: Any])?["driverctlOverride"] is NSNull)
    }

    @Test("show on a VFIO-bound VF and its PF")
    func showSRIOV() throws {
        let host = FixtureLayout.desktop.build()
        let vf = try vfioctl(["show", "07:02.1", "--json"], host: host).json()
        let device = try #require(vf["device"] as? [String: Any])
        #expect(device["vfioDevice"] as? String == "vfio0")
        #expect(device["deviceNode"] as? String == "/dev/vfio/devices/vfio0")
        #expect(device["groupNode"] as? String == "/dev/vfio/24")
        #expect(device["physicalFunction"] as? String == "0000:07:00.0")
        #expect(device["driverOverride"] as? String == "vfio-pci")
        let pfText = vfioctl(["show", "07:00.0"], host: host).stdout
        #expect(pfText.contains("2 of 64 VFs enabled, drivers autoprobe on, VF device id 154c"))
        #expect(pfText.contains("0000:07:02.1  vfio-pci*  group 24"))
    }

    @Test("show group:N lists members with drivers and blockers")
    func showGroup() throws {
        let host = FixtureLayout.desktop.build()
        let run = vfioctl(["show", "group:25"], host: host)
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("IOMMU group 25: not viable"))
        #expect(run.stdout.contains("blocks: bound to host driver firewire_ohci"))
        let json = try vfioctl(["show", "group:25", "--json"], host: host).json()
        let group = try #require(json["group"] as? [String: Any])
        #expect(group["devices"] as? [String] == ["0000:00:1e.0", "0000:08:00.0", "0000:08:01.0"])
        #expect((json["devices"] as? [Any])?.count == 3)
        let viable = try vfioctl(["show", "group:24", "--json"], host: host).json()
        #expect((viable["group"] as? [String: Any])?["viable"] as? Bool == true)
    }

    @Test("show by ids lists every matching function")
    func showIDs() throws {
        let host = FixtureLayout.desktop.build()
        let json = try vfioctl(["show", "8086:1533", "--json"], host: host).json()
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.compactMap { ($0["device"] as? [String: Any])?["address"] as? String } == ["0000:05:00.0", "0000:06:00.0"])
    }

    @Test(
        "bad targets: one line, exit 64 (usage) or 69 (not there)",
        arguments: [
            ("0000:01:00", 64), ("01:00.8", 64), ("../../etc", 64), ("zz:00.0", 64), ("group:x", 64), ("0000:7f:1f.7", 69),
            ("group:99", 69), ("dead:beef", 69), ("a/b", 64),
        ])
    func badTargets(_ target: String, _ code: Int32) {
        let host = FixtureLayout.desktop.build()
        for json in [false, true] {
            let run = vfioctl(["show", target] + (json ? ["--json"] : []), host: host)
            #expect(run.status == code, "\(target)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(target): \(run.stderr)")
            #expect(run.stderr.hasPrefix("vfioctl: "))
            if json {
                let error = (try? run.json())?["error"] as? [String: Any]
                #expect(error?["code"] as? Int == Int(code))
            } else {
                #expect(run.stdout.isEmpty)
            }
        }
    }

    @Test("a root prefix that is not a directory is a usage error")
    func badRoot() {
        let run = vfioctl(["list", "--root", "/nonexistent/vfioctl"], host: nil)
        #expect(run.status == 64)
        #expect(run.stderr.contains("not a directory"))
        let relative = vfioctl(["list"], host: nil, environment: ["VFIOCTL_ROOT": "relative/dir"])
        #expect(relative.status == 64)
    }

    @Test("unknown options and commands are usage errors (64)")
    func usage() {
        for args in [["list", "--bogus"], ["frobnicate"], ["list", "--group", "-3"], ["wait", "--timeout", "-1", "01:00.0"], ["bind"], ["show"]] {
            let run = vfioctl(args, host: nil)
            #expect(run.status == 64, "\(args)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(args): \(run.stderr)")
            #expect(run.stderr.hasPrefix("vfioctl: "))
        }
        let help = vfioctl(["--help"], host: nil)
        #expect(help.status == 0)
        #expect(help.stdout.contains("list"))
    }

    @Test("names agree with lspci reading the same tree", .enabled(if: Sysfs.exists("/usr/bin/lspci")))
    func agreesWithLspci() throws {
        let host = FixtureLayout.desktop.build()
        let lspci = try runProcess("/usr/bin/lspci", ["-nn", "-D", "-A", "linux-sysfs", "-O", "sysfs.path=" + host.path + "/sys/bus/pci", "-O", "hwdb.disable=1"])
        let json = try vfioctl(["list", "--json"], host: host).json()
        for device in try #require(json["devices"] as? [[String: Any]]) {
            let address = device["address"] as! String
            let line = try #require(lspci.split(separator: "\n").first { $0.hasPrefix(address) }, "lspci lacks \(address)")
            if let vendor = device["vendorName"] as? String { #expect(line.contains(vendor), "\(line)") }
            if let name = device["deviceName"] as? String { #expect(line.contains(name), "\(line)") }
            if let cls = device["className"] as? String { #expect(line.contains(cls), "\(line)") }
        }
    }
}
