# MUST FAIL: an unbind left blocked (D state) behind a holder is caught after the scenario.
# (vfio first waits interruptibly, state S; once a signal arrives it waits in D.)
# vm-must-fail: task [0-9]+ \(.*\) stuck in D state
. "$VM_LIB"
modprobe vfio-pci
sysfs_bind "$VM_E1000E" vfio-pci
holder_start --seconds 120 "$VM_E1000E"
echo "$VM_E1000E" >/sys/bus/pci/drivers/vfio-pci/unbind &
unbind=$!
sleep 2
note "unbind $unbind: $(cut -d' ' -f3 /proc/$unbind/stat)"
kill -TERM "$unbind"
sleep 1
note "unbind $unbind after SIGTERM: $(cut -d' ' -f3 /proc/$unbind/stat)"
note "leaving with the unbind still blocked"
