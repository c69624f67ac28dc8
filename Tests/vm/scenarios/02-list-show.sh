# `vfioctl list --json` and `vfioctl show` agree with the guest's sysfs: devices, drivers,
# groups, viability and blockers, before and after a bridge NIC is put on vfio-pci by hand.
# Bad targets exit 64, a missing device 69.
. "$VM_LIB"

# --- what sysfs says ---------------------------------------------------------------
# "BDF DRIVER GROUP" for every PCI device ("-" for none)
sysfs_devices() {
    local d b drv grp
    for d in /sys/bus/pci/devices/*; do
        b=${d##*/}
        drv=$(pci_driver "$b") grp=$(pci_group "$b")
        echo "$b ${drv:--} ${grp:--}"
    done
}
# "N: BDF BDF ..." for every group
sysfs_groups() {
    local g
    for g in $(ls /sys/kernel/iommu_groups | sort -n); do
        echo "$g: $(echo $(group_devices "$g"))"
    done
}
# A member is fine when unbound, on a VFIO driver (vfio-dev/ exists), pci-stub or pcieport.
# "N viable|blocked [BDF=DRIVER ...]" for every group
sysfs_viability() {
    local g m drv blockers
    for g in $(ls /sys/kernel/iommu_groups | sort -n); do
        blockers=
        for m in $(group_devices "$g"); do
            drv=$(pci_driver "$m")
            case $drv in '' | pci-stub | pcieport) continue ;; esac
            [ -d "/sys/bus/pci/devices/$m/vfio-dev" ] && continue
            blockers="$blockers $m=$drv"
        done
        if [ -z "$blockers" ]; then echo "$g viable"; else echo "$g blocked$blockers"; fi
    done
}

# --- what vfioctl says (same formats) ---------------------------------------------------
json_tables() { # FILE -> the three tables above, separated by "@@"
    python3 - "$1" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
na = lambda v: "-" if v is None else str(v)
for d in sorted(j["devices"], key=lambda d: d["address"]):
    print(d["address"], na(d["driver"]), na(d["iommuGroup"]))
print("@@")
groups = sorted(j["groups"], key=lambda g: g["id"])
for g in groups:
    print("%d: %s" % (g["id"], " ".join(sorted(g["devices"]))))
print("@@")
for g in groups:
    b = sorted("%s=%s" % (x["address"], x["driver"]) for x in g["blockers"])
    print(g["id"], "viable" if g["viable"] else "blocked", *b)
EOF
}

list_json() { # -> $LIST (file)
    LIST=$VM_OUT/list-$1.json
    expect_exit 0 "$VFIOCTL" list --json
    printf '%s\n' "$LAST_OUT" >"$LIST"
    expect_json "$LAST_OUT" "vfioctl list --json"
}

compare_with_sysfs() { # LABEL
    local t
    list_json "$1"
    expect_eq "$(json_get 'j["schemaVersion"]' "$LIST")" 1 "list: schemaVersion"
    expect_eq "$(json_get 'j["iommuEnabled"]' "$LIST")" true "list: iommuEnabled"
    t=$(json_tables "$LIST") || fail "list --json lacks expected fields (see $LIST)"
    expect_same_lines "$(awk '/^@@/{n++; next} n==0' <<<"$t")" "$(sysfs_devices)" "$1: devices (BDF driver group)"
    expect_same_lines "$(awk '/^@@/{n++; next} n==1' <<<"$t")" "$(sysfs_groups)" "$1: group members"
    expect_same_lines "$(awk '/^@@/{n++; next} n==2' <<<"$t")" "$(sysfs_viability)" "$1: group viability"
}

# show TARGET agrees with list: every field list has for a device, and the group entry.
compare_show() { # TARGET
    expect_exit 0 "$VFIOCTL" show "$1" --json
    printf '%s\n' "$LAST_OUT" >"$VM_OUT/show.json"
    expect_json "$LAST_OUT" "vfioctl show $1 --json"
    local diffs
    diffs=$(python3 - "$LIST" "$VM_OUT/show.json" "$1" <<'EOF'
import json, sys
lst, show, target = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
devs = {d["address"]: d for d in lst["devices"]}
groups = {g["id"]: g for g in lst["groups"]}
out = []
def norm_group(g):
    g = dict(g)
    g["devices"] = sorted(g["devices"])
    g["blockers"] = sorted(g["blockers"], key=lambda b: b["address"])
    return g
def same_device(d):
    ref = devs.get(d.get("address"))
    if ref is None:
        out.append("device %s is not in list" % d.get("address")); return
    for k, v in ref.items():
        if d.get(k, "<missing>") != v:
            out.append("%s.%s: show %r, list %r" % (d["address"], k, d.get(k, "<missing>"), v))
if show.get("schemaVersion") != 1:
    out.append("schemaVersion %r" % show.get("schemaVersion"))
if target.startswith("group:"):
    gid = int(target[6:])
    members = sorted(d["address"] for d in show["devices"])
    if members != sorted(groups[gid]["devices"]):
        out.append("devices %s, group has %s" % (members, sorted(groups[gid]["devices"])))
    for d in show["devices"]:
        same_device(d)
else:
    if show["device"].get("address") != target:
        out.append("device.address %r" % show["device"].get("address"))
    same_device(show["device"])
    gid = devs[target]["iommuGroup"]
if norm_group(show["group"]) != norm_group(groups[gid]):
    out.append("group: show %s, list %s" % (json.dumps(show["group"], sort_keys=True),
                                             json.dumps(groups[gid], sort_keys=True)))
print("\n".join(out))
EOF
) || fail "vfioctl show $1 --json lacks expected fields"
    [ -z "$diffs" ] || fail "show $1 disagrees with list:
$diffs"
}

modprobe vfio-pci
expect_file /sys/bus/pci/drivers/vfio-pci

# --- at boot -----------------------------------------------------------------------
compare_with_sysfs boot
g_br=$(pci_group "$VM_BRIDGE")
expect_eq "$(json_get "[g['viable'] for g in j['groups'] if g['id'] == $g_br]" "$LIST")" false \
    "bridge group $g_br viable at boot (two NICs on e1000)"
compare_show "$VM_E1000E"
compare_show "group:$g_br"

# --- one bridge NIC on vfio-pci, by hand -------------------------------------------------
sysfs_bind "$VM_BRIDGE_NIC1" vfio-pci
compare_with_sysfs nic1-on-vfio
expect_eq "$(json_get "[d['vfioBound'] for d in j['devices'] if d['address'] == '$VM_BRIDGE_NIC1']" "$LIST")" true \
    "vfioBound of $VM_BRIDGE_NIC1"
expect_eq "$(json_get "[d['vfioBound'] for d in j['devices'] if d['address'] == '$VM_BRIDGE_NIC2']" "$LIST")" false \
    "vfioBound of $VM_BRIDGE_NIC2"
expect_eq "$(json_get "[(g['viable'], [(b['address'], b['driver']) for b in g['blockers']]) for g in j['groups'] if g['id'] == $g_br]" "$LIST")" \
    "[[false,[[\"$VM_BRIDGE_NIC2\",\"e1000\"]]]]" "bridge group $g_br: viable and blockers"
compare_show "$VM_BRIDGE_NIC1"
compare_show "group:$g_br"

# --- targets -----------------------------------------------------------------------
for bad in 0000:01:00 ../../etc group:x; do
    expect_exit 64 "$VFIOCTL" show "$bad"
done
expect_exit 69 "$VFIOCTL" show 0000:7f:1f.7

sysfs_release "$VM_BRIDGE_NIC1" e1000
