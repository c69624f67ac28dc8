# Benchmark scenario (not a test): what `vfioctl bind` and `vfioctl unbind` cost on a real kernel,
# against the bare sysfs write sequence a shell script would do (the floor: builtin echo, no
# process, no checks beyond reading the driver link), and against dpdk-devbind.py where it can
# take the devices. bench/guest/run.sh runs it through Tests/vm/run.sh and reads
# $VM_OUT/bench-bind.json.
#
# Two sets, each bound to vfio-pci and given back to its host drivers in one go per cycle:
#   topology  every endpoint the guest can give away: the e1000e, the two e1000 behind the PCI
#             bridge (one group), both NVMe controllers, and the multi-function NIC + audio
#             (one group). Not the virtio 9p functions: they carry the guest's root filesystem.
#   nics      the e1000e and the bridge pair, which dpdk-devbind.py also accepts (it refuses NVMe
#             and audio functions as unknown classes).
# Cycles alternate between the tools so that guest noise hits them alike.
# vm-timeout: 1500
. "$VM_LIB"
[ -r "$VM_REPO/bench-guest.env" ] && . "$VM_REPO/bench-guest.env"
cycles=${BENCH_CYCLES:-9}
dpdk_cycles=${BENCH_DPDK_CYCLES:-5}
topology=($VM_E1000E $VM_BRIDGE_NIC1 $VM_BRIDGE_NIC2 $VM_NVME_FS $VM_NVME_SRIOV $VM_MF_NIC $VM_MF_AUDIO)
nics=($VM_E1000E $VM_BRIDGE_NIC1 $VM_BRIDGE_NIC2)
devbind=${BENCH_DEVBIND:-}

declare -A host_driver
for bdf in "${topology[@]}"; do
    host_driver[$bdf]=$(pci_driver "$bdf")
    [ -n "${host_driver[$bdf]}" ] || fail "$bdf has no driver at boot"
done
expect_exit 0 modprobe vfio-pci

now_us() { REPLY=${EPOCHREALTIME/./}; }
driver_is() { _vm_link_name "/sys/bus/pci/devices/$1/driver" && [ "$REPLY" = "$2" ]; }
check_all() { # DRIVER|host BDF...: every device is on DRIVER (or its host driver)
    local want=$1 bdf
    shift
    for bdf; do
        local expected=$want
        [ "$want" = host ] && expected=${host_driver[$bdf]}
        driver_is "$bdf" "$expected" || fail "$bdf: driver is '$REPLY', expected $expected"
    done
}

bare_bind() {
    local bdf d
    for bdf; do
        d=/sys/bus/pci/devices/$bdf
        echo vfio-pci >"$d/driver_override" || fail "driver_override $bdf"
        [ -e "$d/driver" ] && { echo "$bdf" >"$d/driver/unbind" || fail "unbind $bdf from its host driver"; }
        echo "$bdf" >/sys/bus/pci/drivers_probe || fail "drivers_probe $bdf"
    done
}
bare_release() {
    local bdf d
    for bdf; do
        d=/sys/bus/pci/devices/$bdf
        echo >"$d/driver_override" || fail "clear driver_override $bdf"
        echo "$bdf" >"$d/driver/unbind" || fail "unbind $bdf from vfio-pci"
        echo "$bdf" >/sys/bus/pci/drivers_probe
    done
}
vfioctl_bind() { "$VFIOCTL" bind -q "$@" >/dev/null || fail "vfioctl bind exited $?"; }
vfioctl_release() { "$VFIOCTL" unbind -q "$@" >/dev/null || fail "vfioctl unbind exited $?"; }
dpdk_bind() { python3 "$devbind" -b vfio-pci "$@" >/dev/null 2>&1 || fail "dpdk-devbind -b vfio-pci exited $?"; }
dpdk_release() {
    # One call per host driver, as a script using it would do.
    local drv bdf list
    for drv in $(for bdf; do echo "${host_driver[$bdf]}"; done | sort -u); do
        list=()
        for bdf; do [ "${host_driver[$bdf]}" = "$drv" ] && list+=("$bdf"); done
        python3 "$devbind" -b "$drv" "${list[@]}" >/dev/null 2>&1 || fail "dpdk-devbind -b $drv exited $?"
    done
}

