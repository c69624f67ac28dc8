import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

/// Turns every usage error (ArgumentParser's own, a bad TARGET caught while parsing, a bad
/// option value caught by a command) into the same one line:
/// `vfioctl: MESSAGE (see 'vfioctl help')`.
package enum UsageErrors {
    /// A parse failure as a `VFIOError.usage`: the reason a transform gave (a bad TARGET says
    /// what is wrong with it) or else the first line of ArgumentParser's message, with user
    /// input made printable.
    static func usage(from error: any Error, parserMessage: String) -> VFIOError {
        if let reason = thrownByTransform(error) { return reason }
        var message = parserMessage
        if let newline = message.firstIndex(of: "\n") { message = String(message[..<newline]) }
        if message.hasPrefix("Error: ") { message = String(message.dropFirst(7)) }
        return .usage(message.isEmpty ? "invalid usage" : UntrustedText.printable(message, limit: 400))
    }

    /// ArgumentParser wraps what a `transform:` throws in its own (internal) error types, whose
    /// message would repeat the raw value unescaped; the original is found by reflection.
    static func thrownByTransform(_ error: any Error) -> VFIOError? {
        find(error, depth: 6)
    }

    private static func find(_ value: Any, depth: Int) -> VFIOError? {
        if let error = value as? VFIOError { return error }
        guard depth > 0 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let found = find(child.value, depth: depth - 1) { return found }
        }
        return nil
    }

    /// Whether the command line asks for JSON (before any `--`), so a usage error is also
    /// reported as an error document.
    static func wantsJSON(_ arguments: [String]) -> Bool {
        for argument in arguments {
            if argument == "--" { return false }
            if argument == "--json" { return true }
        }
        return false
    }
}
