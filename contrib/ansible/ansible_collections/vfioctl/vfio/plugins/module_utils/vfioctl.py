# -*- coding: utf-8 -*-
"""Runs vfioctl for the modules of this collection.

vfioctl is driven only through ``--json`` and its exit status: every command prints one JSON
document on standard output (also when it fails), and the status says what happened (see
EXIT STATUS in vfioctl(8)). Nothing here reads vfioctl's text output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# Exit statuses of vfioctl(8) and the kind of outcome each one is.
EXIT_KINDS = {
    0: "ok",
    1: "failed",
    2: "refused",
    3: "timeout",
    4: "rollback-failed",
    64: "usage",
    69: "unavailable",
    70: "internal",
    77: "permission-denied",
}

COMMON_ARGUMENT_SPEC = dict(
    binary=dict(type="path", default="vfioctl"),
    root=dict(type="path"),
)


class VfioctlResult:
    """One run of vfioctl: its exit status, its JSON document and its standard error."""

    def __init__(self, argv, rc, document, stderr):
        self.argv = argv
        self.rc = rc
        self.document = document
        self.stderr = stderr

    @property
    def kind(self):
        return EXIT_KINDS.get(self.rc, "failed")

    @property
    def ok(self):
        return self.rc == 0

    def error(self):
        """The error object of an error document, or None."""
        if isinstance(self.document, dict) and isinstance(self.document.get("error"), dict):
            return self.document["error"]
        return None

    def message(self):
        """vfioctl's own message for a failed run.

        The error document's message when there is one. Documents that report per-device
        outcomes (unbind, restore, apply) carry a message on each device that did not get
        where it was asked to go; those are joined. Standard error is the last resort (it holds
        the same message as text, passed on as it is).
        """
        err = self.error()
        if err and err.get("message"):
            return err["message"]
        messages = []
        if isinstance(self.document, dict):
            for device in self.document.get("devices") or []:
                msg = device.get("message")
                status = device.get("result", device.get("status"))
                if msg and status not in ("released", "restored", "cycled", "changed", "unchanged", "already-released",
                                          "planned", "not-vfio"):
                    messages.append(msg)
            for entry in self.document.get("unmatched") or []:
                messages.append("%s: %s" % (entry.get("source"), entry.get("reason")))
        if messages:
            return "; ".join(messages)
        text = (self.stderr or "").strip()
        if text:
            return text
        return "vfioctl exited %d (%s)" % (self.rc, self.kind)

    def holders(self):
        """The processes vfioctl named as holding the devices when it gave up (may be empty)."""
        if isinstance(self.document, dict):
            return self.document.get("holders") or []
        return []

    def refusals(self):
        if isinstance(self.document, dict):
            return self.document.get("refusals") or []
        return []


class Vfioctl:
    """Builds vfioctl command lines from the module's common options and runs them."""

    def __init__(self, module):
        self.module = module
        binary = module.params["binary"]
        if "/" in binary:
            self.binary = binary
        else:
            self.binary = module.get_bin_path(binary, required=True, opt_dirs=["/usr/sbin", "/usr/local/sbin", "/sbin"])
        self.root = module.params.get("root")

    def argv(self, command, args):
        # Global options first: ARGS may end with "--" and the targets.
        argv = [self.binary, command, "--json"]
        if self.root:
            argv += ["--root", self.root]
        return argv + list(args)

    def run(self, command, args=()):
        argv = self.argv(command, args)
        rc, out, err = self.module.run_command(argv, check_rc=False, environ_update={"NO_COLOR": "1"})
        try:
            document = json.loads(out) if out.strip() else None
        except ValueError:
            document = None
        result = VfioctlResult(argv, rc, document, err)
        if document is None or not isinstance(document, dict):
            # Every vfioctl command prints a document with --json; without one the binary is
            # not vfioctl, or it crashed.
            self.module.fail_json(msg="%s printed no JSON document (exit %d): %s" % (
                self.binary, rc, (err or out or "").strip()[:2000]), rc=rc, cmd=argv, stdout=out, stderr=err)
        return result

    def fail(self, result, **extra):
        """Fails the task with vfioctl's own message, its document and the holders it named."""
        self.module.fail_json(
            msg=result.message(),
            rc=result.rc,
            outcome=result.kind,
            cmd=result.argv,
            holders=result.holders(),
            refusals=result.refusals(),
            vfioctl=result.document,
            **extra
        )


def plan_changes(document):
    """Whether a dry run's plan would change anything: it has a step other than a check (a
    write, a module load, a chown or chmod of a node). Covers moves and, for bind --owner, a
    device that only changes hands."""
    return any(step.get("kind") != "verify" for step in document.get("steps") or [])


def driver_lines(rows):
    """Text for Ansible's diff: one line per device, ``ADDRESS: DRIVER`` (``none`` if unbound)."""
    return "".join("%s: %s\n" % (address, driver or "none") for address, driver in rows)


def bind_moves(document):
    """(address, before, after) of each device a bind document names."""
    moves = []
    for device in document.get("devices") or []:
        before = device.get("fromDriver")
        after = device.get("toDriver") if device.get("action") == "bind" else before
        moves.append((device["address"], before, after))
    return moves


def release_moves(document):
    """(address, before, after) of each device an unbind document names.

    After a run the driver the device ended on (``driver``); for a dry run the one it would go
    to (``toDriver``, or the kernel's choice, unknown until it probes: shown as ``(kernel)``).
    """
    moves = []
    for device in document.get("devices") or []:
        before = device.get("fromDriver")
        if device.get("action") == "keep":
            after = before
        elif document.get("dryRun"):
            after = device.get("toDriver") or ("none" if device.get("source") == "requested" else "(kernel)")
        else:
            after = device.get("driver")
        moves.append((device["address"], before, after))
    return moves


def apply_moves(document):
    """(address, before, after) of each device an apply document names."""
    moves = []
    for device in document.get("devices") or []:
        before = device.get("from")
        moved = device.get("status") in ("changed", "planned")
        moves.append((device["address"], before, device.get("to") if moved else before))
    return moves


def diff_of(moves):
    return dict(before=driver_lines((m[0], m[1]) for m in moves), after=driver_lines((m[0], m[2]) for m in moves))
