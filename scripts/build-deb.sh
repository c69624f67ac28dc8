#!/bin/sh
# Builds the Debian package out/vfioctl_VERSION_ARCH.deb from the release binary.
#
#   scripts/build-deb.sh [OUTDIR]      (make deb; default OUTDIR out)
#
# The files are those `make install PREFIX=/usr` installs, in Debian's places: the stripped
# binary, the man page (gzipped), bash, zsh and fish completions, the boot unit, the example
# desired-state file, copyright and changelog. Depends comes from dpkg-shlibdeps, run as
# packaging does, in a source tree with debian/control and the package staged in debian/vfioctl.
# DEB_MAINTAINER overrides the Maintainer field; SOURCE_DATE_EPOCH (default: the last commit's
# time) dates the changelog and the files, so two builds of one commit are the same.
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
out=${1:-out}
case $out in /*) ;; *) out=$repo/$out ;; esac
maintainer=${DEB_MAINTAINER:-vfioctl maintainers <maintainers@vfioctl.invalid>}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
umask 022

make -s release >/dev/null
bin=$repo/.build/release/vfioctl
version=$("$bin" --version)
case $version in [0-9]*) ;; *) echo "build-deb: unexpected version '$version' from $bin" >&2; exit 1 ;; esac
arch=$(dpkg --print-architecture)

work=$(mktemp -d /tmp/vfioctl-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/vfioctl-$version
pkg=$src/debian/vfioctl
mkdir -p "$src/debian"

# The files, by the Makefile's own install rule (with the release build it just made).
make -s install DESTDIR="$pkg" PREFIX=/usr INSTALL_CONFIG=release \
    ZSHCOMPDIR=/usr/share/zsh/vendor-completions UNITDIR=/lib/systemd/system \
    DOCDIR=/usr/share/doc/vfioctl/examples >/dev/null
# As dh_strip does for a release package: no symbols, no build notes or comments.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$pkg/usr/sbin/vfioctl"
gzip -9n "$pkg/usr/share/man/man8/vfioctl.8"
# bash-completion sources the script; the generator's #! line would say it is run.
sed -i '1{/^#!/d}' "$pkg/usr/share/bash-completion/completions/vfioctl"

doc=$pkg/usr/share/doc/vfioctl
cat >"$doc/copyright" <<COPY
vfioctl: manage VFIO and IOMMU groups (list, inspect, bind and release PCI devices safely).

Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) the vfioctl contributors.

This package is built from the vfioctl source tree, version $version, which contains its
whole source. The project has not yet stated a license for it.
COPY
# A native package: its changelog is changelog.gz, in Debian's format.
{
    printf 'vfioctl (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * vfioctl %s.\n\n' "$version"
    printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"

# Depends: what the binary links against, as dpkg-shlibdeps works it out from the shlibs and
# symbols files of the installed libraries.
cat >"$src/debian/control" <<CTRL
Source: vfioctl
Section: admin
Priority: optional
Maintainer: $maintainer

Package: vfioctl
Architecture: $arch
Depends: \${shlibs:Depends}
CTRL
depends=$(cd "$src" && dpkg-shlibdeps -O -edebian/vfioctl/usr/sbin/vfioctl 2>"$work/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p') || {
    cat "$work/shlibdeps.err" >&2
    exit 1
}
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; cat "$work/shlibdeps.err" >&2; exit 1; }

find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$pkg/DEBIAN"
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' | LC_ALL=C sort | sed 's|^\./||' | xargs md5sum) >"$pkg/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<CTRL
Package: vfioctl
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Description: manage VFIO and IOMMU groups and PCI passthrough bindings
 vfioctl lists PCI devices with their IOMMU groups and tells whether each
 group can be handed to a virtual machine or userspace driver through VFIO,
 and what blocks it. It binds devices to vfio-pci and gives them back to
 their host drivers safely: it checks group viability and whether the host
 uses a device, waits for the processes that hold it, and rolls back a
 change that fails.
 .
 A desired-state file (/etc/vfioctl.conf) and the vfioctl-apply service make
 a host's bindings true at boot; vfioctl-watch keeps them true as a node
 agent. A libvirt qemu hook and a Proxmox hookscript give devices back only
 once QEMU has closed them.
CTRL
# Files under /etc (the libvirt hook) are the admin's once installed: conffiles, so an upgrade
# asks before replacing one that was edited.
(cd "$pkg" && find etc -type f 2>/dev/null | LC_ALL=C sort | sed 's|^|/|') >"$pkg/DEBIAN/conffiles"
[ -s "$pkg/DEBIAN/conffiles" ] || rm -f "$pkg/DEBIAN/conffiles"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"
[ ! -e "$pkg/DEBIAN/conffiles" ] || chmod 0644 "$pkg/DEBIAN/conffiles"

mkdir -p "$out"
deb=$out/vfioctl_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
