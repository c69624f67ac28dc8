import VFIOModel

/// Whether VFIO will attach a group on this host (`show`, `bind`): the `attach` field.
package struct AttachJSON: Encodable {
    /// `ok`, `unsafe` (attaches only because allow_unsafe_interrupts is on), `refused`
    /// (VFIO_SET_IOMMU / the iommufd bind will fail with EPERM) or `unknown`.
    package var status: String
    /// The kind of IOMMU the group sits behind (`intel-vt-d`, `virtio-iommu`, ...); null when
    /// the group's units differ or none is listed.
    @Nullable package var iommu: String?
    /// `isolated`, `missing` or `unknown`: whether the group's MSIs are isolated.
    package var interruptIsolation: String
    /// What decided it, in words.
    package var reason: String
    /// The warning `bind` and `show` print; null when there is none.
    @Nullable package var warning: String?
    @Nullable package var fix: String?

    package init(_ verdict: AttachVerdict) {
        status = verdict.status.rawValue
        iommu = verdict.iommu?.rawValue
        switch verdict.isolation {
        case .isolated: interruptIsolation = "isolated"
        case .missing: interruptIsolation = "missing"
        case .unknown: interruptIsolation = "unknown"
        }
        reason = verdict.isolation.text
        warning = verdict.warning
        fix = verdict.fix
    }
}

package enum AttachRendering {
    /// `viable, but VFIO will refuse to attach it here (...)`, or plain `viable`.
    package static func viableText(_ verdict: AttachVerdict?) -> String {
        guard let warning = verdict?.warning, verdict?.status == .refused else { return "viable" }
        return "viable, but " + warning
    }

    /// The warning line for group `id` once it is viable, or nil when VFIO will attach it.
    package static func warning(group id: Int, _ verdict: AttachVerdict?) -> String? {
        guard let verdict, let warning = verdict.warning else { return nil }
        return "group \(id) is " + (verdict.status == .refused ? "viable, but " + warning : "viable; " + warning)
    }
}
