import VFIOKit

/// Durations on the command line: `30` (seconds), `30s`, `500ms`, `2m`, `1h`, `1.5s`.
enum DurationArgument {
    /// A week: anything longer is a typo, not a wait.
    static let maximum = Duration.seconds(7 * 86400)

    /// - Throws: `.usage` naming the option and the accepted forms.
    static func parse(_ text: String, option: String) throws(VFIOError) -> Duration {
        let invalid = VFIOError.usage(
            "invalid \(option) '\(HolderRendering.printable(text, limit: 64))': expected a duration such as 30, 30s, 500ms, 2m or 1h (0 checks once)")
        var digits = Substring(text)
        var unitMilliseconds: Int64 = 1000
        for (suffix, ms) in [("ms", Int64(1)), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where text.hasSuffix(suffix) {
            digits = text.dropLast(suffix.count)
            unitMilliseconds = ms
            break
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 9, whole.allSatisfy({ $0.isASCII && $0.isNumber }),
            let wholeValue = Int64(whole)
        else { throw invalid }
        var fraction: Int64 = 0
        var scale: Int64 = 1
        if parts.count == 2 {
            let fractionText = parts[1]
            guard !fractionText.isEmpty, fractionText.count <= 6, fractionText.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw invalid }
            fraction = Int64(fractionText) ?? 0
            for _ in fractionText { scale *= 10 }
        }
        let milliseconds = wholeValue * unitMilliseconds + fraction * unitMilliseconds / scale
        let duration = Duration.milliseconds(milliseconds)
        guard duration <= maximum else {
            throw .usage("invalid \(option) '\(HolderRendering.printable(text, limit: 64))': at most 7 days")
        }
        return duration
    }
}
