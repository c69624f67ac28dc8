/// An XDP program attached to a network interface: how, and which (`bpftool prog show id N`).
public struct XDPAttachment: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// In the driver (native).
        case driver
        /// Generic, in the core network stack (`xdpgeneric`).
        case generic
        /// Offloaded to the NIC.
        case offload
        /// Several at once.
        case multiple
    }

    public var mode: Mode
    /// nil when the kernel reports several programs (one per mode).
    public var programID: UInt32?

    public init(mode: Mode, programID: UInt32?) {
        self.mode = mode
        self.programID = programID
    }

    /// The `ip link` line that detaches it.
    public func detachCommand(interface: String) -> String {
        switch mode {
        case .driver: "ip link set dev " + interface + " xdpdrv off"
        case .generic: "ip link set dev " + interface + " xdpgeneric off"
        case .offload: "ip link set dev " + interface + " xdpoffload off"
        case .multiple: "ip link set dev " + interface + " xdpdrv off xdpgeneric off xdpoffload off"
        }
    }
}