# cycle SET TOOL: bind the set, check, give it back, check; appends µs to times[SET.TOOL.bind|release].
declare -A times
cycle() {
    local set=$1 tool=$2 t0 t1 t2
    local -n devs=$set
    now_us; t0=$REPLY
    "${tool}_bind" "${devs[@]}"
    now_us; t1=$REPLY
    check_all vfio-pci "${devs[@]}"
    now_us; t1b=$REPLY
    "${tool}_release" "${devs[@]}"
    now_us; t2=$REPLY
    check_all host "${devs[@]}"
    times[$set.$tool.bind]+=" $((t1 - t0))"
    times[$set.$tool.release]+=" $((t2 - t1b))"
}

tools_nics=(bare vfioctl)
[ -n "$devbind" ] && [ -r "$devbind" ] && tools_nics+=(dpdk)

# One untimed cycle of each (module loading, page cache), then alternate.
cycle topology bare
cycle topology vfioctl
for t in "${tools_nics[@]}"; do cycle nics "$t"; done
times=()
for ((i = 0; i < cycles; i++)); do
    if [ $((i % 2)) = 0 ]; then cycle topology bare; cycle topology vfioctl; else cycle topology vfioctl; cycle topology bare; fi
done
for ((i = 0; i < dpdk_cycles; i++)); do
    for t in "${tools_nics[@]}"; do cycle nics "$t"; done
done

# For reading the numbers: what starting a process costs here at all (`/bin/true`), starting
# vfioctl (`--version`, which reads nothing), Python, and a read-only inventory (`list -q`).
for ((i = 0; i < cycles; i++)); do
    now_us; t0=$REPLY
    /bin/true
    now_us; t1=$REPLY
    "$VFIOCTL" --version >/dev/null
    now_us; t2=$REPLY
    "$VFIOCTL" list -q >/dev/null
    now_us; t3=$REPLY
    python3 -c pass
    now_us; t4=$REPLY
    times[start.true]+=" $((t1 - t0))" times[start.vfioctl]+=" $((t2 - t1))" times[start.list]+=" $((t3 - t2))"
    times[start.python]+=" $((t4 - t3))"
done
for k in "${!times[@]}"; do note "$k µs:${times[$k]}"; done

mkdir -p "$VM_TMP"
for k in "${!times[@]}"; do echo "$k${times[$k]}"; done >"$VM_TMP/times"
result=$(python3 - "$cycles" "$dpdk_cycles" "$VM_KERNEL" "$(uname -r)" "${topology[*]}" "${nics[*]}" "$VM_TMP/times" <<'PY'
import json, statistics, sys
cycles, dpdk_cycles, series, release = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
sets = {"topology": sys.argv[5].split(), "nics": sys.argv[6].split()}
times = {}
for line in open(sys.argv[7]):
    key, *values = line.split()
    times[key] = [int(v) / 1000 for v in values]
med = statistics.median
res = {"available": True, "cycles": cycles, "dpdk_cycles": dpdk_cycles, "kernel": series + " (" + release + ")", "sets": {},
       "start_ms_p50": {k.split(".")[1]: med(v) for k, v in times.items() if k.startswith("start.")}}
for name, devices in sets.items():
    entry = {"devices": devices, "tools": {}}
    for tool in ("bare", "vfioctl", "dpdk"):
        b, r = times.get(name + "." + tool + ".bind"), times.get(name + "." + tool + ".release")
        if not b:
            continue
        c = [x + y for x, y in zip(b, r)]
        entry["tools"][tool] = {"bind_ms_p50": med(b), "release_ms_p50": med(r), "cycle_ms_p50": med(c),
                                "bind_ms": b, "release_ms": r}
    floor = entry["tools"]["bare"]
    for tool, t in entry["tools"].items():
        t["bind_ratio"] = t["bind_ms_p50"] / floor["bind_ms_p50"]
        t["release_ratio"] = t["release_ms_p50"] / floor["release_ms_p50"]
        t["cycle_ratio"] = t["cycle_ms_p50"] / floor["cycle_ms_p50"]
    res["sets"][name] = entry
print(json.dumps(res))
PY
)
[ -n "$result" ] || fail "no result"
mkdir -p "$VM_OUT"
echo "$result" >"$VM_OUT/bench-bind.json"
echo "@@BENCH $result"
