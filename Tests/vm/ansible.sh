# Helpers for the scenarios that drive vfioctl through the Ansible collection
# (contrib/ansible): source after lib.sh. ansible-core is the host's (scripts/install-deps.sh
# installs it for the host's python3, $VM_PYTHON); the playbook runs against the guest itself
# with the local connection, as `ansible-playbook -c local -i localhost,` does on a host.

ANSIBLE_BIN=$(dirname "$VM_PYTHON")
[ -x "$ANSIBLE_BIN/ansible-playbook" ] || ANSIBLE_BIN=$(dirname "$(command -v ansible-playbook 2>/dev/null || echo /nonexistent/x)")
[ -x "$ANSIBLE_BIN/ansible-playbook" ] || fail "no ansible-playbook beside $VM_PYTHON or on PATH (make deps installs ansible-core)"

# Ansible writes its temporary files, caches and facts under these; the guest's /tmp is a tmpfs.
export HOME=$VM_TMP/home ANSIBLE_LOCAL_TEMP=$VM_TMP/ansible-local ANSIBLE_REMOTE_TMP=$VM_TMP/ansible-remote
export ANSIBLE_COLLECTIONS_PATH=$VM_REPO/contrib/ansible ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
export ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_DEPRECATION_WARNINGS=0
# Under TCG a module task costs about 9 s, most of it Python compiling the module's bundled
# module_utils: pipelining saves the temporary-file round trips, and the distribution's python3
# (the managed host's interpreter; modules need nothing beyond its standard library) starts
# faster than the controller's.
export ANSIBLE_PIPELINING=1
TARGET_PYTHON=/usr/bin/python3
[ -x "$TARGET_PYTHON" ] || TARGET_PYTHON=$VM_PYTHON
mkdir -p "$HOME" "$ANSIBLE_LOCAL_TEMP" && mkdir -p -m 0700 "$ANSIBLE_REMOTE_TMP"

# playbook FILE [ARGS...]: runs ansible-playbook on this guest; output in LAST_OUT (as run does),
# the time it took in PLAYBOOK_SECONDS.
playbook() {
    local file=$1 t0
    shift
    _vm_now
    t0=$REPLY
    run "$ANSIBLE_BIN/ansible-playbook" -c local -i localhost, -e "ansible_python_interpreter=$TARGET_PYTHON" \
        -e "vfioctl=$VFIOCTL" "$file" "$@"
    _vm_now
    PLAYBOOK_SECONDS=$(awk "BEGIN { print $REPLY - $t0 }")
    note "ansible-playbook $(basename "$file") took $PLAYBOOK_SECONDS s, exit $LAST_RC"
    printf '%s\n' "$LAST_OUT" >"$VM_OUT/$(basename "$file" .yml).out" 2>/dev/null
}

# recap: the PLAY RECAP line's counters for localhost, e.g. "ok=5 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
recap() {
    printf '%s\n' "$LAST_OUT" | sed -n 's/^localhost *: *//p' | tr -s ' ' | sed 's/ *$//'
}
