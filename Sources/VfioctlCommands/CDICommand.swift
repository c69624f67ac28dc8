import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

struct CDICommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdi",
        abstract: "Write a CDI spec with one device per VFIO-bound group, for container runtimes",
        discussion: """
            Prints, or writes to FILE atomically, a Container Device Interface spec (cdiVersion \(CDISpec.version)) \
            with one device per IOMMU group whose members are on a VFIO driver and that is viable. Each device \
            lists /dev/vfio/vfio and the group node, plus /dev/vfio/devices/vfioX and /dev/iommu where the kernel \
            has them. A FILE that already has this content is not rewritten. A container asks for a group by its CDI name, \
            e.g. vfioctl.io/group=12. 'apply' keeps a spec in step with '[defaults] cdi = FILE'.

            Examples:
              vfioctl cdi
              vfioctl cdi --output /etc/cdi/vfioctl.json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Write the spec to FILE (atomically) instead of standard output.", valueName: "FILE"), completion: .file())
    var output: String?

    @Option(name: .long, help: ArgumentHelp("The spec's kind, VENDOR/CLASS (default \(CDISpec.defaultKind)).", valueName: "KIND"))
    var kind: String = CDISpec.defaultKind

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        let view = try context.session().cdi(kind: kind, output: output)
        let renderer = Renderer(context)
        guard let update = view.update else {
            renderer.console.write(String(decoding: view.spec.encoded(), as: UTF8.self))
            return .success
        }
        renderer.render(update, kind: kind)
        return .success
    }
}

/// `vfioctl cdi --output FILE --json`.
struct CDIDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var output: String
    var kind: String
    var changed: Bool
    var devices: [String]
}

extension Renderer {
    func render(_ update: CDIUpdate, kind: String) {
        switch mode {
        case .json:
            console.emitJSON(CDIDocument(output: update.path, kind: kind, changed: update.changed, devices: update.devices))
        case .text:
            let groups = update.devices.isEmpty ? "no VFIO-bound group" : "group " + update.devices.joined(separator: ", ")
            console.line((update.changed ? "wrote " : "unchanged ") + update.path + ": " + groups)
        case .quiet:
            break
        }
    }
}
