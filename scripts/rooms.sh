#!/bin/bash
# What the targets' dependencies cannot forbid: the C library is importable from every target,
# so the pure rooms are checked here (make lint). VFIOModel and VfioctlOutput hold values and
# render them; neither may reach the C library, and VFIOModel may not touch a file through
# swift-system either.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# Foundation only as the fallback of FoundationEssentials (right after `#else`).
foundation=$(awk 'FNR == 1 { prev = "" } /^[[:space:]]*import Foundation[[:space:]]*$/ && prev !~ /^#else/ { print FILENAME ":" FNR ": " $0 } { prev = $0 }' \
    $(find Sources/VFIOModel -name '*.swift'))
if grep -rnE '^\s*import (Glibc|Musl|Darwin|CLinuxShim|CLibPCI)\b' Sources/VFIOModel || [ -n "$foundation" ]; then
    [ -z "$foundation" ] || echo "$foundation"
    echo "rooms: VFIOModel imports the C library or Foundation (values and pure rules only)" >&2
    status=1
fi
if grep -rnE '\bFileDescriptor\b|\bopen\(|\bSysfs\.' Sources/VFIOModel; then
    echo "rooms: VFIOModel opens files (reading is VFIOHost's room)" >&2
    status=1
fi
if grep -rnE '^\s*import (CLinuxShim|CLibPCI)\b' Sources/VfioctlOutput Sources/VfioctlCommands; then
    echo "rooms: the output or a command reaches the host directly" >&2
    status=1
fi
exit "$status"
