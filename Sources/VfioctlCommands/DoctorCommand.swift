import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

struct DoctorCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the IOMMU, interrupt remapping, kernel command line and VFIO modules, each with a fix",
        discussion: """
            One finding per line: ok, warn or fail, what was found, and what to do about it. \
            Exit status 0 when nothing fails, 1 otherwise.
            """
    )

    @OptionGroup var global: GlobalOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        Renderer(context).render(context.session().doctor())
    }
}
