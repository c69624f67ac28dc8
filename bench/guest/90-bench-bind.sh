# Benchmark scenario (not a test): what `vfioctl bind` and `vfioctl unbind` cost on a real kernel,
# against the bare sysfs write sequence a shell script would do (the floor: builtin echo, no
# process, no checks beyond reading the driver link). bench/guest/run.sh runs it through
# Tests/vm/run.sh and reads $VM_OUT/bench-bind.json.
#
# Each cycle binds the device to vfio-pci and gives it back to its host driver; cycles alternate
# between the bare writes and vfioctl so that guest noise hits both alike. When `vfioctl unbind`
# has not landed yet, vfioctl cycles give the device back with the bare writes and only the bind
# half is compared.
# vm-timeout: 900
. "$VM_LIB"
[ -r "$VM_REPO/bench-guest.env" ] && . "$VM_REPO/bench-guest.env"
cycles=${BENCH_CYCLES:-15}
bdf=$VM_E1000E
host_driver=e1000e
d=/sys/bus/pci/devices/$bdf
has_unbind=0
[[ $("$VFIOCTL" unbind --help 2>/dev/null) == *"USAGE: vfioctl unbind"* ]] && has_unbind=1

expect_eq "$(pci_driver "$bdf")" "$host_driver" "driver of $bdf at boot"
expect_exit 0 modprobe vfio-pci

now_us() { REPLY=${EPOCHREALTIME/./}; }
driver_is() { _vm_link_name "$d/driver" && [ "$REPLY" = "$1" ]; }

bare_bind() {
    echo vfio-pci >"$d/driver_override" || fail "driver_override"
    [ -e "$d/driver" ] && { echo "$bdf" >"$d/driver/unbind" || fail "unbind from the host driver"; }
    echo "$bdf" >/sys/bus/pci/drivers_probe || fail "drivers_probe"
    driver_is vfio-pci || fail "bare bind: driver is '$REPLY'"
}
bare_release() {
    echo >"$d/driver_override" || fail "clear driver_override"
    echo "$bdf" >"$d/driver/unbind" || fail "unbind from vfio-pci"
    echo "$bdf" >/sys/bus/pci/drivers_probe
    driver_is "$host_driver" || fail "bare release: driver is '$REPLY'"
}
tool_bind() {
    "$VFIOCTL" bind -q "$bdf" >/dev/null || fail "vfioctl bind $bdf exited $?"
    driver_is vfio-pci || fail "vfioctl bind: driver is '$REPLY'"
}
tool_release() {
    "$VFIOCTL" unbind -q "$bdf" >/dev/null || fail "vfioctl unbind $bdf exited $?"
    driver_is "$host_driver" || fail "vfioctl unbind: driver is '$REPLY'"
}

# cycle KIND: one bind and one release; appends the two times (µs) to KIND's lists.
bare_b=() bare_r=() tool_b=() tool_r=()
cycle() {
    local t0 t1 t2
    now_us; t0=$REPLY
    "${1}_bind"
    now_us; t1=$REPLY
    if [ "$1" = tool ] && [ "$has_unbind" = 0 ]; then bare_release; else "${1}_release"; fi
    now_us; t2=$REPLY
    if [ "$1" = bare ]; then
        bare_b+=($((t1 - t0))) bare_r+=($((t2 - t1)))
    else
        tool_b+=($((t1 - t0))) tool_r+=($((t2 - t1)))
    fi
}

# One untimed cycle of each (module loading, page cache), then alternate.
cycle bare
cycle tool
bare_b=() bare_r=() tool_b=() tool_r=()
for ((i = 0; i < cycles; i++)); do
    if [ $((i % 2)) = 0 ]; then cycle bare; cycle tool; else cycle tool; cycle bare; fi
done
# For reading the numbers: what starting the binary costs at all (`vfioctl --version`, which
# reads nothing), and a read-only inventory of the guest (`vfioctl list -q`).
start=() listq=()
for ((i = 0; i < cycles; i++)); do
    now_us; t0=$REPLY
    "$VFIOCTL" --version >/dev/null
    now_us; t1=$REPLY
    "$VFIOCTL" list -q >/dev/null
    now_us; t2=$REPLY
    start+=($((t1 - t0))) listq+=($((t2 - t1)))
done
note "bind µs: bare ${bare_b[*]} | vfioctl ${tool_b[*]}"
note "vfioctl --version µs: ${start[*]}; list -q µs: ${listq[*]}"
note "release µs: bare ${bare_r[*]} | vfioctl ${tool_r[*]} (vfioctl unbind: $has_unbind)"

result=$(python3 - "$cycles" "$VM_KERNEL" "$(uname -r)" "$bdf" "$has_unbind" "${bare_b[*]}" "${bare_r[*]}" "${tool_b[*]}" "${tool_r[*]}" \
    "${start[*]}" "${listq[*]}" <<'PY'
import json, statistics, sys
cycles, series, release, bdf, has_unbind = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
bb, br, tb, tr, st, lq = ([int(x) / 1000 for x in a.split()] for a in sys.argv[6:12])
med = statistics.median
res = {"available": True, "cycles": cycles, "kernel": series + " (" + release + ")", "device": bdf + " (e1000e)",
       "vfioctl_unbind": has_unbind, "vfioctl_version_ms_p50": med(st), "vfioctl_list_quiet_ms_p50": med(lq),
       "bind": {"bare_ms_p50": med(bb), "vfioctl_ms_p50": med(tb), "ratio": med(tb) / med(bb), "bare_ms": bb, "vfioctl_ms": tb},
       "release": {"bare_ms_p50": med(br), "vfioctl_ms_p50": med(tr) if has_unbind else None,
                   "ratio": med(tr) / med(br) if has_unbind else None, "bare_ms": br, "vfioctl_ms": tr if has_unbind else []}}
if has_unbind:
    bc = [b + r for b, r in zip(bb, br)]
    tc = [b + r for b, r in zip(tb, tr)]
    res["cycle"] = {"bare_ms_p50": med(bc), "vfioctl_ms_p50": med(tc), "ratio": med(tc) / med(bc)}
print(json.dumps(res))
PY
)
[ -n "$result" ] || fail "no result"
mkdir -p "$VM_OUT"
echo "$result" >"$VM_OUT/bench-bind.json"
echo "@@BENCH $result"
