#!/bin/sh
# Builds the Debian package (scripts/build-deb.sh, with the release build) and checks it: the
# exact file list with owners and modes, the control fields (version as `vfioctl --version`
# says, Depends as dpkg-shlibdeps computed it, with libpci), the md5sums, that the binary is
# stripped and runs from the unpacked package, the unit's ExecStart, the man page, and lintian
# (no errors; warnings are printed).
set -eu
cd "$(dirname "$0")/.."
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/vfioctl-deb-test-XXXXXX)
trap 'rm -rf "$work"' EXIT

start=$(date +%s)
deb=$(./scripts/build-deb.sh "$work/out")
built=$(date +%s)
[ -f "$deb" ] || fail "build-deb.sh made no package"
version=$(.build/release/vfioctl --version)
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "vfioctl_${version}_$arch.deb" ] || fail "package name $(basename "$deb")"

# --- file list: exactly these, root-owned, with these modes ----------------------------------
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' | LC_ALL=C sort -k3 >"$work/list"
LC_ALL=C sort -k3 >"$work/expected" <<LIST
drwxr-xr-x root/root ./
drwxr-xr-x root/root ./etc/
drwxr-xr-x root/root ./etc/libvirt/
drwxr-xr-x root/root ./etc/libvirt/hooks/
drwxr-xr-x root/root ./etc/libvirt/hooks/qemu.d/
-rwxr-xr-x root/root ./etc/libvirt/hooks/qemu.d/vfioctl
drwxr-xr-x root/root ./lib/
drwxr-xr-x root/root ./lib/systemd/
drwxr-xr-x root/root ./lib/systemd/system/
-rw-r--r-- root/root ./lib/systemd/system/vfioctl-apply.service
-rw-r--r-- root/root ./lib/systemd/system/vfioctl-watch.service
drwxr-xr-x root/root ./usr/
drwxr-xr-x root/root ./usr/sbin/
-rwxr-xr-x root/root ./usr/sbin/vfioctl
drwxr-xr-x root/root ./usr/share/
drwxr-xr-x root/root ./usr/share/bash-completion/
drwxr-xr-x root/root ./usr/share/bash-completion/completions/
-rw-r--r-- root/root ./usr/share/bash-completion/completions/vfioctl
drwxr-xr-x root/root ./usr/share/doc/
drwxr-xr-x root/root ./usr/share/doc/vfioctl/
-rw-r--r-- root/root ./usr/share/doc/vfioctl/changelog.gz
-rw-r--r-- root/root ./usr/share/doc/vfioctl/copyright
drwxr-xr-x root/root ./usr/share/doc/vfioctl/examples/
-rwxr-xr-x root/root ./usr/share/doc/vfioctl/examples/proxmox-hookscript.sh
-rw-r--r-- root/root ./usr/share/doc/vfioctl/examples/vfioctl.conf.example
drwxr-xr-x root/root ./usr/share/fish/
drwxr-xr-x root/root ./usr/share/fish/vendor_completions.d/
-rw-r--r-- root/root ./usr/share/fish/vendor_completions.d/vfioctl.fish
drwxr-xr-x root/root ./usr/share/man/
drwxr-xr-x root/root ./usr/share/man/man8/
-rw-r--r-- root/root ./usr/share/man/man8/vfioctl.8.gz
drwxr-xr-x root/root ./usr/share/zsh/
drwxr-xr-x root/root ./usr/share/zsh/vendor-completions/
-rw-r--r-- root/root ./usr/share/zsh/vendor-completions/_vfioctl
LIST
diff -u "$work/expected" "$work/list" >&2 || fail "file list differs (- expected, + package)"

# --- control fields ---------------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = vfioctl ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), vfioctl --version says $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = admin ] && [ "$(field Priority)" = optional ] || fail "Section/Priority"
case $(field Maintainer) in *' <'*@*'>') ;; *) fail "Maintainer: $(field Maintainer)" ;; esac
case $(field Installed-Size) in '' | *[!0-9]*) fail "Installed-Size: $(field Installed-Size)" ;; esac
depends=$(field Depends)
for lib in libc6 libpci3 libstdc++6; do
    printf '%s\n' "$depends" | tr ',' '\n' | grep -q "^ *$lib (>= " || fail "Depends lacks a versioned $lib: $depends"
