/// Text that came from outside (command-line arguments, file contents, process command lines,
/// sysfs and /proc names) and is about to be printed on a terminal or in a one-line message.
public enum UntrustedText {
    /// The text made safe to show on one line: C0 and C1 control characters and DEL become
    /// `\xHH` (so no escape sequence, newline or carriage return reaches the terminal), and
    /// anything past `limit` Unicode scalars is cut and marked with `…`.
    public static func printable(_ text: some StringProtocol, limit: Int = 64) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit { return out + "…" }
            if scalar.value < 0x20 || (scalar.value >= 0x7f && scalar.value < 0xa0) {
                out += "\\x" + hexString(scalar.value, width: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}
