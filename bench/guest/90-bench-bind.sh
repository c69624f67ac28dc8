# Benchmark scenario (not a test): the cost of `vfioctl bind` + `vfioctl unbind` against the bare
# sysfs write sequence a shell script would do (the floor), on a real kernel in the QEMU guest.
# Cycles alternate between the two so that guest noise hits both alike. bench/guest/run.sh runs
# it through Tests/vm/run.sh and reads $VM_OUT/bench-bind.json.
# vm-timeout: 900
. "$VM_LIB"
[ -r "$VM_REPO/bench-guest.env" ] && . "$VM_REPO/bench-guest.env"
cycles=${BENCH_CYCLES:-15}
bdf=$VM_E1000E
host_driver=e1000e
d=/sys/bus/pci/devices/$bdf

expect_eq "$(pci_driver "$bdf")" "$host_driver" "driver of $bdf at boot"
expect_exit 0 modprobe vfio-pci

# Microseconds from bash's clock (no process per reading).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

bare_cycle() {
    echo vfio-pci >"$d/driver_override" || fail "driver_override"
    [ -e "$d/driver" ] && { echo "$bdf" >"$d/driver/unbind" || fail "unbind from $(pci_driver "$bdf")"; }
    echo "$bdf" >/sys/bus/pci/drivers_probe || fail "drivers_probe"
    _vm_link_name "$d/driver" && [ "$REPLY" = vfio-pci ] || fail "bare bind: driver is '$REPLY'"
    echo >"$d/driver_override" || fail "clear driver_override"
    echo "$bdf" >"$d/driver/unbind" || fail "unbind from vfio-pci"
    echo "$bdf" >/sys/bus/pci/drivers_probe
    _vm_link_name "$d/driver" && [ "$REPLY" = "$host_driver" ] || fail "bare release: driver is '$REPLY'"
}

vfioctl_cycle() {
    "$VFIOCTL" bind -q "$bdf" >/dev/null || fail "vfioctl bind $bdf exited $?"
    _vm_link_name "$d/driver" && [ "$REPLY" = vfio-pci ] || fail "vfioctl bind: driver is '$REPLY'"
    "$VFIOCTL" unbind -q "$bdf" >/dev/null || fail "vfioctl unbind $bdf exited $?"
    _vm_link_name "$d/driver" && [ "$REPLY" = "$host_driver" ] || fail "vfioctl unbind: driver is '$REPLY'"
}

# One untimed cycle of each (module loading, page cache), then alternate.
bare_cycle
vfioctl_cycle
bare=() tool=()
for ((i = 0; i < cycles; i++)); do
    for kind in bare vfioctl; do
        [ $((i % 2)) = 1 ] && kind=$([ "$kind" = bare ] && echo vfioctl || echo bare)
        t0=$(now_us)
        "${kind}_cycle"
        t1=$(now_us)
        if [ "$kind" = bare ]; then bare+=($((t1 - t0))); else tool+=($((t1 - t0))); fi
    done
done

result=$(python3 - "$cycles" "$VM_KERNEL" "$(uname -r)" "$bdf" "${bare[*]}" "${tool[*]}" <<'PY'
import json, statistics, sys
cycles, series, release, bdf = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
bare = [int(x) / 1000 for x in sys.argv[5].split()]
tool = [int(x) / 1000 for x in sys.argv[6].split()]
b, t = statistics.median(bare), statistics.median(tool)
print(json.dumps({"available": True, "cycles": cycles, "kernel": series + " (" + release + ")", "device": bdf + " (e1000e)",
                  "bare_ms_p50": b, "vfioctl_ms_p50": t, "ratio": t / b, "bare_ms": bare, "vfioctl_ms": tool}))
PY
)
mkdir -p "$VM_OUT"
echo "$result" >"$VM_OUT/bench-bind.json"
echo "@@BENCH $result"
