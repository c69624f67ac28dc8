# MUST FAIL: a guest that never reports is killed by the host (after vm-timeout plus
# VM_BOOT_ALLOWANCE) and reported with its console tail.
# vm-timeout: 5
. "$VM_LIB"
note "stopping the guest-side runner"
kill -STOP "$PPID"
sleep 600
