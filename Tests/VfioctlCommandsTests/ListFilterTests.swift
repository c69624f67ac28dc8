import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@testable import VfioctlCommands
@testable import VfioctlOutput

@Suite("list's filters")
struct ListFilterTests {
    @Test(
        "only no filter at all passes everything; each filter alone keeps what it names",
        arguments: [
            ListFilter(), ListFilter(group: 0), ListFilter(driver: "none"), ListFilter(driver: "nvme"),
            ListFilter(vfioOnly: true), ListFilter(classFilter: "02"), ListFilter(classFilter: "Ethernet"),
        ])
    func everything(_ filter: ListFilter) throws {
        let host = FixtureLayout.desktop.build()
        let devices = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read().devices
        let kept = devices.filter(filter.matches)
        #expect(filter.isEverything == (kept.count == devices.count))
        #expect(filter.isEverything == (filter.group == nil && filter.driver == nil && !filter.vfioOnly && filter.classFilter == nil))
        // The class word is matched case-blind, the hex prefix against the class code.
        if let word = filter.classFilter, !filter.classIsHex {
            #expect(!kept.isEmpty && kept.allSatisfy { $0.names.className?.lowercased().contains(word) == true })
        }
    }
}
