#!/bin/sh
# Installs the Debian packages vfioctl needs to build and to run its test suites.
set -eu
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
# install_missing PKG...: apt-get installs those of PKG... that are not installed (the package
# lists updated once per run, before the first install).
updated=
install_missing() {
    missing=
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    [ -n "$updated" ] || $SUDO apt-get update -q
    updated=1
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
}

install_missing libpci-dev pciutils pkg-config qemu-system-x86 busybox-static e2fsprogs kmod cpio gcc libc6-dev xz-utils procps \
    python3 python3-jsonschema psmisc lsof mandoc time zsh fish lintian dpkg-dev python3-yaml nvme-cli

# The claim-at-add guest scenarios (21, 22) start the real systemd-udevd in the guest, which
# runs the host's binary through the shared root; on a host without systemd as PID 1 the
# package's scripts start nothing and trigger nothing here.
install_missing udev

# `make bench` counts the listing's system calls with strace (the tests do not need it).
install_missing strace

# The Ansible collection's tests and guest scenarios: ansible-core (pinned: the collection is
# tested with this release, whose ansible-test supports Python 3.11) and pytest, for python3.
ANSIBLE_CORE_VERSION=2.19.14
if ! python3 -c "import ansible, pytest, sys; sys.exit(ansible.__version__ != '$ANSIBLE_CORE_VERSION')" 2>/dev/null; then
    python3 -m pip install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION" pytest
fi

# The guest kernels the VM suite builds (Tests/vm/kernel/build.sh): the 6.12 source package and
# what building a bzImage from it takes.
install_missing linux-source-6.12 make bc bison flex libelf-dev libssl-dev
