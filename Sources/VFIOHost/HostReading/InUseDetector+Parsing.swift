import VFIOModel

/// The procfs formats the detector reads, parsed from their text. Pure, so a fixture's text and
/// the real host's parse the same way.
extension InUseDetector {
    /// `/proc/self/mountinfo`: device numbers and sources.
    static func parseMountInfo(_ text: String) -> [InUseClassifier.Mount] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            // id parent major:minor root mountpoint options [optional…] - fstype source superoptions
            guard fields.count >= 7, let dash = fields.firstIndex(of: "-"), dash >= 6 else { return nil }
            let fsType = dash + 1 < fields.count ? fields[dash + 1] : ""
            let source = dash + 2 < fields.count ? unescape(fields[dash + 2]) : ""
            return InUseClassifier.Mount(devNumber: fields[2], source: source, mountPoint: unescape(fields[4]), fsType: fsType)
        }
    }

    /// `/proc/mounts`: sources only, no device numbers.
    static func parseProcMounts(_ text: String) -> [InUseClassifier.Mount] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 3 else { return nil }
            return InUseClassifier.Mount(devNumber: nil, source: unescape(fields[0]), mountPoint: unescape(fields[1]), fsType: fields[2])
        }
    }

    /// `/proc/swaps`: the first column (a path) of every line after the header.
    static func parseSwaps(_ text: String) -> [String] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).first.map { unescape(String($0)) }
        }
    }

    /// `/proc/fb`: `0 nouveaudrmfb` → [0: "nouveaudrmfb"].
    static func parseProcFB(_ text: String) -> [Int: String] {
        var result: [Int: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2, let index = Int(parts[0]) { result[index] = String(parts[1]) }
        }
        return result
    }

    /// Undoes the octal escapes (`\040` for a space) that mountinfo and /proc/swaps use.
    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
                let value = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(value)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
