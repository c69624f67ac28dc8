#!/bin/sh
# A Proxmox VE hookscript: copy to /var/lib/vz/snippets/, then
#   qm set VMID --hookscript local:snippets/proxmox-hookscript.sh
# pre-start binds the VM's hostpci devices to vfio-pci, post-stop gives them back once QEMU
# has closed them; other phases do nothing. See vfioctl(8).
exec @SBINDIR@/vfioctl hook proxmox "$@"
