import VFIOModel

/// How a failure reads on standard error: one line, and a usage error points at the help.
package enum ErrorLine {
    package static let hint = " (see 'vfioctl help')"

    /// The line to print for a failure: usage errors carry the hint.
    package static func line(_ error: VFIOError) -> String {
        "vfioctl: " + error.message + (error.exitCode == 64 ? hint : "")
    }
}
