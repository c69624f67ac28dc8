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
        /// `owner =` of its entry, for a device on a VFIO driver.
        public var owner: OwnerSpec? = nil
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
        var batches = BatchBuilder()
        for assignment in resolution.assignments {
            guard let device = inventory.device(assignment.address) else { continue }
            var item = ApplyPlan.Item(
                address: device.address, group: device.iommuGroup, currentDriver: device.driver, desired: assignment.driver, disposition: .unchanged,
                source: assignment.source)
            if case .named(let driver) = assignment.driver, DriverName.isVFIO(driver) {
                item.owner = assignment.owner
                item.disposition = bindDisposition(device, driver: driver)
                if item.disposition == .bind { batches.add(device, driver: driver, assignment: assignment) }
            } else {
                let release: ApplyPlan.Release?
                (item.disposition, release) = releaseDisposition(device, assignment: assignment)
                if let release { releases.append(release) }
            }
            items.append(item)
        }
        return ApplyPlan(items: items, bindBatches: batches.batches, releases: releases, unmatched: resolution.unmatched)
    }

    /// A device the file puts on a VFIO driver.
    static func bindDisposition(_ device: PCIDevice, driver: String) -> ApplyPlan.Disposition {
        if device.driver == driver { return .unchanged }
        if device.isBridge { return .refused("\(device.address) is a bridge: \(driver) only binds endpoints") }
        return .bind
    }

    /// A device the file gives to the host, to no driver or to a named host driver, and the
    /// release that does it.
    static func releaseDisposition(_ device: PCIDevice, assignment: DesiredState.Assignment) -> (ApplyPlan.Disposition, ApplyPlan.Release?) {
        // `to`: nil for the driver recorded at bind time, "none" for unbound.
        func release(to: String?) -> (ApplyPlan.Disposition, ApplyPlan.Release?) {
            (
                .release,
                ApplyPlan.Release(
                    address: device.address, group: device.iommuGroup, to: to, wholeGroup: assignment.wholeGroup, timeout: assignment.timeout,
                    source: assignment.source)
            )
        }
        switch assignment.driver {
        case .host:
            return device.isVFIOBound ? release(to: nil) : (.unchanged, nil)
        case .none:
            if device.driver == nil { return (.unchanged, nil) }
            if device.isVFIOBound { return release(to: "none") }
            let reason = "\(device.address) is on host driver \(device.driver ?? ""): vfioctl only unbinds devices it can give back; unbind it by hand or bind it to vfio-pci"
            return (.refused(reason), nil)
        case .named(let driver):
            if device.driver == driver { return (.unchanged, nil) }
            if device.isVFIOBound { return release(to: driver) }
            let reason = "\(device.address) is on \(device.driver ?? "no driver"), not on a VFIO driver: moving it between host drivers is not what vfioctl does"
            return (.refused(reason), nil)
        }
    }

    /// Bind batches in the order they were opened: members of one group bound to the same driver
    /// (with the same `force`) go in one transaction.
    struct BatchBuilder {
        private var byKey: [String: ApplyPlan.BindBatch] = [:]
        private var order: [String] = []

        var batches: [ApplyPlan.BindBatch] { order.compactMap { byKey[$0] } }

        mutating func add(_ device: PCIDevice, driver: String, assignment: DesiredState.Assignment) {
            let scope = device.iommuGroup.map { "group:\($0)" } ?? device.address.description
            let key = driver + "|" + String(assignment.force) + "|" + (assignment.owner?.description ?? "") + "|" + scope
            if byKey[key] == nil {
                var request = BindRequest(targets: [], driver: driver, wholeGroup: false, force: assignment.force, owner: assignment.owner)
                request.persistentRules = assignment.owner != nil
                byKey[key] = ApplyPlan.BindBatch(request: request, addresses: [], sources: [])
                order.append(key)
            }
            byKey[key]!.request.targets.append(.address(device.address))
            byKey[key]!.request.wholeGroup = byKey[key]!.request.wholeGroup || assignment.wholeGroup
            byKey[key]!.addresses.append(device.address)
            if !byKey[key]!.sources.contains(assignment.source) { byKey[key]!.sources.append(assignment.source) }
        }
    }
}
