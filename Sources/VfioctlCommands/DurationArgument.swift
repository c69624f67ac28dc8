import ArgumentParser
import VFIOModel

/// A duration on the command line: every `--timeout`, `--interval` and `--lock-timeout`, in the
/// grammar of `DurationText` (30, 1.5, 500ms, 30s, 2m, 1h), parsed with the arguments so a
/// command's `execute` only sees a `Duration`.
///
/// Options declare it with `transform: DurationArgument.parser(for:)` rather than leaning on
/// `init?(argument:)` alone: ArgumentParser turns a nil into "the value is invalid", while the
/// transform's `VFIOError` names the accepted forms (`UsageErrors` finds it).
struct DurationArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    let duration: Duration
    /// As written, for help texts (`(default: 30s)`).
    let text: String

    init?(argument: String) {
        guard let duration = try? DurationText.parse(argument, name: "duration") else { return nil }
        self.duration = duration
        self.text = argument
    }

    private init(_ duration: Duration, text: String) {
        self.duration = duration
        self.text = text
    }

    var description: String { text }

    /// How long a command waits for holders unless told otherwise.
    static let holders = DurationArgument(.seconds(30), text: "30s")
    /// How long a changing command waits for another vfioctl's lock.
    static let lock = DurationArgument(.seconds(30), text: "30")
    /// A hook waits longer for the lock than another VM's release waits by default.
    static let hookLock = DurationArgument(.seconds(60), text: "60")

    /// The transform for an option named `name`.
    static func parser(for name: String) -> @Sendable (String) throws -> DurationArgument {
        { text in DurationArgument(try DurationText.parse(text, name: name), text: text) }
    }

    /// The transform for `--lock-timeout`, at most `seconds` (commands that a VM manager calls
    /// allow less).
    static func lockTimeoutParser(atMost seconds: Int64) -> @Sendable (String) throws -> DurationArgument {
        { text in
            let invalid = VFIOError.usage("--lock-timeout must be a number of seconds from 0 to \(seconds)", target: "--lock-timeout")
            guard let parsed = try? DurationText.parse(text, name: "--lock-timeout"), parsed <= .seconds(seconds) else { throw invalid }
            return DurationArgument(parsed, text: text)
        }
    }
}
