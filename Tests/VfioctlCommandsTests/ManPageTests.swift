import Foundation
import Testing
import VfioctlCommands
import VfioctlOutput

@Suite("man page stays in step with the command line")
struct ManPageTests {
    static let manPage: String = {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        return (try? String(contentsOfFile: repository.appendingPathComponent("man/vfioctl.8").path, encoding: .utf8)) ?? ""
    }()

    /// Every command, and each subcommand of a command group as `group sub`.
    static var commandNames: [String] {
        Vfioctl.configuration.subcommands.flatMap { command -> [String] in
            guard let name = command.configuration.commandName else { return [] }
            let subs = command.configuration.subcommands.compactMap { $0.configuration.commandName }
            return subs.isEmpty ? [name] : subs.map { name + " " + $0 }
        }
    }

    @Test("every command is documented")
    func commands() {
        #expect(!Self.manPage.isEmpty)
        for name in Self.commandNames {
            #expect(Self.manPage.contains(".It Cm " + name), "\(name) missing from man/vfioctl.8")
        }
    }

    @Test("every long option of every command is documented", arguments: commandNames)
    func options(_ name: String) {
        let run = vfioctlHelp(name)
        let options = Set(run.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "-") }).filter { $0.hasPrefix("--") && $0.count > 2 })
        #expect(options.contains("--json"), "help for \(name) lists no options: \(run)")
        for option in options where option != "--help" && option != "--version" && option != "--experimental-dump-help" {
            // mdoc spells --json as "Fl -json".
            let flag = "Fl -" + option.dropFirst(2)
            let documented = Self.manPage.components(separatedBy: flag).dropFirst().contains { rest in
                rest.first.map { !($0.isLetter || $0.isNumber || $0 == "-") } ?? true
            }
            #expect(documented, "\(name) \(option) missing from man/vfioctl.8")
        }
    }

    func vfioctlHelp(_ name: String) -> String {
        let console = Console.capturing()
        _ = Vfioctl.run(arguments: ["help"] + name.split(separator: " ").map(String.init), console: console, environment: [:])
        return console.captured + console.capturedErrors
    }
}
