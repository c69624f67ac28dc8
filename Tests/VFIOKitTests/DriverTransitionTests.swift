import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

@Suite("Driver transitions: the writes between two (driver, override) states")
struct DriverTransitionTests {
    static let bdf = PCIAddress("0000:01:00.0")!
    static let override = "/sys/bus/pci/devices/0000:01:00.0/driver_override"

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let from: DriverState
        let to: DriverState
        let attach: DriverTransition.Attach
        /// (value, path) per write, then the verified driver.
        let writes: [(String, String)]
        let verify: String??
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "host driver to vfio-pci: override, unbind, probe, verify",
            from: .init(driver: "nouveau", override: nil), to: .init(driver: "vfio-pci", override: "vfio-pci"), attach: .probe,
            writes: [("vfio-pci\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers/nouveau/unbind"), ("0000:01:00.0\n", "/sys/bus/pci/drivers_probe")],
            verify: .some("vfio-pci")),
        Case(
            name: "unbound to vfio-pci: no unbind",
            from: .init(driver: nil, override: nil), to: .init(driver: "vfio-pci", override: "vfio-pci"), attach: .probe,
            writes: [("vfio-pci\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers_probe")], verify: .some("vfio-pci")),
        Case(
            name: "override already set: it is not written again",
            from: .init(driver: "nouveau", override: "vfio-pci"), to: .init(driver: "vfio-pci", override: "vfio-pci"), attach: .probe,
            writes: [("0000:01:00.0\n", "/sys/bus/pci/drivers/nouveau/unbind"), ("0000:01:00.0\n", "/sys/bus/pci/drivers_probe")],
            verify: .some("vfio-pci")),
        Case(
            name: "already there: nothing at all",
            from: .init(driver: "vfio-pci", override: "vfio-pci"), to: .init(driver: "vfio-pci", override: "vfio-pci"), attach: .probe,
            writes: [], verify: nil),
        Case(
            name: "vfio-pci back to the host driver by name: clear override with a newline, unbind, bind",
            from: .init(driver: "vfio-pci", override: "vfio-pci"), to: .init(driver: "nouveau", override: nil), attach: .bind,
            writes: [("\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers/vfio-pci/unbind"), ("0000:01:00.0\n", "/sys/bus/pci/drivers/nouveau/bind")],
            verify: .some("nouveau")),
        Case(
            name: "back to the host driver through drivers_probe when the override is gone: bind by name (probe would pick any driver)",
            from: .init(driver: "vfio-pci", override: "vfio-pci"), to: .init(driver: "nouveau", override: nil), attach: .probe,
            writes: [("\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers/vfio-pci/unbind"), ("0000:01:00.0\n", "/sys/bus/pci/drivers/nouveau/bind")],
            verify: .some("nouveau")),
        Case(
            name: "half-done bind (override set, unbound) rolled back to the host driver",
            from: .init(driver: nil, override: "vfio-pci"), to: .init(driver: "igb", override: nil), attach: .bind,
            writes: [("\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers/igb/bind")], verify: .some("igb")),
        Case(
            name: "back to no driver: clear and unbind, verify unbound",
            from: .init(driver: "vfio-pci", override: "vfio-pci"), to: .init(driver: nil, override: nil), attach: .bind,
            writes: [("\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers/vfio-pci/unbind")], verify: .some(nil)),
        Case(
            name: "target keeps an override naming another driver: cleared for the bind, written last",
            from: .init(driver: "vfio-pci", override: "vfio-pci"), to: .init(driver: "nouveau", override: "pci-stub"), attach: .bind,
            writes: [
                ("\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers/vfio-pci/unbind"), ("0000:01:00.0\n", "/sys/bus/pci/drivers/nouveau/bind"),
                ("pci-stub\n", override),
            ],
            verify: .some("nouveau")),
        Case(
            name: "vfio-pci to a variant driver",
            from: .init(driver: "vfio-pci", override: "vfio-pci"), to: .init(driver: "mlx5_vfio_pci", override: "mlx5_vfio_pci"), attach: .probe,
            writes: [
                ("mlx5_vfio_pci\n", override), ("0000:01:00.0\n", "/sys/bus/pci/drivers/vfio-pci/unbind"), ("0000:01:00.0\n", "/sys/bus/pci/drivers_probe"),
            ],
            verify: .some("mlx5_vfio_pci")),
    ]

    @Test("steps", arguments: cases)
    func steps(_ c: Case) {
        let steps = DriverTransition.steps(for: Self.bdf, from: c.from, to: c.to, attach: c.attach)
        // The exact bytes to the exact attributes, in order: the kernel's contract.
        let writes = steps.compactMap { step -> String? in if case .write(let w) = step { w.value + " > " + w.path } else { nil } }
        #expect(writes == c.writes.map { $0.0 + " > " + $0.1 })
        let verifies = steps.filter { if case .verify = $0 { true } else { false } }
        #expect(verifies == (c.verify.map { [OperationStep.verify(Self.bdf, driver: $0)] } ?? []))
        if c.verify != nil { #expect(steps.last == .verify(Self.bdf, driver: c.verify!)) }
        // Never a 0-byte write.
        for case .write(let w) in steps { #expect(!w.value.isEmpty) }
    }
}
