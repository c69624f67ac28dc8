/// Text from outside vfioctl's control (command lines, file contents, arguments) made safe to
/// print on one line: control characters are escaped and the length is bounded.
public enum UntrustedText {
    public static func printable(_ text: String, limit: Int = 64) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit { return out + "…" }
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\x" + hexString(scalar.value, width: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}
