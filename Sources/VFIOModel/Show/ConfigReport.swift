/// What `show` reports from config space: capabilities, interrupts, PCIe link and FLR, ACS on the
/// device and on every port above it.
public struct ConfigReport: Sendable, Equatable, Encodable {
    /// Bytes of config space that could be read (64 for an unprivileged reader).
    public var readableBytes: Int
    public var capabilities: [ConfigSpace.Capability]
    @Nullable public var msi: ConfigSpace.MSI?
    @Nullable public var msix: ConfigSpace.MSIX?
    @Nullable public var express: ConfigSpace.Express?
    /// FLR through PCIe Device Capabilities or the Advanced Features capability; nil when unknown.
    @Nullable public var flr: Bool?
    @Nullable public var acs: ConfigSpace.ACS?
    public var upstreamACS: [UpstreamACS]

    /// Nothing could be read.
    public static let unread = ConfigReport(
        readableBytes: 0, capabilities: [], msi: nil, msix: nil, express: nil, flr: nil, acs: nil, upstreamACS: [])

    public init(
        readableBytes: Int, capabilities: [ConfigSpace.Capability], msi: ConfigSpace.MSI?, msix: ConfigSpace.MSIX?, express: ConfigSpace.Express?,
        flr: Bool?, acs: ConfigSpace.ACS?, upstreamACS: [UpstreamACS]
    ) {
        self.readableBytes = readableBytes
        self.capabilities = capabilities
        self.msi = msi
        self.msix = msix
        self.express = express
        self.flr = flr
        self.acs = acs
        self.upstreamACS = upstreamACS
    }

    public struct UpstreamACS: Sendable, Equatable, Encodable {
        public var address: String
        /// nil: the port has no ACS capability (or it could not be read).
        @Nullable public var acs: ConfigSpace.ACS?

        public init(address: String, acs: ConfigSpace.ACS?) {
            self.address = address
            self.acs = acs
        }
    }
}
