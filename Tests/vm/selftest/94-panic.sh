# MUST FAIL: a kernel panic ends the guest without a verdict.
# vm-must-fail: guest ended without a verdict
. "$VM_LIB"
note "crashing the guest kernel"
echo c >/proc/sysrq-trigger
