#!/bin/sh
# Runs the generated completion scripts in real bash, zsh and fish against a small sysfs tree and
# checks what TAB offers for TARGET. bash and zsh run interactively on a pseudo-terminal
# (scripts/completion-pty.py), so their own word splitting and matching take part.
# usage: scripts/test-completion.sh [VFIOCTL_BINARY]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "$(dirname "${1:-.build/debug/vfioctl}")" && pwd)/$(basename "${1:-.build/debug/vfioctl}")
[ -x "$bin" ] || { echo "test-completion: no vfioctl at $bin (run make build)" >&2; exit 1; }
for shell in bash zsh fish python3; do
    command -v "$shell" >/dev/null || { echo "test-completion: $shell is not installed (make deps)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/vfioctl-completion-XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/bin"
ln -s "$bin" "$work/bin/vfioctl"
PATH="$work/bin:$PATH"
export PATH
unset VFIOCTL_ROOT

# The tree: what the completion reads (device links with vendor/device, group directories).
root="$work/root"
device() { # address vendor device group
    dir="$root/sys/devices/pci${1%:*:*}/$1"
    mkdir -p "$dir" "$root/sys/bus/pci/devices" "$root/sys/kernel/iommu_groups/$4/devices"
    echo "0x$2" >"$dir/vendor"
    echo "0x$3" >"$dir/device"
    ln -s "../../../devices/pci${1%:*:*}/$1" "$root/sys/bus/pci/devices/$1"
    ln -s "../../../../devices/pci${1%:*:*}/$1" "$root/sys/kernel/iommu_groups/$4/devices/$1"
}
device 0000:00:1f.2 8086 a102 1
device 0000:01:00.0 10de 2204 12
device 0000:01:00.1 10de 1aef 12
device 0001:02:00.0 15b3 1017 13
other="$work/other"
mkdir -p "$other/sys/bus/pci/devices" "$other/sys/kernel/iommu_groups/7"

# Each case: the command line before TAB, then the candidates the shell ends up offering
# (space-separated, sorted; empty for none). ROOT and OTHER stand for the trees.
cases="$work/cases"
cat >"$cases" <<CASES
vfioctl show --root $root 0000:01:|0000:01:00.0 0000:01:00.1
vfioctl bind --root $root 01:|01:00.0 01:00.1
vfioctl unbind --root=$root gr|group:1 group:12 group:13
vfioctl holders --root $root group:1|group:1 group:12 group:13
vfioctl wait --root $root 10de:|10de:1aef 10de:2204
vfioctl cycle --root $root 0001|0001:02:00.0
vfioctl show --root $other gr|group:7
vfioctl show --root $work/missing 0|
vfioctl bind --root $root 01:00.0 0000:00:1f|0000:00:1f.2
CASES
# The same through VFIOCTL_ROOT (set by the harness for these).
cat >"$work/env-cases" <<CASES
vfioctl show 15b3:|15b3:1017
vfioctl show --root $other g|group:7
CASES

failures=0
check() { # shell line expected actual
    if [ "$3" = "$4" ]; then
        echo "ok   $1: $2 -> ${4:-(nothing)}"
    else
        echo "FAIL $1: $2 -> got '${4}', expected '${3}'" >&2
        failures=$((failures + 1))
    fi
}
common() { # line candidates: the line after TAB in a shell that inserts what they share
    line=$1
    set -- $2
    [ $# -eq 0 ] && { printf '%s' "$line"; return; }
    [ $# -eq 1 ] && { printf '%s ' "${line% *} $1"; return; }
    p=$1
    for c in "$@"; do while [ "${c#"$p"}" = "$c" ]; do p=${p%?}; done; done
    word=${line##* }
    [ ${#p} -gt ${#word} ] && line="${line% *} $p"
    printf '%s' "$line"
}
sorted() { tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'; }

# Keys for an interactive shell: each case typed, TAB (not for fish), F99 (ESC [99~, bound to
# record the offer), Ctrl-U.
keys() { # casefile [tab]
    k=""
    while IFS='|' read -r line _; do k="$k$line${2:-\\t}\\x1b[99~\\x15"; done <"$1"
    printf '%s' "$k"
}

# Runs one shell over a case file, then hands each case and what was recorded to CHECKER.
drive() { # shell rcfile set out checker
    python3 "$here/completion-pty.py" "$1" "$2" "$4.done" "$(keys "$work/$3")" || failures=$((failures + 1))
    while IFS='|' read -r line expected <&3 && IFS='|' read -r typed reply <&4; do
        "$5" "$line" "$expected" "$typed" "$reply"
    done 3<"$work/$3" 4<"$4"
}

check_bash() { # line expected typed reply
    line=$1 expected=$2 reply=$4
    word=${line##* }
    head=""
    case "$word" in *:*) head=${word%:*}: ;; esac
    offered=""
    for r in $reply; do offered="$offered $head$r"; done
    # Known limitation of the generated bash script: bash splits a word at ':', and the
    # script counts the pieces as positionals, so for show (one TARGET) a word with ':' is
    # "too many arguments" and the completion is never asked. Checked so a fix is noticed.
    case "$line" in vfioctl\ show\ *:*) expected="" ;; esac
    check bash "$line" "$expected" "$(echo "$offered" | sorted)"
}

# bash: wrap the generated function to record COMPREPLY; after colon-splitting, bash replaces
# only the text after the last ':', so the offer is the line's last word with each reply.
vfioctl --generate-completion-script bash >"$work/vfioctl.bash"
for set in cases env-cases; do
    out="$work/bash-$set"
    : >"$out"
    cat >"$work/bashrc" <<RC
PS1='\$ '
bind 'set bell-style none' 2>/dev/null
$( [ "$set" = env-cases ] && echo "export VFIOCTL_ROOT='$root'" )
source '$work/vfioctl.bash'
__record() { _vfioctl "\$@"; printf '%s ' "\${COMPREPLY[@]}" >'$work/reply'; }
eval "\$(complete -p vfioctl | sed 's/-F _vfioctl /-F __record /')"
__dump() {
    reply=""; [ -f '$work/reply' ] && reply=\$(cat '$work/reply'); rm -f '$work/reply'
    printf '%s|%s\n' "\$READLINE_LINE" "\$reply" >>'$out'
    [ "\$(wc -l <'$out')" -ge "\$(wc -l <'$work/$set')" ] && : >'$out.done'
}
bind -x '"\e[99~": __dump'
RC
    drive bash "$work/bashrc" "$set" "$out" check_bash
done

check_zsh() { check zsh "$1" "$2" "$(echo "$4" | sorted)"; }

# zsh: compinit, the generated function, and compadd wrapped to record the matches zsh keeps.
vfioctl --generate-completion-script zsh >"$work/_vfioctl"
for set in cases env-cases; do
    out="$work/zsh-$set"
    : >"$out"
    mkdir -p "$work/zdot-$set"
    cat >"$work/zdot-$set/.zshrc" <<RC
PS1='$ '
unsetopt beep
$( [ "$set" = env-cases ] && echo "export VFIOCTL_ROOT='$root'" )
fpath=('$work' \$fpath)
autoload -Uz compinit && compinit -u -D
compadd() {
    if (( \${@[(I)-[OAD]*]} )); then builtin compadd "\$@"; return; fi
    local -a __kept
    builtin compadd -O __kept "\$@"
    print -rn -- "\${__kept[*]} " >>'$work/reply'
    builtin compadd "\$@"
}
__dump() {
    local reply=""; [[ -f '$work/reply' ]] && reply=\$(<'$work/reply'); rm -f '$work/reply'
    print -r -- "\$BUFFER|\$reply" >>'$out'
    (( \$(wc -l <'$out') >= \$(wc -l <'$work/$set') )) && : >'$out.done'
}
zle -N __dump
bindkey -e
bindkey '^[[99~' __dump
RC
    drive zsh "$work/zdot-$set/.zshrc" "$set" "$out" check_zsh
done

# fish's TAB inserts the one candidate (and a space) or the candidates' common prefix.
check_fish() { check fish "$1" "$(common "$1" "$2")" "$3"; }

# fish: a real TAB, then the line it left (complete -C cannot see the cursor in fish 3, which the
# generated script needs, so the offer is judged by what TAB inserts).
vfioctl --generate-completion-script fish >"$work/vfioctl.fish"
for set in cases env-cases; do
    out="$work/fish-$set"
    : >"$out"
    cat >"$work/$set.fish" <<RC
$( [ "$set" = env-cases ] && echo "set -gx VFIOCTL_ROOT '$root'" )
source '$work/vfioctl.fish'
function __dump
    echo (commandline -b)"|" >>'$out'
    test (count < '$out') -ge (count < '$work/$set'); and touch '$out.done'
end
bind \e\[99~ __dump
RC
    drive fish "$work/$set.fish" "$set" "$out" check_fish
done

# A missing tree offers nothing and says nothing.
err=$(vfioctl ---completion show -- positional@0 3 1 vfioctl show --root "$work/missing" 0 2>&1 >/dev/null)
check direct "missing tree is silent" "" "$err"

if [ "$failures" -ne 0 ]; then
    echo "test-completion: $failures failure(s)" >&2
    exit 1
fi
echo "test-completion: all shells offer the expected targets"
