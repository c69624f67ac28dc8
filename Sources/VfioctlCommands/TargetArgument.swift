import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// TARGET on the command line: parsed once, by ArgumentParser, with vfioctl's own message.
extension Target: ExpressibleByArgument {
    public init?(argument: String) {
        guard let target = try? Target(parsing: argument) else { return nil }
        self = target
    }

    public static var defaultCompletionKind: CompletionKind { .targets }

    /// For `@Argument(transform:)`: unlike `init?(argument:)`, keeps the reason a target is bad
    /// (`Vfioctl.run` prints it as the one-line usage error).
    static func argument(_ text: String) throws -> Target {
        try Target(parsing: text)
    }

    static let argumentHelp = ArgumentHelp("Devices (0000:01:00.0, 01:00.0), groups (group:12) or ids (10de:2204).", valueName: "TARGET")
}

extension CompletionKind {
    /// The live host's addresses, groups and ids under `--root` (or VFIOCTL_ROOT).
    static var targets: CompletionKind {
        .custom { words, index, prefix in
            TargetCompletion.candidates(words: words, index: index, prefix: prefix, environment: TargetCompletion.processEnvironment())
        }
    }
}

/// Completing TARGET when the user presses TAB.
enum TargetCompletion {
    /// The candidates for the word at `index`, whose part before the cursor is `prefix`.
    /// - Parameters:
    ///   - words: the shell's words, verbatim (quotes included).
    ///   - environment: `VFIOCTL_ROOT`, and `SAP_SHELL` (set by the generated scripts).
    static func candidates(words: [String], index: Int, prefix: String, environment: [String: String]) -> [String] {
        guard let root = root(words: words, index: index, environment: environment) else { return [] }
        // bash splits words at ':' (COMP_WORDBREAKS), so "0000:01:0" arrives as 0000 : 01 : 0;
        // match against the whole word and offer only the part after its last ':', which is
        // what bash replaces.
        if environment["SAP_SHELL"] == "bash" {
            let word = bashWord(words: words, index: index, prefix: prefix)
            guard let colon = word.lastIndex(of: ":") else { return HostSession.targetCandidates(word, root: root) }
            let head = word[...colon].count
            return HostSession.targetCandidates(word, root: root).map { String($0.dropFirst(head)) }
        }
        let found = HostSession.targetCandidates(prefix, root: root)
        // zsh's _describe reads "value:description", so a ':' in a value is escaped.
        if environment["SAP_SHELL"] == "zsh" { return found.map { $0.split(separator: ":", omittingEmptySubsequences: false).joined(separator: "\\:") } }
        return found
    }

    /// The root prefix the command line or environment names, if it is an existing directory.
    static func root(words: [String], index: Int, environment: [String: String]) -> HostRoot? {
        var chosen = environment["VFIOCTL_ROOT"].flatMap { $0.isEmpty ? nil : $0 }
        var i = 1
        let end = min(index, words.count)
        while i < end {
            let word = words[i]
            if word == "--" { break }
            if word == "--root", i + 1 < end {
                // bash splits "--root=DIR" at '=' (COMP_WORDBREAKS) into --root, =, DIR.
                if words[i + 1] == "=", i + 2 < end { i += 1 }
                chosen = unquoted(words[i + 1])
                i += 1
            } else if word.hasPrefix("--root=") {
                chosen = unquoted(String(word.dropFirst(7)))
            }
            i += 1
        }
        let path = chosen ?? "/"
        return try? HostSession.root(path)
    }

    /// The word being completed as the user typed it, undoing bash's split at ':'.
    static func bashWord(words: [String], index: Int, prefix: String) -> String {
        guard index < words.count else { return prefix }
        var word = words[index] == ":" ? ":" : prefix
        var i = index - 1
        var joining = words[index] == ":"
        while i > 0 {
            let piece = words[i]
            if piece == ":" {
                word = piece + word
                joining = true
            } else if joining {
                word = piece + word
                joining = false
            } else {
                break
            }
            i -= 1
        }
        return word
    }

    /// A word with one pair of surrounding quotes removed (the shell passes words verbatim).
    static func unquoted(_ word: String) -> String {
        for quote in ["'", "\""] where word.count >= 2 && word.hasPrefix(quote) && word.hasSuffix(quote) {
            return String(word.dropFirst().dropLast())
        }
        return word
    }

    static func processEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for name in ["VFIOCTL_ROOT", "SAP_SHELL"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return environment
    }
}
