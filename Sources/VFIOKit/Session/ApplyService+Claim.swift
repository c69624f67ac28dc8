import VFIOHost
import VFIOModel
import VFIOWriters

extension HostSession {
    /// Brings the claim-at-add files in step with the desired state (the lock is already
    /// held): written where they differ, removed when nothing is claimed any more, and udevd
    /// told to reload when the rule changed. A dry run only says what would change.
    func updateClaimFiles(_ desired: DesiredState) -> ClaimUpdate {
        let files = ClaimFileStore(root: root)
        let inventory: HostInventory
        do {
            inventory = try self.inventory()
        } catch {
            var update = ClaimUpdate(dryRun: dryRun)
            update.errors.append("the claim-at-add files were not updated: \(error.message)")
            return update
        }
        let claims = ClaimFiles.claims(desired, inventory: inventory)
        let drivers = files.hostDrivers(of: claims, inventory: inventory, state: try? store.load())
        var update = files.sync(ClaimFiles(claims: claims, hostModules: drivers.modules, initramfsTools: files.hasInitramfsTools), dryRun: dryRun)
        update.claims = claims
        update.builtInDrivers = drivers.builtIn
        guard (update.written + update.removed).contains(ClaimFiles.rulePath) else { return update }
        let steps = UdevRuleStore(root: root).reloadSteps()
        guard !steps.isEmpty else { return update }
        if dryRun {
            update.udevReloaded = true
            return update
        }
        do throws(StepFailure) {
            try executor().run(steps)
            update.udevReloaded = true
        } catch {
            update.errors.append("\(ClaimFiles.rulePath) changed, but udevd could not be told to reload it: \(error.message)")
        }
        return update
    }
}
