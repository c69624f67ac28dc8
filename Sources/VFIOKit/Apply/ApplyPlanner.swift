/// What `vfioctl apply` has to do to make the host match a desired state. Pure: computed from
/// the resolved assignments and a snapshot, executed elsewhere with the same machinery (and
/// the same safety rules) as `bind` and `unbind`.
public struct ApplyPlan: Sendable, Equatable {
    public enum Disposition: Sendable, Equatable {
        /// Already as desired.
        case unchanged
        /// Goes to a VFIO driver (through a bind batch).
        case bind
        /// Goes back from its VFIO driver to a host driver, the recorded original, or none.
        case release
        /// Cannot be done by vfioctl; the reason says why.
        case refused(String)
    }

    public struct Item: Sendable, Equatable {
        public var address: PCIAddress
        public var group: Int?
        public var currentDriver: String?
        public var desired: DesiredState.Driver
        public var disposition: Disposition
        public var source: String
    }

    /// Devices bound together: one transaction each, so the members of one group that the file
    /// names together move together.
    public struct BindBatch: Sendable, Equatable {
        public var request: BindRequest
        public var addresses: [PCIAddress]
        public var sources: [String]
    }

    public struct Release: Sendable, Equatable {
        public var address: PCIAddress
        public var group: Int?
        /// nil: the driver recorded at bind time (or the kernel's choice); "none": unbound.
        public var to: String?
        public var wholeGroup: Bool
        public var timeout: Duration?
        public var source: String
    }

    public var items: [Item]
    public var bindBatches: [BindBatch]
    public var releases: [Release]
    public var unmatched: [(source: String, reason: String)]

    public var hasWork: Bool { !bindBatches.isEmpty || !releases.isEmpty }

    public static func == (a: ApplyPlan, b: ApplyPlan) -> Bool {
        a.items == b.items && a.bindBatches == b.bindBatches && a.releases == b.releases && a.unmatched.map(\.source) == b.unmatched.map(\.source)
    }
}

public enum ApplyPlanner {
    public static func plan(_ resolution: DesiredState.Resolution, inventory: HostInventory) -> ApplyPlan {
        var items: [ApplyPlan.Item] = []
        var releases: [ApplyPlan.Release] = []
        // (driver, force, group or address) → batch under construction
        var batches: [String: ApplyPlan.BindBatch] = [:]
        var batchOrder: [String] = []
        for assignment in resolution.assignments {
            guard let device = inventory.device(assignment.address) else { continue }
            var item = ApplyPlan.Item(
                address: device.address, group: device.iommuGroup, currentDriver: device.driver, desired: assignment.driver, disposition: .unchanged,
                source: assignment.source)
            switch assignment.driver {
            case .named(let driver) where DriverName.isVFIO(driver):
                if device.driver == driver {
                    item.disposition = .unchanged
                } else if device.isBridge {
                    item.disposition = .refused("\(device.address) is a bridge: \(driver) only binds endpoints")
                } else {
                    item.disposition = .bind
                    // Members of one group bound to the same driver go in one transaction.
                    let scope = device.iommuGroup.map { "group:\($0)" } ?? device.address.description
                    let key = driver + "|" + String(assignment.force) + "|" + scope
                    if batches[key] == nil {
                        batches[key] = ApplyPlan.BindBatch(
                            request: BindRequest(targets: [], driver: driver, wholeGroup: false, force: assignment.force), addresses: [], sources: [])
                        batchOrder.append(key)
                    }
                    batches[key]!.request.targets.append(.address(device.address))
                    batches[key]!.request.wholeGroup = batches[key]!.request.wholeGroup || assignment.wholeGroup
                    batches[key]!.addresses.append(device.address)
                    if !batches[key]!.sources.contains(assignment.source) { batches[key]!.sources.append(assignment.source) }
                }
            case .host:
                if device.isVFIOBound {
                    item.disposition = .release
                    releases.append(.init(address: device.address, group: device.iommuGroup, to: nil, wholeGroup: assignment.wholeGroup, timeout: assignment.timeout, source: assignment.source))
                }
            case .none:
                if device.driver == nil {
                    item.disposition = .unchanged
                } else if device.isVFIOBound {
                    item.disposition = .release
                    releases.append(.init(address: device.address, group: device.iommuGroup, to: "none", wholeGroup: assignment.wholeGroup, timeout: assignment.timeout, source: assignment.source))
                } else {
                    item.disposition = .refused(
                        "\(device.address) is on host driver \(device.driver ?? ""): vfioctl only unbinds devices it can give back; unbind it by hand or bind it to vfio-pci")
                }
            case .named(let driver):
                if device.driver == driver {
                    item.disposition = .unchanged
                } else if device.isVFIOBound {
                    item.disposition = .release
                    releases.append(.init(address: device.address, group: device.iommuGroup, to: driver, wholeGroup: assignment.wholeGroup, timeout: assignment.timeout, source: assignment.source))
                } else {
                    item.disposition = .refused(
                        "\(device.address) is on \(device.driver ?? "no driver"), not on a VFIO driver: moving it between host drivers is not what vfioctl does")
                }
            }
            items.append(item)
        }
        return ApplyPlan(items: items, bindBatches: batchOrder.compactMap { batches[$0] }, releases: releases, unmatched: resolution.unmatched)
    }
}
