/// What a bind did to each device (`BindOperation`).
public struct BindReport: Sendable, Equatable {
    public var moved: [DeviceMove]
    public var moduleLoaded: String?
    /// A problem that did not undo the bind (e.g. the final state-file update failed).
    public var warnings: [String]
    /// `--owner`: the nodes given to the owner (host-absolute), and the udev rule files
    /// written to keep them so.
    public var ownedNodes: [String] = []
    public var rules: [String] = []

    public init(moved: [DeviceMove], moduleLoaded: String?, warnings: [String], ownedNodes: [String] = [], rules: [String] = []) {
        self.moved = moved
        self.moduleLoaded = moduleLoaded
        self.warnings = warnings
        self.ownedNodes = ownedNodes
        self.rules = rules
    }
}
