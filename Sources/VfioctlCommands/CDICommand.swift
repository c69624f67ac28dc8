import ArgumentParser
import VFIOKit

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
        try CDISpec.validateKind(kind)
        if let output, !output.hasPrefix("/") || output.contains("\0") || output.hasSuffix("/") {
            throw VFIOError.usage("--output must be an absolute file path such as \(CDISpec.defaultPath)")
        }
        let spec = try CDISpec.read(root: context.root, kind: kind)
        let renderer = Renderer(context)
        guard let output else {
            renderer.console.write(String(decoding: spec.encoded(), as: UTF8.self))
            return .success
        }
        let changed = try spec.write(to: output)
        renderer.render(CDIUpdate(path: output, devices: spec.devices.map(\.name), changed: changed), kind: kind)
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
