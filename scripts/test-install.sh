#!/bin/sh
# Installs into a staging DESTDIR, checks every installed file, uninstalls, and checks that
# nothing is left. Uses the debug build so the test suite does not need a release build.
set -eu
cd "$(dirname "$0")/.."
stage=$(mktemp -d /tmp/vfioctl-install-XXXXXX)
trap 'rm -rf "$stage"' EXIT
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }

make -s install DESTDIR="$stage" PREFIX=/usr INSTALL_CONFIG="${CONFIG:-debug}" >/dev/null
for f in usr/sbin/vfioctl usr/share/man/man8/vfioctl.8 usr/share/doc/vfioctl/vfioctl.conf.example \
    usr/share/bash-completion/completions/vfioctl usr/share/zsh/site-functions/_vfioctl \
    usr/share/fish/vendor_completions.d/vfioctl.fish usr/lib/systemd/system/vfioctl-apply.service \
    etc/libvirt/hooks/qemu.d/vfioctl usr/share/doc/vfioctl/proxmox-hookscript.sh \
    usr/lib/systemd/system/vfioctl-watch.service; do
    [ -s "$stage/$f" ] || fail "$f missing or empty"
done
[ -x "$stage/usr/sbin/vfioctl" ] || fail "binary not executable"
"$stage/usr/sbin/vfioctl" --version >/dev/null || fail "installed binary does not run"
grep -q 'ExecStart=/usr/sbin/vfioctl apply' "$stage/usr/lib/systemd/system/vfioctl-apply.service" || fail "unit ExecStart not substituted"
grep -q '@SBINDIR@' "$stage/usr/lib/systemd/system/vfioctl-apply.service" && fail "unit still has a placeholder"
# The hooks: executable sh wrappers that hand libvirt's / Proxmox's arguments to the binary.
hook=$stage/etc/libvirt/hooks/qemu.d/vfioctl
[ -x "$hook" ] && [ -x "$stage/usr/share/doc/vfioctl/proxmox-hookscript.sh" ] || fail "hook wrappers not executable"
grep -qx 'exec /usr/sbin/vfioctl hook libvirt "$@"' "$hook" || fail "libvirt hook does not exec /usr/sbin/vfioctl hook libvirt"
grep -qx 'exec /usr/sbin/vfioctl hook proxmox "$@"' "$stage/usr/share/doc/vfioctl/proxmox-hookscript.sh" || fail "proxmox hookscript does not exec vfioctl"
sh -n "$hook" || fail "libvirt hook does not parse"
# Run as libvirt would, for an operation vfioctl ignores: the wrapper passes the arguments on.
sed "s|/usr/sbin/vfioctl|$stage/usr/sbin/vfioctl|" "$hook" >"$stage/hook-run"
out=$(echo '<domain/>' | sh "$stage/hook-run" win11 started begin - 2>&1) || fail "hook for 'started begin' failed: $out"
[ -z "$out" ] || fail "hook for 'started begin' printed: $out"
out=$(sh "$stage/hook-run" win11 prepare 2>&1) && fail "hook without a sub-operation succeeded"
rm -f "$stage/hook-run"
grep -q 'ExecStart=/usr/sbin/vfioctl apply --watch' "$stage/usr/lib/systemd/system/vfioctl-watch.service" || fail "watch unit ExecStart not substituted"
for sub in list show doctor; do
    grep -q "$sub" "$stage/usr/share/bash-completion/completions/vfioctl" || fail "bash completion lacks $sub"
    grep -q "$sub" "$stage/usr/share/fish/vendor_completions.d/vfioctl.fish" || fail "fish completion lacks $sub"
done
if command -v bash >/dev/null; then bash -n "$stage/usr/share/bash-completion/completions/vfioctl" || fail "bash completion does not parse"; fi
if command -v mandoc >/dev/null; then mandoc -Tlint -Wwarning "$stage/usr/share/man/man8/vfioctl.8" || fail "man page lint"; fi
python3 - "$stage/usr/share/doc/vfioctl/vfioctl.conf.example" <<'PY' || fail "example config is not INI-shaped"
import sys, re
for n, line in enumerate(open(sys.argv[1]), 1):
    s = line.split('#')[0].strip()
    if s and not (re.match(r'^\[(defaults|hooks|device \S+|ids \S+|group \d+)\]$', s) or re.match(r'^[a-z]+\s*=\s*\S+', s)):
        sys.exit(f"line {n}: {line!r}")
PY

make -s uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null
left=$(find "$stage" -type f | wc -l)
[ "$left" -eq 0 ] || fail "uninstall left $left files: $(find "$stage" -type f)"
echo "install-test: ok (installed and removed 10 files under a staging DESTDIR)"
