import VFIOKit

/// Gives a device back to the host for `apply`, through the same flow as `unbind` (waiting for
/// holders, the group rule, the SR-IOV guard, the state file), under the lock `apply` holds.
enum ApplyReleaser {
    struct Outcome {
        var status: ApplyCommand.Status
        var message: String?
        var dryRunText: String?
        var rollbackFailed = false
    }

    static func release(_ release: ApplyPlan.Release, context: CommandContext, mutation: MutationOptions, defaultTimeout: Duration) -> Outcome {
        let destination: ReleaseDestination
        switch release.to {
        case nil: destination = .recorded
        case "none"?: destination = .none
        case let driver?: destination = .driver(driver)
        }
        // The flow reports on its own console; apply keeps that for its per-device note.
        let console = Console.capturing()
        var options = context.options
        options.json = false
        options.quiet = false
        let sub: CommandContext
        do {
            sub = try CommandContext(options: options, console: console, environment: context.environment, services: context.services)
        } catch {
            return Outcome(status: .failed, message: error.message)
        }
        let request = ReleaseRequest(kind: .unbind, targets: [.address(release.address)], destination: destination, wholeGroup: release.wholeGroup)
        var runner = ReleaseRunner(context: sub, request: request, timeout: release.timeout ?? defaultTimeout, noWait: false, mutation: mutation)
        runner.lockHeld = true
        // The flow's last word: its error line, else the last line of its report.
        let lastError = { () -> String? in
            let errors = console.capturedErrors.split(separator: "\n").map(String.init).filter { $0 != "vfioctl: nothing was changed" }
            let report = console.captured.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            return (errors.last ?? report.last).map { $0.hasPrefix("vfioctl: ") ? String($0.dropFirst(9)) : $0 }
        }
        do {
            try runner.run()
        } catch let status as ExitStatus {
            switch status.code {
            case 2: return Outcome(status: .refused, message: lastError())
            case 3: return Outcome(status: .timeout, message: lastError())
            case 4: return Outcome(status: .failed, message: lastError(), rollbackFailed: true)
            default: return Outcome(status: .failed, message: lastError())
            }
        } catch let error as VFIOError {
            switch error {
            case .refused: return Outcome(status: .refused, message: error.message)
            case .timedOut: return Outcome(status: .timeout, message: error.message)
            case .rollbackFailed: return Outcome(status: .failed, message: error.message, rollbackFailed: true)
            default: return Outcome(status: .failed, message: error.message)
            }
        } catch {
            return Outcome(status: .failed, message: String(describing: error))
        }
        if mutation.dryRun {
            return Outcome(status: .planned, message: "would give back to \(release.to ?? "its original driver")", dryRunText: console.captured)
        }
        return Outcome(status: .changed, message: "released to " + (release.to ?? "its original driver"))
    }
}
