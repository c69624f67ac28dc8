# MUST FAIL: a guest that never reports is killed by the host (after vm-timeout plus
# its own vm-boot-allowance, to keep this cheap) and reported with its console tail.
# vm-timeout: 5
# vm-boot-allowance: 30
# vm-must-fail: guest killed after [0-9]+s: no verdict
. "$VM_LIB"
note "stopping the guest-side runner"
kill -STOP "$PPID"
sleep 600
