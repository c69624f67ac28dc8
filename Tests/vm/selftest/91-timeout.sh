# MUST FAIL: a scenario that outlives its time limit is killed inside the guest.
# vm-timeout: 10
. "$VM_LIB"
note "sleeping past the limit"
sleep 600
