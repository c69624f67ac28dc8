import VFIOKit

/// Gives a device back to the host for `apply`, with the rules of `unbind`.
enum ApplyReleaser {
    struct Outcome {
        var status: ApplyCommand.Status
        var message: String?
        var dryRunText: String?
        var rollbackFailed = false
    }

    static func release(_ release: ApplyPlan.Release, context: CommandContext, dryRun: Bool, defaultTimeout: Duration) -> Outcome {
        Outcome(status: .refused, message: "releasing devices from apply is not available in this build")
    }
}
