# A multi-function slot (e1000 + HDA audio) is one group: the NIC alone is refused because
# of the audio function; group:N moves both, each recorded with its own original driver.
. "$VM_LIB"

nic=$VM_MF_NIC audio=$VM_MF_AUDIO
state=/run/vfioctl/state.json
g=$(pci_group "$nic")
expect_eq "$(pci_group "$audio")" "$g" "group of the audio function"

expect_exit 2 "$VFIOCTL" bind "$nic"
expect_contains "$LAST_ERR" "$audio stays on host driver snd_hda_intel"
expect_eq "$(pci_driver "$nic") $(pci_driver "$audio")" "e1000 snd_hda_intel" "drivers after the refusal"

expect_exit 0 "$VFIOCTL" bind "group:$g" --json
expect_eq "$(json_get 'j["changed"]' <<<"$LAST_OUT")" true "changed"
expect_eq "$(json_get '[(d["address"], d["action"], d["fromDriver"]) for d in j["devices"]]' <<<"$LAST_OUT")" \
    "[[\"$nic\",\"bind\",\"e1000\"],[\"$audio\",\"bind\",\"snd_hda_intel\"]]" "devices in the JSON result"
expect_eq "$(json_get '[x["viable"] for x in j["groups"]]' <<<"$LAST_OUT")" true "group viable"
expect_eq "$(pci_driver "$nic") $(pci_driver "$audio")" "vfio-pci vfio-pci" "drivers after bind"
expect_eq "$(json_get '[(d["address"], d["group"], d["originalDriver"], d["boundDriver"], d["status"]) for d in j["devices"]]' "$state")" \
    "[[\"$nic\",$g,\"e1000\",\"vfio-pci\",\"bound\"],[\"$audio\",$g,\"snd_hda_intel\",\"vfio-pci\",\"bound\"]]" "state file"

holder_start "$audio"
holder_stop

sysfs_release "$audio" snd_hda_intel
sysfs_release "$nic" e1000
