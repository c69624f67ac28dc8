/// Durations as users write them: on the command line (`--timeout`) and in the desired-state
/// file (`timeout =`). One grammar for both.
public enum DurationText {
    /// A week: anything longer is a typo, not a wait.
    public static let maximum = Duration.seconds(7 * 86400)

    /// The accepted forms, for help texts and messages.
    public static let forms =
        "a number of seconds (30, 1.5) or a number with a lower-case unit ms, s, m or h (500ms, 30s, 2m, 1h); up to 6 decimals, at most 7 days"

    /// Parses `30` (seconds), `30s`, `500ms`, `2m`, `1h`, `1.5s`: digits, an optional `.` and up
    /// to 6 more digits, an optional lower-case unit. No sign, exponent, spaces or upper case.
    /// - Parameter name: what the text is, for the message (`--timeout`, `timeout`).
    /// - Throws: `.usage` naming `name`, the text and the accepted forms.
    public static func parse(_ text: String, name: String) throws(VFIOError) -> Duration {
        let shown = UntrustedText.printable(text)
        let invalid = VFIOError.usage("invalid \(name) '\(shown)': expected a duration such as 30, 30s, 500ms, 2m or 1h", target: name)
        var digits = Substring(text)
        var unitMilliseconds: Int64 = 1000
        for (suffix, ms) in [("ms", Int64(1)), ("s", 1000), ("m", 60_000), ("h", 3_600_000)] where text.hasSuffix(suffix) {
            digits = text.dropLast(suffix.count)
            unitMilliseconds = ms
            break
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 9, whole.allSatisfy(\.isASCIIDigit), let wholeValue = Int64(whole) else {
            throw invalid
        }
        var fraction: Int64 = 0
        var scale: Int64 = 1
        if parts.count == 2 {
            let fractionText = parts[1]
            guard !fractionText.isEmpty, fractionText.count <= 6, fractionText.allSatisfy(\.isASCIIDigit) else { throw invalid }
            fraction = Int64(fractionText) ?? 0
            for _ in fractionText { scale *= 10 }
        }
        let duration = Duration.milliseconds(wholeValue * unitMilliseconds + fraction * unitMilliseconds / scale)
        guard duration <= maximum else { throw .usage("invalid \(name) '\(shown)': at most 7 days", target: name) }
        return duration
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
