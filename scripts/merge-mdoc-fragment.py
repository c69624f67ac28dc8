#!/usr/bin/env python3
"""Merges a man-page fragment (docs/NAME.mdoc, parts marked `.\\" ---- SECTION (...) ----`)
into man/vfioctl.8. Development helper: run once per fragment, then delete the fragment."""
import re
import sys

man_path, fragment_path = sys.argv[1], sys.argv[2]
man = open(man_path).read()
parts = {}
current = None
for line in open(fragment_path).read().split("\n"):
    m = re.match(r'^\.\\" ---- ([A-Z ]+?) \(', line)
    if m:
        current = m.group(1)
        parts[current] = []
        continue
    if current and line != '.\\"':
        parts[current].append(line)
text = {k: "\n".join(v).strip("\n") + "\n" for k, v in parts.items()}


def insert_before(marker, addition):
    global man
    i = man.index(marker)
    man = man[:i] + addition + man[i:]


if "SYNOPSIS" in text:
    insert_before(".Sh DESCRIPTION", text["SYNOPSIS"])
if "COMMANDS" in text:
    # Append as the last item of the COMMANDS list.
    start = man.index(".Sh COMMANDS")
    end = man.index(".Sh GLOBAL OPTIONS")
    last_el = man.rindex(".El\n", start, end)
    man = man[:last_el] + text["COMMANDS"] + man[last_el:]
if "FILES" in text:
    start = man.index(".Sh FILES")
    end = man.index(".Sh ", start + 4)
    last_el = man.rindex(".El\n", start, end)
    man = man[:last_el] + text["FILES"] + man[last_el:]
if "EXIT STATUS" in text:
    start = man.index(".Sh EXIT STATUS")
    end = man.index(".El\n", start)
    section = man[start:end]
    for item in re.split(r"(?=^\.It )", text["EXIT STATUS"], flags=re.M):
        if not item.startswith(".It "):
            continue
        code = item.split("\n")[0]
        section = re.sub(r"^" + re.escape(code) + r"\n(?:(?!\.It ).*\n)*", item.replace("\\", "\\\\"), section, flags=re.M)
    man = man[:start] + section + man[end:]
if "EXAMPLES" in text:
    insert_before(".Sh SEE ALSO", ".Pp\n" + text["EXAMPLES"])
open(man_path, "w").write(man)
