# vfioctl cdi on a real kernel: the spec lists each VFIO-bound group with the nodes the kernel
# made (the group node, /dev/vfio/vfio, and on kernels with VFIO cdevs /dev/vfio/devices/vfioN
# and /dev/iommu), validates against the published CDI schema, every node exists; apply with
# '[defaults] cdi =' keeps it in step.
# vm-timeout: 180
. "$VM_LIB"

SPEC=/etc/cdi/vfioctl.json
validate() { expect_eq "$(python3 "$VM_REPO/schema/validate-cdi.py" --nodes-exist "$SPEC")" "" "spec validates, nodes exist"; }
# expected_nodes BDF...: what the kernel made for the group of the first BDF, in vfioctl's order.
expected_nodes() {
    local g=$(pci_group "$1") b c
    echo /dev/vfio/vfio
    echo "/dev/vfio/$g"
    local cdevs=
    for b in "$@"; do
        for c in "$(pci_dev "$b")"/vfio-dev/vfio*; do
            # vfio-dev/ exists on every kernel; the node only with VFIO_DEVICE_CDEV.
            [ -e "/dev/vfio/devices/${c##*/}" ] && cdevs="$cdevs /dev/vfio/devices/${c##*/}"
        done
    done
    if [ -n "$cdevs" ]; then
        printf '%s\n' $cdevs
        [ -e /dev/iommu ] && echo /dev/iommu
    fi
}

run "$VFIOCTL" bind "$VM_E1000E"
expect_eq "$LAST_RC" 0 "bind"
G=$(pci_group "$VM_E1000E")

run "$VFIOCTL" cdi --output "$SPEC"
expect_eq "$LAST_RC" 0 "cdi --output"
expect_eq "$LAST_OUT" "wrote $SPEC: group $G" "cdi summary"
validate
expect_eq "$(json_get 'j["cdiVersion"], j["kind"], [d["name"] for d in j["devices"]]' "$SPEC")" "[\"0.6.0\",\"vfioctl.io/group\",[\"$G\"]]" "spec header"
expect_same_lines "$(json_get '[n["path"] for n in j["devices"][0]["containerEdits"]["deviceNodes"]]' "$SPEC")" \
    "$(expected_nodes "$VM_E1000E")" "device nodes"
expect_eq "$(json_get 'j["devices"][0]["annotations"]["vfioctl.io/devices"]' "$SPEC")" "$VM_E1000E" "annotation"
if [ -d /dev/vfio/devices ]; then note "VFIO cdev nodes: $(ls /dev/vfio/devices)"; else note "no VFIO cdev nodes"; fi
if [ -e /dev/iommu ]; then note "/dev/iommu present"; else note "no /dev/iommu"; fi

# Unchanged host: the file is left alone.
before=$(stat -c %Y.%i "$SPEC")
run "$VFIOCTL" cdi --output "$SPEC" --json
expect_eq "$(json_get 'j["changed"]' <<<"$LAST_OUT")" false "second run"
expect_eq "$(stat -c %Y.%i "$SPEC")" "$before" "file not rewritten"

# apply keeps it in step: a whole group more, then both given back.
cat >/etc/vfioctl.conf <<CONF
[defaults]
cdi = $SPEC

[device $VM_E1000E]
driver = vfio-pci

[device $VM_MF_NIC]
driver = vfio-pci
group = whole
CONF
run "$VFIOCTL" apply --json
expect_eq "$LAST_RC" 0 "apply"
MG=$(pci_group "$VM_MF_NIC")
expect_eq "$(json_get 'j["cdi"]["changed"], j["cdi"]["devices"]' <<<"$LAST_OUT")" "[true,$(python3 -c "import json,sys; print(json.dumps(sorted(sys.argv[1:], key=int)))" "$G" "$MG" | tr -d ' ')]" "apply's cdi"
validate
expect_same_lines "$(json_get '[n["path"] for d in j["devices"] if d["name"]=="'"$MG"'" for n in d["containerEdits"]["deviceNodes"]]' "$SPEC")" \
    "$(expected_nodes "$VM_MF_NIC" "$VM_MF_AUDIO")" "MF group nodes"

sed -i 's/driver = vfio-pci/driver = host/' /etc/vfioctl.conf
run "$VFIOCTL" apply --json
expect_eq "$LAST_RC" 0 "apply back to host"
expect_eq "$(json_get 'j["cdi"]["devices"]' <<<"$LAST_OUT")" "" "no group left"
validate
expect_eq "$(json_get 'len(j["devices"])' "$SPEC")" 0 "spec lists no device"
if command -v podman >/dev/null; then note "podman present (not exercised)"; else note "podman not installed: runtime reading not checked"; fi