done
# Nothing of the Swift toolchain: the release binary carries the Swift runtime.
case $depends in *swift* | *Swift*) fail "Depends names Swift: $depends" ;; esac
[ -n "$(field Description)" ] || fail "no Description"
[ "$(dpkg-deb -f "$deb" Description | head -n 1)" = "manage VFIO and IOMMU groups and PCI passthrough bindings" ] ||
    fail "Description synopsis: $(dpkg-deb -f "$deb" Description | head -n 1)"

# --- contents -----------------------------------------------------------------------------------
root=$work/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$work/DEBIAN"
[ "$(ls "$work/DEBIAN" | tr '\n' ' ')" = "conffiles control md5sums " ] || fail "control members: $(ls "$work/DEBIAN")"
(cd "$root" && md5sum --quiet -c "$work/DEBIAN/md5sums") || fail "md5sums do not match the files"
[ "$(wc -l <"$work/DEBIAN/md5sums")" -eq "$(grep -c '^-' "$work/list")" ] || fail "md5sums does not list every file"
"$root/usr/sbin/vfioctl" --version | grep -qx "$version" || fail "the packaged binary does not run"
readelf -S "$root/usr/sbin/vfioctl" | grep -q '\.symtab' && fail "binary not stripped"
readelf -S "$root/usr/sbin/vfioctl" | grep -q '\.debug_' && fail "binary has debug sections"
readelf -d "$root/usr/sbin/vfioctl" | grep -q 'RUNPATH\|RPATH' && fail "binary has a run path"
grep -qx 'ExecStart=/usr/sbin/vfioctl apply' "$root/lib/systemd/system/vfioctl-apply.service" || fail "unit ExecStart"
grep -q '^ExecStart=/usr/sbin/vfioctl apply --watch' "$root/lib/systemd/system/vfioctl-watch.service" || fail "watch unit ExecStart"
grep -qx 'exec /usr/sbin/vfioctl hook libvirt "$@"' "$root/etc/libvirt/hooks/qemu.d/vfioctl" || fail "libvirt hook"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/libvirt/hooks/qemu.d/vfioctl || fail "the libvirt hook is not a conffile"
gzip -t "$root/usr/share/man/man8/vfioctl.8.gz" "$root/usr/share/doc/vfioctl/changelog.gz" || fail "gzip"
zcat "$root/usr/share/man/man8/vfioctl.8.gz" | mandoc -Tlint -Wwarning || fail "man page lint"
zcat "$root/usr/share/doc/vfioctl/changelog.gz" | head -n 1 | grep -q "^vfioctl ($version) " || fail "changelog does not start with this version"
head -n 1 "$root/usr/share/bash-completion/completions/vfioctl" | grep -q '^#!' && fail "bash completion starts with #!"
bash -n "$root/usr/share/bash-completion/completions/vfioctl" || fail "bash completion does not parse"
cmp -s "$root/usr/share/doc/vfioctl/examples/vfioctl.conf.example" dist/vfioctl.conf.example || fail "example config differs from dist/"

# --- lintian -------------------------------------------------------------------------------------
rc=0
lintian --tag-display-limit 0 --fail-on error "$deb" >"$work/lintian" 2>&1 || rc=$?
grep -v 'running with root privileges' "$work/lintian" | sed 's/^/  lintian: /'
# lintian exits non-zero for an error tag (2 in this version) and for a failure to run.
grep -q '^E: ' "$work/lintian" && fail "lintian reports errors"
[ "$rc" -eq 0 ] || fail "lintian did not run (exit $rc)"
echo "deb-test: ok ($(basename "$deb"), $(grep -c '^-' "$work/list") files, Depends: $depends; built in $((built - start)) s)"
