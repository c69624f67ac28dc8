import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@Suite("doctor command")
struct DoctorCommandTests {
    @Test("exit 1 and a FAIL line without an IOMMU; JSON says ok=false")
    func noIOMMU() throws {
        let host = FixtureLayout.noIOMMU.build()
        let run = vfioctl(["doctor"], host: host)
        #expect(run.status == 1)
        let iommuLine = try #require(run.stdout.split(separator: "\n").first { $0.contains("iommu ") })
        #expect(iommuLine.hasPrefix("FAIL"))
        #expect(iommuLine.contains("fix:"))
        let json = try vfioctl(["doctor", "--json"], host: host).json()
        #expect(json["ok"] as? Bool == false)
        #expect((json["findings"] as? [[String: Any]])?.first?["status"] as? String == "fail")
    }

    @Test("exit 0 on a host whose IOMMU works")
    func healthy() {
        let host = FixtureLayout.intelHost()
        let run = vfioctl(["doctor"], host: host)
        #expect(run.status == 0)
        #expect(!run.stdout.contains("FAIL"))
        #expect(run.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("ok") || $0.hasPrefix("warn") })
    }
}
