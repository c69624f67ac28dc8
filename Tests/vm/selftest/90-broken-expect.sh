# MUST FAIL: a wrong expectation is reported with the console around it.
# vm-must-fail: driver of the e1000e: expected 'e1000', got 'e1000e'
. "$VM_LIB"
note "the e1000e is on $(pci_driver "$VM_E1000E")"
expect_eq "$(pci_driver "$VM_E1000E")" e1000 "driver of the e1000e"
note "not reached"
