# doctor inside a guest with an IOMMU gives the right verdicts, and what `show` decodes from
# config space (capabilities, MSI/MSI-X, PCIe link, FLR, ACS) agrees with lspci -vv on every
# device of the same guest. Keeps the guest's config-space dump in $VM_OUT.
# vm-timeout: 300
# vm-kernels: 6.1 6.12 6.12-vfio  (doctor reads modules and kernel options, which differ on each)
. "$VM_LIB"

run "$VFIOCTL" doctor
note "doctor exit $LAST_RC"
printf '%s\n' "$LAST_OUT"
expect_contains "$LAST_OUT" "Intel VT-d" "doctor iommu line"
line() { printf '%s\n' "$LAST_OUT" | grep -E "^[a-zA-Z]+ +$1 " | head -n1; }
expect_contains "$(line iommu)" "ok" "iommu verdict"
expect_contains "$(line translation)" "identity" "iommu=pt is passthrough"
expect_contains "$(line interrupt-remapping)" "ok" "interrupt remapping (intremap=on)"
expect_contains "$(line vfio-modules)" "ok" "vfio-pci loadable"
expect_contains "$(line cmdline)" "intel_iommu=on" "command line"
expect_eq "$LAST_RC" 0 "doctor exit status with a working IOMMU"

# vfio-pci loaded: doctor says so.
expect_exit 0 modprobe vfio-pci
run "$VFIOCTL" doctor
expect_contains "$(line vfio-modules)" "vfio-pci is loaded" "vfio-pci loaded"

lspci -xxxx -D >"$VM_OUT/lspci-xxxx.dump" 2>/dev/null
lspci -vv -D >"$VM_TMP/lspci-vv.txt" 2>/dev/null
for dev in /sys/bus/pci/devices/*; do
    bdf=${dev##*/}
    "$VFIOCTL" show "$bdf" --json >"$VM_TMP/show-$bdf.json" || fail "show $bdf failed"
done

python3 - "$VM_TMP" <<'PY' || fail "show and lspci -vv disagree (see above)"
import glob, json, os, re, sys
tmp = sys.argv[1]
blocks = {}
for block in open(os.path.join(tmp, "lspci-vv.txt")).read().split("\n\n"):
    if block.strip():
        blocks[block[:12]] = block
bad = 0
def check(ok, what):
    global bad
    if not ok:
        bad += 1
        print("MISMATCH", what)
checked = 0
for path in sorted(glob.glob(os.path.join(tmp, "show-*.json"))):
    doc = json.load(open(path))
    address = doc["device"]["address"]
    block = blocks.get(address)
    check(block is not None, f"{address}: not in lspci")
    if block is None:
        continue
    config = doc["config"]
    offsets = [int(m, 16) for m in re.findall(r"Capabilities: \[([0-9a-f]+)", block)]
    check([c["offset"] for c in config["capabilities"]] == offsets, f"{address}: capability offsets {config['capabilities']} vs {offsets}")
    msix = config["msix"]
    if msix:
        check(f"MSI-X: Enable{'+' if msix['enabled'] else '-'} Count={msix['tableSize']} " in block, f"{address}: MSI-X {msix}")
    else:
        check("MSI-X:" not in block, f"{address}: lspci shows MSI-X")
    express = config["express"]
    if express:
        if express["portType"].endswith("Endpoint"):
            check(("FLReset+" if express["flr"] else "FLReset-") in block, f"{address}: FLR {express['flr']}")
        if express.get("linkCapabilitySpeed"):
            check(f"Speed {express['linkCapabilitySpeed']}, Width x{express['linkCapabilityWidth']}" in block, f"{address}: LnkCap")
    acs = config["acs"]
    names = [("sourceValidation", "SrcValid"), ("translationBlocking", "TransBlk"), ("requestRedirect", "ReqRedir"),
             ("completionRedirect", "CmpltRedir"), ("upstreamForwarding", "UpstreamFwd"), ("egressControl", "EgressCtrl"),
             ("directTranslatedP2P", "DirectTrans")]
    if acs:
        for part, label in (("capability", "ACSCap"), ("control", "ACSCtl")):
            text = label + ":\t" + " ".join(n + ("+" if acs[part][k] else "-") for k, n in names)
            check(text in block, f"{address}: {text}")
    else:
        check("ACSCap:" not in block, f"{address}: lspci shows ACS")
    # What sysfs says about reset and the group, too.
    reset = open(f"/sys/bus/pci/devices/{address}/reset_method").read().split() if os.path.exists(f"/sys/bus/pci/devices/{address}/reset_method") else None
    check(doc["device"]["resetMethods"] == reset, f"{address}: reset methods {doc['device']['resetMethods']} vs {reset}")
    checked += 1
print(f"checked {checked} devices")
sys.exit(1 if bad or checked < 10 else 0)
PY
