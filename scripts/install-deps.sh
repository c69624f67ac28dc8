#!/bin/sh
# Installs the Debian packages vfioctl needs to build and to run its test suites.
set -eu
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
pkgs="libpci-dev pciutils pkg-config qemu-system-x86 busybox-static e2fsprogs kmod cpio gcc libc6-dev xz-utils procps python3 python3-jsonschema python3-yaml psmisc lsof mandoc time zsh fish"
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
