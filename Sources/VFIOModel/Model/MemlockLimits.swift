/// The locked-memory limit (`RLIMIT_MEMLOCK`) pam_limits gives a user at login, from
/// `/etc/security/limits.conf` and `limits.d/*.conf` (limits.conf(5)). Pure: parsed from text,
/// judged by `Doctor`. A VFIO user pins every page it maps for DMA, so a small limit makes
/// `VFIO_IOMMU_MAP_DMA` fail with ENOMEM.
public enum MemlockLimits {
    public enum Limit: Sendable, Equatable {
        case unlimited
        case kibibytes(UInt64)

        /// In bytes, nil when unlimited.
        public var bytes: UInt64? {
            switch self {
            case .unlimited: nil
            case .kibibytes(let kib): kib.multipliedReportingOverflow(by: 1024).overflow ? UInt64.max : kib * 1024
            }
        }

        public var description: String {
            switch self {
            case .unlimited: "unlimited"
            case .kibibytes(let kib): kib >= 1024 * 1024 ? "\(kib / (1024 * 1024)) GiB" : kib >= 1024 ? "\(kib / 1024) MiB" : "\(kib) KiB"
            }
        }
    }

    /// One `memlock` line: `<domain> <type> memlock <value>`.
    public struct Entry: Sendable, Equatable {
        public var domain: String
        /// `soft`, `hard` or `-` (both).
        public var type: String
        public var limit: Limit
        /// `file:line`.
        public var source: String
    }

    /// A limit of at least this is taken as enough for a typical mapping (a VM's RAM or a DPDK
    /// memory pool of a few hundred MiB); below it doctor warns.
    public static let typical: UInt64 = 1 << 30

    /// The `memlock` lines of one file, in order.
    public static func parse(_ text: String, file: String) -> [Entry] {
        var entries: [Entry] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 4, fields[2] == "memlock", ["soft", "hard", "-"].contains(fields[1]) else { continue }
            let limit: Limit
            if ["unlimited", "infinity", "-1"].contains(fields[3]) {
                limit = .unlimited
            } else if let kib = UInt64(fields[3]) {
                limit = .kibibytes(kib)
            } else {
                continue
            }
            entries.append(Entry(domain: fields[0], type: fields[1], limit: limit, source: "\(file):\(number + 1)"))
        }
        return entries
    }

    /// The soft limit `user` (in `groups`) gets: an entry naming the user beats one naming a
    /// group (`@group`), which beats the default (`*`); among equals the last one read wins.
    public static func effective(_ entries: [Entry], user: String, groups: Set<String>) -> Entry? {
        var best: (rank: Int, entry: Entry)?
        for entry in entries where entry.type != "hard" {
            let rank: Int
            if entry.domain == user {
                rank = 3
            } else if entry.domain.hasPrefix("@"), groups.contains(String(entry.domain.dropFirst())) {
                rank = 2
            } else if entry.domain == "*" {
                rank = 1
            } else {
                continue
            }
            if best == nil || rank >= best!.rank { best = (rank, entry) }
        }
        return best?.entry
    }
}
