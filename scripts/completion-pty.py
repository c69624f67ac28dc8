#!/usr/bin/env python3
"""Types into an interactive shell on a pseudo-terminal and waits for a file to appear.

usage: completion-pty.py SHELL RCFILE DONEFILE KEYS

Starts SHELL (bash, zsh or fish) interactively with RCFILE as its start-up file, sends KEYS (with
\\t for TAB), then waits until DONEFILE exists (the start-up file arranges for a key to write
it). Exits 1 after 20 s without it, printing what the shell showed.
"""
import os
import re
import pty
import select
import sys
import time

shell, rcfile, donefile, keys = sys.argv[1:5]
argv = {
    "bash": ["bash", "--noprofile", "--rcfile", rcfile, "-i"],
    # zsh reads $ZDOTDIR/.zshrc; -d skips the global start-up files.
    "zsh": ["zsh", "-d", "-i"],
    "fish": ["fish", "--no-config", "-i", "-C", "source " + rcfile],
}[shell]
env = dict(os.environ, TERM="dumb", COLUMNS="200", LINES="50", ZDOTDIR=os.path.dirname(rcfile))
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(argv[0], argv, env)
seen = b""


def pump(seconds):
    global seen
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                return


# Type only once the shell is quiet at its prompt: keys sent before the line editor starts can
# be lost in the terminal's mode switch.
start = time.time()
while time.time() - start < 10:
    before = len(seen)
    pump(0.5)
    if seen and len(seen) == before:
        break
# Each TAB gets time to complete; the text between is written at once, so an escape sequence
# arrives within the shell's key timeout.
first = True
for part in re.split("(\t)", keys.encode().decode("unicode_escape")):
    if part:
        os.write(fd, part.encode())
        # The first completion also loads the shell's completion code: give it longer.
        pump((2.0 if first else 0.4) if part == "\t" else 0.05)
        first = first and part != "\t"
deadline = time.time() + 20
while not os.path.exists(donefile) and time.time() < deadline:
    pump(0.1)
os.write(fd, b"\x03")
pump(0.3)
try:
    os.kill(pid, 9)
except ProcessLookupError:
    pass
os.waitpid(pid, 0)
if not os.path.exists(donefile):
    sys.stderr.write("no answer from %s; it showed:\n%s\n" % (shell, seen.decode(errors="replace")))
    sys.exit(1)
