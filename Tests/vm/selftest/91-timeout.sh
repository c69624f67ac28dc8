# MUST FAIL: a scenario that outlives its time limit is killed inside the guest.
# vm-timeout: 5
# vm-must-fail: did not finish within 5s \(killed\)
. "$VM_LIB"
note "sleeping past the limit"
sleep 600
