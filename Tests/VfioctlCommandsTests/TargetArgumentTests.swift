import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@testable import VfioctlCommands
@testable import VfioctlOutput

@Suite("TARGET completion")
struct TargetCompletionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let prefix: String
        let expected: [String]
        var testDescription: String { "'\(prefix)'" }
    }

    static let cases: [Case] = [
        Case(prefix: "0000:01:", expected: ["0000:01:00.0", "0000:01:00.1"]),
        Case(prefix: "0000:07:02", expected: ["0000:07:02.0", "0000:07:02.1"]),
        // No full address starts with "07:", so the short forms are offered.
        Case(prefix: "07:", expected: ["07:00.0", "07:02.0", "07:02.1"]),
        Case(prefix: "group:2", expected: ["group:20", "group:21", "group:22", "group:23", "group:24", "group:25"]),
        Case(prefix: "10de:", expected: ["10de:1aef", "10de:2204"]),
        Case(prefix: "8086:15", expected: ["8086:1533", "8086:154c", "8086:1572"]),
        Case(prefix: "zz", expected: []),
    ]

    @Test("addresses, groups and ids of the fixture, filtered by the prefix", arguments: cases)
    func candidates(_ c: Case) {
        let host = FixtureLayout.desktop.build()
        #expect(TargetCandidates.matching(c.prefix, root: host.root) == c.expected)
    }

    @Test("an empty prefix offers every full address, group and id once")
    func everything() {
        let host = FixtureLayout.desktop.build()
        let found = TargetCandidates.matching("", root: host.root)
        let truth = FixtureLayout.desktop.truth
        #expect(found.filter { PCIAddress($0) != nil && $0.count == 12 }.count == truth.deviceCount)
        #expect(found.filter { $0.hasPrefix("group:") }.count == truth.groups.count)
        #expect(Set(found).count == found.count)
        #expect(TargetCandidates.matching("gr", root: host.root) == truth.groups.keys.sorted().map { "group:\($0)" })
    }

    @Test("a tree without sysfs offers nothing")
    func missing() {
        #expect(TargetCandidates.matching("", root: HostRoot("/nonexistent/vfioctl")).isEmpty)
        #expect(TargetCompletion.candidates(words: ["vfioctl", "show", "--root", "/nonexistent/vfioctl", ""], index: 4, prefix: "", environment: [:]).isEmpty)
        #expect(TargetCompletion.candidates(words: ["vfioctl", "show", ""], index: 2, prefix: "", environment: ["VFIOCTL_ROOT": "relative"]).isEmpty)
    }

    @Test("the root: --root DIR or --root=DIR on the line (the last wins) over VFIOCTL_ROOT, else /")
    func root() {
        let a = FixtureLayout.desktop.build()
        let b = FixtureLayout.noIOMMU.build()
        let env = ["VFIOCTL_ROOT": b.path]
        #expect(TargetCompletion.root(words: ["vfioctl", "show", "x"], index: 2, environment: env)?.prefix.string == b.path)
        #expect(TargetCompletion.root(words: ["vfioctl", "show", "--root", a.path, "x"], index: 4, environment: env)?.prefix.string == a.path)
        #expect(TargetCompletion.root(words: ["vfioctl", "show", "--root=" + a.path, "x"], index: 3, environment: [:])?.prefix.string == a.path)
        #expect(TargetCompletion.root(words: ["vfioctl", "show", "--root", "=", a.path, "x"], index: 5, environment: [:])?.prefix.string == a.path)
        #expect(TargetCompletion.root(words: ["vfioctl", "show", "--root", "'" + a.path + "'", "x"], index: 4, environment: [:])?.prefix.string == a.path)
        // A --root after the word being completed does not count.
        #expect(TargetCompletion.root(words: ["vfioctl", "show", "x", "--root", a.path], index: 2, environment: env)?.prefix.string == b.path)
        #expect(TargetCompletion.root(words: ["vfioctl", "show", "x"], index: 2, environment: [:])?.prefix.string == "/")
    }

    @Test("shells: bash gets the part after the word's last ':', zsh gets ':' escaped")
    func shells() {
        let host = FixtureLayout.desktop.build()
        let words = ["vfioctl", "show", "--root", host.path, "0000", ":", "01", ":", "0"]
        #expect(TargetCompletion.candidates(words: words, index: 8, prefix: "0", environment: ["SAP_SHELL": "bash"]) == ["00.0", "00.1"])
        #expect(TargetCompletion.bashWord(words: words, index: 8, prefix: "0") == "0000:01:0")
        let zsh = TargetCompletion.candidates(words: ["vfioctl", "show", "--root", host.path, "10de:"], index: 4, prefix: "10de:", environment: ["SAP_SHELL": "zsh"])
        #expect(zsh == ["10de\\:1aef", "10de\\:2204"])
    }
}

@Suite("TARGET arguments")
struct TargetArgumentTests {
    @Test("a bad target is one usage line with vfioctl's reason, escaped, in every command", arguments: ["show", "bind", "unbind", "holders", "wait", "cycle"])
    func badTarget(_ command: String) {
        let host = FixtureLayout.desktop.build()
        for (text, reason) in [
            ("../x", "invalid target '../x': expected "), ("group:1/../2", "invalid group 'group:1/../2'"), ("a\u{1B}[2J\nb", "invalid target 'a\\x1b[2J\\x0ab'"),
        ] {
            let run = vfioctl([command, text], host: host)
            #expect(run.status == 64)
            #expect(run.stderr.hasPrefix("vfioctl: " + reason), "\(run.stderr)")
            #expect(run.stderr.hasSuffix(" (see 'vfioctl help')\n"), "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test("parsed once: the commands hold Target values")
    func parsed() throws {
        let command = try Vfioctl.parseAsRoot(["unbind", "01:00.0", "group:12", "10de:2204"])
        let unbind = try #require(command as? UnbindCommand)
        #expect(unbind.targets == [.address(PCIAddress("01:00.0")!), .group(12), .ids(vendor: 0x10de, device: 0x2204)])
        #expect(Target(argument: "nope") == nil)
        #expect(Target(argument: "group:3") == .group(3))
    }

    @Test("every --timeout takes the same durations")
    func timeouts() {
        let host = FixtureLayout.desktop.build()
        for args in [["wait", "07:02.1"], ["unbind", "05:00.0", "--dry-run"], ["apply", "--dry-run"], ["cycle", "07:02.1", "--dry-run"]] {
            let run = vfioctl(args + ["--timeout", "30S"], host: host)
            #expect(run.status == 64, "\(args)")
            #expect(run.stderr.contains("invalid --timeout '30S'"), "\(args): \(run.stderr)")
        }
    }
}
