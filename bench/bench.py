#!/usr/bin/env python3
"""vfioctl benchmarks (`make bench`): vfioctl against the tools people use today, on this machine,
in one run, interleaved so that background load hits every tool alike.

    bench/bench.py --bin .build/release/vfioctl [--quick] [--parts listing,holders,wait,guest,hostuse]

1. listing   generated sysfs trees (256 … 16,384 functions): `vfioctl list`, `vfioctl list --json`
             against `lspci -nnk` (and `lspci -nn`) on the same tree; time per function; max RSS
2. holders   N processes holding many descriptors: `vfioctl holders` against `fuser -v` and `lsof`
3. wait      how soon `vfioctl wait` returns after the last holder exits, against a 500 ms poller
4. guest     bind/unbind cost in the QEMU guest against the bare sysfs writes (bench/guest/)
5. hostuse   `vfioctl bind --dry-run` on a GPU with DRM nodes (its in-use guard's /proc pass)
             against `fuser -v` on the same two nodes, at 1,000 and 4,000 processes

Each comparison runs the commands in a shuffled order in every round and reports medians and the
median of the per-round ratios. Parts whose vfioctl command has not landed yet print a
'not available yet' line. Results: a table on stdout, bench/results/latest.json, and
bench/README-section.md (the README's benchmark section, regenerated from the same numbers).
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = os.environ.get("BENCH_WORK", "/tmp/vfioctl-bench")
DEVNULL = os.open(os.devnull, os.O_RDWR)

# ---------------------------------------------------------------------------------------------
# Measuring


def spawn_timed(argv, env=None):
    """Runs argv with stdin/stdout/stderr on /dev/null; returns wall seconds, CPU seconds, max RSS."""
    path = argv[0] if "/" in argv[0] else shutil.which(argv[0])
    actions = [(os.POSIX_SPAWN_DUP2, DEVNULL, 0), (os.POSIX_SPAWN_DUP2, DEVNULL, 1), (os.POSIX_SPAWN_DUP2, DEVNULL, 2)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(path, argv, env if env is not None else os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - t0) / 1e9
    return {"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "status": os.waitstatus_to_exitcode(status)}


def max_rss_kib(argv):
    """Peak RSS of one run, from GNU time. (wait4's ru_maxrss of a child spawned by this process
    starts at this interpreter's size, because Linux carries the high-water mark across exec.)"""
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = out.read().strip().splitlines()
        return int(text[-1]) if text and text[-1].isdigit() else None


def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def interleaved(commands, rounds, seed, warm=True):
    """commands: {name: argv}. One warm-up run each (unless `warm` is false), then `rounds` rounds
    in shuffled order."""
    rng = random.Random(seed)
    runs = {name: [] for name in commands}
    for name, argv in commands.items():
        if warm:
            spawn_timed(argv)
    for _ in range(rounds):
        order = list(commands)
        rng.shuffle(order)
        for name in order:
            runs[name].append(spawn_timed(commands[name]))
    return runs


def summary(runs):
    walls = [r["wall"] for r in runs]
    return {"median_s": median(walls), "p25_s": pct(walls, 25), "p75_s": pct(walls, 75), "min_s": min(walls),
            "cpu_median_s": median([r["user"] + r["sys"] for r in runs]), "runs": len(walls),
            "failed_runs": sum(1 for r in runs if r["status"] != 0)}


def paired_ratio(a, b):
    """Median over rounds of a[i]/b[i] (same round, so the same background load)."""
    return median([x["wall"] / y["wall"] for x, y in zip(a, b) if y["wall"] > 0])


def fmt_ms(s):
    return "-" if s is None else ("%.1f" % (s * 1e3) if s < 10 else "%.0f" % (s * 1e3))


def mib(kib):
    return "-" if kib is None else "%.1f MiB" % (kib / 1024)


def fmt_ratio(r):
    return "-" if r is None else "%.2fx" % r


def table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def say(text=""):
    print(text, flush=True)


# ---------------------------------------------------------------------------------------------
# 1. Listing


def generator_tag():
    with open(os.path.join(HERE, "gen_sysfs.py"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def ensure_tree(n):
    base = os.path.join(WORK, "trees-" + generator_tag())
    root = os.path.join(base, str(n))
    if os.path.exists(os.path.join(root, ".done")):
        return root
    # Trees from an older generator are stale.
    if os.path.isdir(WORK):
        for name in os.listdir(WORK):
            if name.startswith("trees-") and os.path.join(WORK, name) != base:
                shutil.rmtree(os.path.join(WORK, name), ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.time()
    out = subprocess.run([sys.executable, os.path.join(HERE, "gen_sysfs.py"), str(n), root], check=True, capture_output=True, text=True)
    open(os.path.join(root, ".done"), "w").close()
    say("  generated %s in %.1fs: %s" % (root, time.time() - t0, out.stdout.strip()))
    return root


def setup_work():
    """The trees live on a tmpfs mounted at WORK (when root): sysfs is in memory too, and this
    machine's page cache for ordinary files gets dropped under it, which turns a run into disk
    reads. Returns whether this run mounted it (and so unmounts it at the end)."""
    os.makedirs(WORK, exist_ok=True)
    if os.path.ismount(WORK):
        # Left mounted by an earlier run that was killed outright: adopt it (and its trees).
        with open("/proc/mounts") as f:
            return any(line.split()[:3] == ["vfioctl-bench", WORK, "tmpfs"] for line in f)
    if os.geteuid() != 0 or os.environ.get("BENCH_NO_TMPFS"):
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4g,mode=0755", "vfioctl-bench", WORK], capture_output=True, text=True)
    if r.returncode != 0:
        say("  (cannot mount a tmpfs at %s, trees stay on disk: %s)" % (WORK, r.stderr.strip()))
        return False
    return True


def teardown_work(mounted):
    if not mounted or os.environ.get("BENCH_KEEP_TREES"):
        return
    # Killed holders may still be closing their descriptors on nodes in the tmpfs for a moment.
    for _ in range(50):
        if subprocess.run(["umount", WORK], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", WORK], capture_output=True)


def linear_fit(ns, ts):
    """Least-squares t = a + b*n; returns a, b and the largest relative deviation from the fit."""
    mn, mt = sum(ns) / len(ns), sum(ts) / len(ts)
    b = sum((n - mn) * (t - mt) for n, t in zip(ns, ts)) / sum((n - mn) ** 2 for n in ns)
    a = mt - b * mn
    dev = max(abs(t - (a + b * n)) / t for n, t in zip(ns, ts))
    return a, b, dev


def ensure_fixture_tree(vfioctl, n):
    """A tree of copies of the unit tests' desktop fixture layout (bench/fixture-tree, built with
    the release binary), at least n functions; None when the tool is missing."""
    exe = os.path.join(os.path.dirname(vfioctl), "fixture-tree")
    if not os.access(exe, os.X_OK):
        exe = os.path.join(REPO, ".build", "release", "fixture-tree")
    if not os.access(exe, os.X_OK):
        say("  fixture-tree: %s is missing (make release builds it)" % exe)
        return None
    base = os.path.join(WORK, "fixtures")
    os.makedirs(base, exist_ok=True)
    root = os.path.join(base, str(n))
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.time()
    out = subprocess.run([exe, str(n), root], check=True, capture_output=True, text=True, env=dict(os.environ, TMPDIR=base))
    say("  built %s in %.1fs: %s" % (root, time.time() - t0, out.stdout.strip()))
    return root


def syscalls(argv):
    """System calls of one run (all threads), from `strace -c -f`; None without strace."""
    strace = shutil.which("strace")
    if not strace:
        return None
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run([strace, "-c", "-f", "-o", out.name] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for line in out.read().splitlines():
            fields = line.split()
            # "100.00    0.429844           2    198241     99886 total" (the errors column may be empty)
            if fields and fields[-1] == "total":
                return int(fields[3])
    return None


LISTING_TOOLS = ("vfioctl list", "vfioctl list --json", "lspci -nnk")


def measure_listing_tree(vfioctl, tree, expected, rounds, seed, rss):
    """One tree: the tools interleaved, the ratios, system calls per function, and peak RSS when
    `rss`. `expected` is the number of functions both tools must list (None: whatever lspci lists)."""
    lspci = shutil.which("lspci")
    sysfs = "sysfs.path=" + tree + "/sys/bus/pci"
    commands = {
        "lspci -nnk": [lspci, "-nnk", "-O", sysfs, "-A", "linux-sysfs"],
        "lspci -nn": [lspci, "-nn", "-O", sysfs, "-A", "linux-sysfs"],
        "vfioctl list": [vfioctl, "list", "--root", tree, "--no-color"],
        "vfioctl list --json": [vfioctl, "list", "--json", "--root", tree],
    }
    # Both tools must read the whole tree, or the comparison means nothing.
    listed = json.loads(subprocess.run(commands["vfioctl list --json"], check=True, capture_output=True).stdout)
    lines = subprocess.run(commands["lspci -nn"], check=True, capture_output=True, text=True).stdout.count("\n")
    n = expected if expected is not None else lines
    if len(listed["devices"]) != n or lines != n:
        raise SystemExit("listing: tree %s: vfioctl saw %d functions, lspci %d, expected %d" % (tree, len(listed["devices"]), lines, n))
    runs = interleaved(commands, rounds, seed=n)
    entry = {name: summary(r) for name, r in runs.items()}
    entry["functions"] = n
    entry["ratio_list_vs_lspci_nnk"] = paired_ratio(runs["vfioctl list"], runs["lspci -nnk"])
    entry["ratio_json_vs_lspci_nnk"] = paired_ratio(runs["vfioctl list --json"], runs["lspci -nnk"])
    entry["ratio_list_vs_lspci_nn"] = paired_ratio(runs["vfioctl list"], runs["lspci -nn"])
    entry["groups"] = len(listed["groups"])
    entry["vfio_bound"] = sum(1 for d in listed["devices"] if d["vfioBound"])
    for name in LISTING_TOOLS:
        calls = syscalls(commands[name])
        entry[name]["syscalls"] = calls
        entry[name]["syscalls_per_function"] = None if calls is None else calls / n
    if rss:
        for name, argv in commands.items():
            entry[name]["maxrss_kib"] = max_rss_kib(argv)
    return entry


def say_listing(label, entry, rounds):
    def calls(name):
        c = entry[name].get("syscalls_per_function")
        return "-" if c is None else "%.1f" % c
    say("  %s: list %s ms, --json %s ms, lspci -nnk %s ms  (list %s, --json %s of lspci -nnk; system calls per function %s / %s / %s; %d rounds)" % (
        label, fmt_ms(entry["vfioctl list"]["median_s"]), fmt_ms(entry["vfioctl list --json"]["median_s"]),
        fmt_ms(entry["lspci -nnk"]["median_s"]), fmt_ratio(entry["ratio_list_vs_lspci_nnk"]),
        fmt_ratio(entry["ratio_json_vs_lspci_nnk"]), calls("vfioctl list"), calls("vfioctl list --json"), calls("lspci -nnk"), rounds))


def bench_listing(vfioctl, sizes, rounds_for, fixture_sizes=(4096,)):
    say("== 1. Listing: vfioctl list and list --json vs lspci -nnk on generated sysfs trees and on trees of fixture layouts")
    results = {"sizes": {}, "fixture_trees": {},
               "target": "vfioctl list <= 0.8x and list --json <= 0.5x lspci -nnk wall time at >= 4096 functions; "
                         "list --json system calls per function <= lspci -nnk's"}
    for n in sizes:
        tree = ensure_tree(n)
        rounds = rounds_for(n)
        entry = measure_listing_tree(vfioctl, tree, n, rounds, seed=n, rss=n == max(sizes))
        results["sizes"][str(n)] = entry
        say_listing("%6d functions" % n, entry, rounds)
    for n in fixture_sizes:
        tree = ensure_fixture_tree(vfioctl, n)
        if tree is None:
            continue
        rounds = rounds_for(n)
        entry = measure_listing_tree(vfioctl, tree, None, rounds, seed=n + 1, rss=False)
        results["fixture_trees"][str(entry["functions"])] = entry
        say_listing("%6d functions (fixture layouts)" % entry["functions"], entry, rounds)
    ns = sorted(int(k) for k in results["sizes"])
    fits = {}
    # Fitted on CPU time (user + system): wall time also holds the time spent waiting for a CPU
    # behind other jobs on this machine, which varies from size to size.
    for name in ("vfioctl list", "vfioctl list --json", "lspci -nnk", "lspci -nn"):
        ts = [results["sizes"][str(n)][name]["cpu_median_s"] for n in ns]
        if len(ns) >= 2:
            a, b, dev = linear_fit(ns, ts)
            fits[name] = {"fixed_ms": a * 1e3, "us_per_function": b * 1e6, "max_deviation_from_fit": dev}
    results["linear_fit"] = fits
    big = [results["sizes"][str(n)] for n in ns if n >= 4096]

    def fewer_calls(e):
        mine, theirs = e["vfioctl list --json"].get("syscalls"), e["lspci -nnk"].get("syscalls")
        return mine is not None and theirs is not None and mine <= theirs
    results["target_met"] = bool(big) and all(
        e["ratio_list_vs_lspci_nnk"] <= 0.8 and e["ratio_json_vs_lspci_nnk"] <= 0.5 and fewer_calls(e) for e in big)
    return results


def listing_rows(res):
    rows = []
    for label, e in sorted(((int(k), e) for k, e in res["sizes"].items())) + [
            ("%d (fixtures)" % int(k), e) for k, e in sorted(res.get("fixture_trees", {}).items(), key=lambda kv: int(kv[0]))]:
        n = e.get("functions", label if isinstance(label, int) else 0)
        calls = lambda name, e=e: "-" if e[name].get("syscalls_per_function") is None else "%.1f" % e[name]["syscalls_per_function"]
        rows.append((label, n, e, calls))
    return rows


def report_listing(res):
    rows = []
    for label, n, e, calls in listing_rows(res):
        rows.append([label, fmt_ms(e["lspci -nnk"]["median_s"]), fmt_ms(e["lspci -nn"]["median_s"]), fmt_ms(e["vfioctl list"]["median_s"]),
                     fmt_ratio(e["ratio_list_vs_lspci_nnk"]), fmt_ms(e["vfioctl list --json"]["median_s"]), fmt_ratio(e["ratio_json_vs_lspci_nnk"]),
                     "%.1f / %.1f" % (e["vfioctl list"]["median_s"] / n * 1e6, e["vfioctl list"]["cpu_median_s"] / n * 1e6),
                     "%.1f / %.1f" % (e["vfioctl list --json"]["median_s"] / n * 1e6, e["vfioctl list --json"]["cpu_median_s"] / n * 1e6),
                     "%.1f / %.1f" % (e["lspci -nnk"]["median_s"] / n * 1e6, e["lspci -nnk"]["cpu_median_s"] / n * 1e6),
                     "%s / %s / %s" % (calls("vfioctl list"), calls("vfioctl list --json"), calls("lspci -nnk"))])
    out = table(["functions", "lspci -nnk ms", "lspci -nn ms", "list ms", "list/lspci", "--json ms", "json/lspci", "list us/fn",
                 "json us/fn", "lspci -nnk us/fn", "syscalls/fn list / json / lspci"], rows)
    out += "\n(medians of wall time; per function: wall / CPU microseconds; system calls from strace -c -f, all threads)"
    fits = res["linear_fit"]
    if fits:
        out += "\nlinear fit of CPU time = fixed + per-function * n (largest deviation of a median from the line):"
        for name, f in fits.items():
            out += "\n  %-20s %6.1f ms + %5.2f us/function  (%.0f%%)" % (name, f["fixed_ms"], f["us_per_function"], f["max_deviation_from_fit"] * 100)
    largest = max(res["sizes"], key=int)
    e = res["sizes"][largest]
    out += "\nmax RSS at %s functions: list %s, list --json %s, lspci -nnk %s" % (
        largest, mib(e["vfioctl list"].get("maxrss_kib")), mib(e["vfioctl list --json"].get("maxrss_kib")), mib(e["lspci -nnk"].get("maxrss_kib")))
    out += "\ntarget (%s): %s" % (res["target"], "MET" if res["target_met"] else "MISSED")
    return out


# ---------------------------------------------------------------------------------------------
# Holder scenarios (parts 2 and 3): a root prefix with a small sysfs tree, the real /proc, and
# a group node that is a character device every process can open (the same major:minor as
# /dev/full, which nothing on a build machine holds), so holders can be matched by st_rdev.


def available(vfioctl, command):
    # An unknown subcommand with --help prints the root help and exits 0, so look for its usage line.
    r = subprocess.run([vfioctl, command, "--help"], capture_output=True, text=True)
    return r.returncode == 0 and ("USAGE: vfioctl " + command) in r.stdout


class HolderHost:
    def __init__(self, holdfds):
        self.holdfds = holdfds
        self.root = tempfile.mkdtemp(prefix="holders-", dir=WORK)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_sysfs.py"), "64", self.root], check=True, capture_output=True)
        # A vfio-bound function and its group.
        inv = json.loads(subprocess.run([VFIOCTL, "list", "--json", "--vfio", "--root", self.root], check=True, capture_output=True).stdout)
        device = inv["devices"][0]
        self.group = device["iommuGroup"]
        self.address = device["address"]
        self.target = "group:%d" % self.group
        self.node = os.path.join(self.root, "dev/vfio", str(self.group))
        os.mknod(self.node, 0o600 | 0o020000, os.makedev(1, 7))
        shutil.rmtree(os.path.join(self.root, "proc"))
        os.symlink("/proc", os.path.join(self.root, "proc"))
        self.groups = []

    def spawn_many(self, count, fds, every):
        p = subprocess.Popen([self.holdfds, "many", str(count), str(fds), str(every), self.node], stdout=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True, text=True)
        self.groups.append(p.pid)
        line = p.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError("holdfds many %d did not become ready" % count)
        return p

    def kill(self, p):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        if p.pid in self.groups:
            self.groups.remove(p.pid)

    def cleanup(self):
        for pgid in list(self.groups):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.groups = []
        shutil.rmtree(self.root, ignore_errors=True)


def build_holdfds():
    out_dir = os.path.join(REPO, ".build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    src = os.path.join(HERE, "holdfds.c")
    exe = os.path.join(out_dir, "holdfds")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", exe, src], check=True)
    return exe


def bench_holders(vfioctl, host, counts, fds, every, rounds_for):
    say("== 2. Holder scan: vfioctl holders vs fuser -v and lsof")
    if not available(vfioctl, "holders"):
        say("  holders: not available yet ('vfioctl holders --help' failed; the command lands from branch holders)")
        return {"available": False, "reason": "vfioctl holders is not available yet"}
    res = {"available": True, "fds_per_process": fds, "target_every": every, "counts": {},
           "target": "vfioctl holders <= 0.5x fuser -v wall time at >= 1000 processes"}
    for count in counts:
        p = host.spawn_many(count, fds, every)
        try:
            expected = len(range(0, count, every))
            commands = {
                "vfioctl holders": [vfioctl, "holders", host.target, "--root", host.root],
                "fuser -v": ["fuser", "-v", host.node],
                "lsof": ["lsof", "-w", host.node],
            }
            found = subprocess.run([vfioctl, "holders", host.target, "--json", "--root", host.root], capture_output=True, text=True)
            seen = None
            try:
                doc = json.loads(found.stdout)
                seen = len({h.get("pid") for h in doc.get("holders", [])})
            except (ValueError, AttributeError):
                pass
            # No warm-up: a /proc scan has no cache to fill, and lsof takes seconds at 4,000.
            runs = interleaved(commands, rounds_for(count), seed=count, warm=False)
            entry = {name: summary(r) for name, r in runs.items()}
            if count == max(counts):
                for name, argv in commands.items():
                    entry[name]["maxrss_kib"] = max_rss_kib(argv)
            entry["ratio_vs_fuser"] = paired_ratio(runs["vfioctl holders"], runs["fuser -v"])
            entry["ratio_vs_lsof"] = paired_ratio(runs["vfioctl holders"], runs["lsof"])
            entry["holding_processes"] = expected
            entry["holders_reported"] = seen
            res["counts"][str(count)] = entry
            say("  %5d processes: holders %s ms, fuser %s ms, lsof %s ms  (%s of fuser, %s of lsof; reported %s of %d holders)" % (
                count, fmt_ms(entry["vfioctl holders"]["median_s"]), fmt_ms(entry["fuser -v"]["median_s"]), fmt_ms(entry["lsof"]["median_s"]),
                fmt_ratio(entry["ratio_vs_fuser"]), fmt_ratio(entry["ratio_vs_lsof"]), seen, expected))
        finally:
            host.kill(p)
    big = [c for c in counts if c >= 1000]
    res["target_met"] = bool(big) and all(res["counts"][str(c)]["ratio_vs_fuser"] <= 0.5 for c in big)
    return res


def report_holders(res):
    if not res.get("available"):
        return "holders: not available yet"
    rows = [[c, fmt_ms(e["vfioctl holders"]["median_s"]), fmt_ms(e["fuser -v"]["median_s"]), fmt_ms(e["lsof"]["median_s"]),
             fmt_ratio(e["ratio_vs_fuser"]), fmt_ratio(e["ratio_vs_lsof"]), e.get("holders_reported"), e["holding_processes"]]
            for c, e in sorted(res["counts"].items(), key=lambda kv: int(kv[0]))]
    out = table(["processes", "holders ms", "fuser -v ms", "lsof ms", "vs fuser", "vs lsof", "reported", "holding"], rows)
    largest = max(res["counts"], key=int)
    e = res["counts"][largest]
    out += "\nmax RSS at %s processes: vfioctl holders %s, fuser -v %s, lsof %s" % (
        largest, mib(e["vfioctl holders"].get("maxrss_kib")), mib(e["fuser -v"].get("maxrss_kib")), mib(e["lsof"].get("maxrss_kib")))
    out += "\n(%d descriptors per process; every %d-th process holds the group node twice)" % (res["fds_per_process"], res["target_every"])
    out += "\ntarget (%s): %s" % (res["target"], "MET" if res["target_met"] else "MISSED")
    return out


class GPUHost:
    """A generated tree whose first host-bound GPU has a DRM card and render node, as
    /sys/dev/char links to them and nodes under the root's /dev with the numbers of /dev/full and
    /dev/kmsg (character devices every process can open and nothing on a build machine keeps
    open), and the real /proc: `bind --dry-run` runs the in-use guard's /proc pass on them."""

    NODES = (("drm/card0", "dri/card0", (1, 7)), ("drm/renderD128", "dri/renderD128", (1, 11)))

    def __init__(self, holdfds):
        self.holdfds = holdfds
        self.root = tempfile.mkdtemp(prefix="gpu-", dir=WORK)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_sysfs.py"), "64", self.root], check=True, capture_output=True)
        inv = json.loads(subprocess.run([VFIOCTL, "list", "--json", "--root", self.root], check=True, capture_output=True).stdout)
        gpu = next(d for d in inv["devices"] if d["classCode"].startswith("03") and d["driver"] and not d["vfioBound"])
        self.address = gpu["address"]
        device_dir = os.path.realpath(os.path.join(self.root, "sys/bus/pci/devices", self.address))
        os.makedirs(os.path.join(self.root, "sys/dev/char"), exist_ok=True)
        self.nodes = []
        for sub, name, (major, minor) in self.NODES:
            d = os.path.join(device_dir, sub)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "dev"), "w") as f:
                f.write("%d:%d\n" % (major, minor))
            with open(os.path.join(d, "uevent"), "w") as f:
                f.write("MAJOR=%d\nMINOR=%d\nDEVNAME=%s\n" % (major, minor, name))
            os.symlink(os.path.relpath(d, os.path.join(self.root, "sys/dev/char")), os.path.join(self.root, "sys/dev/char", "%d:%d" % (major, minor)))
            node = os.path.join(self.root, "dev", name)
            os.makedirs(os.path.dirname(node), exist_ok=True)
            os.mknod(node, 0o666 | 0o020000, os.makedev(major, minor))
            self.nodes.append(node)
        shutil.rmtree(os.path.join(self.root, "proc"))
        os.symlink("/proc", os.path.join(self.root, "proc"))
        self.groups = []

    spawn_many = HolderHost.spawn_many
    kill = HolderHost.kill
    cleanup = HolderHost.cleanup

    @property
    def node(self):
        return self.nodes[0]


def bench_hostuse(vfioctl, host, counts, fds, every, rounds_for):
    say("== 5. Bind guard: vfioctl bind --dry-run on a GPU with DRM nodes vs fuser -v on the same nodes")
    res = {"available": True, "fds_per_process": fds, "target_every": every, "counts": {}, "address": host.address,
           "target": "vfioctl bind --dry-run at or below fuser -v on the card and render node at 1000 and 4000 processes"}
    for count in counts:
        p = host.spawn_many(count, fds, every)
        try:
            commands = {
                "vfioctl bind --dry-run": [vfioctl, "bind", "--group", host.address, "--dry-run", "--root", host.root],
                "fuser -v": ["fuser", "-v"] + host.nodes,
            }
            # Holders are named in the refusal: check it saw them all (and so did the whole pass).
            refusal = subprocess.run([vfioctl, "bind", "--group", host.address, "--dry-run", "--json", "--root", host.root],
                                     capture_output=True, text=True)
            seen = None
            try:
                seen = sum(1 for r in json.loads(refusal.stdout).get("refusals", []) if r.get("use") == "open-device-node")
            except ValueError:
                pass
            runs = interleaved(commands, rounds_for(count), seed=count, warm=False)
            entry = {name: summary(r) for name, r in runs.items()}
            entry["ratio_vs_fuser"] = paired_ratio(runs["vfioctl bind --dry-run"], runs["fuser -v"])
            entry["holding_processes"] = len(range(0, count, every))
            entry["holders_reported"] = seen
            res["counts"][str(count)] = entry
            say("  %5d processes: bind --dry-run %s ms, fuser %s ms (%s of fuser; named %s of %d holders)" % (
                count, fmt_ms(entry["vfioctl bind --dry-run"]["median_s"]), fmt_ms(entry["fuser -v"]["median_s"]),
                fmt_ratio(entry["ratio_vs_fuser"]), seen, entry["holding_processes"]))
        finally:
            host.kill(p)
    big = [c for c in counts if c >= 1000]
    res["target_met"] = bool(big) and all(res["counts"][str(c)]["ratio_vs_fuser"] <= 1.0 for c in big)
    return res


def report_hostuse(res):
    rows = [[c, fmt_ms(e["vfioctl bind --dry-run"]["median_s"]), fmt_ms(e["fuser -v"]["median_s"]), fmt_ratio(e["ratio_vs_fuser"]),
             e.get("holders_reported"), e["holding_processes"]] for c, e in sorted(res["counts"].items(), key=lambda kv: int(kv[0]))]
    out = table(["processes", "bind --dry-run ms", "fuser -v ms", "vs fuser", "named", "holding"], rows)
    out += "\n(%d descriptors per process; every %d-th process holds the DRM card)" % (res["fds_per_process"], res["target_every"])
    out += "\ntarget (%s): %s" % (res["target"], "MET" if res["target_met"] else "MISSED")
    return out


# ---------------------------------------------------------------------------------------------
# 3. Release latency


POLL_SYSCALLS = {"7", "23", "232", "270", "271", "281", "441", "35", "230"}  # poll, select, epoll_wait, pselect6, ppoll,
# epoll_pwait, epoll_pwait2, nanosleep, clock_nanosleep (x86-64)


def wait_until_blocked(pid, limit=3.0):
    """Waits until `pid` sleeps in a poll/wait system call twice in a row (it has scanned, opened
    what it watches and is waiting for an event), at most `limit` seconds. Releasing the holder
    before that would measure the waiter's start-up instead of how soon it notices."""
    end = time.monotonic() + limit
    seen = 0
    time.sleep(0.02)
    while time.monotonic() < end:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                nr = f.read().split()[0]
        except (OSError, IndexError):
            return False
        seen = seen + 1 if nr in POLL_SYSCALLS else 0
        if seen >= 2:
            return True
        time.sleep(0.005)
    return False


def exit_time_ns(p, timeout):
    """Blocks until `p` exits and returns CLOCK_MONOTONIC at that moment (ns), or None after
    `timeout` seconds. Woken by a pidfd: Popen.wait(timeout=...) polls with sleeps that grow to
    50 ms, which would add up to that much to every latency measured."""
    fd = os.pidfd_open(p.pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        done = time.monotonic_ns()
    finally:
        os.close(fd)
    if not ready:
        return None
    p.wait()
    return done


def release_latency(host, waiter_argv, runs, settle=0.02, until_blocked=True, held_for=0.0):
    """Latency from a holder's exit (recorded by the holder itself) to the waiter's exit. With
    `held_for`, the holder exits that long after the waiter started waiting."""
    lat = []
    failures = 0
    for _ in range(runs):
        w = None
        h = subprocess.Popen([host.holdfds, "release", host.node], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
        host.groups.append(h.pid)
        try:
            if h.stdout.readline().strip() != "ready":
                raise RuntimeError("release holder did not start")
            w = subprocess.Popen(waiter_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            host.groups.append(w.pid)
            time.sleep(settle)
            if until_blocked:
                wait_until_blocked(w.pid)  # the waiter has seen the holder and sleeps
            if held_for:
                time.sleep(held_for)
            if w.poll() is not None:
                failures += 1
                continue
            h.stdin.write("go\n")
            h.stdin.flush()
            released = int(h.stdout.readline().split()[1])
            done = exit_time_ns(w, timeout=10)
            if done is None:
                failures += 1
                continue
            if w.returncode != 0:
                failures += 1
                continue
            lat.append((done - released) / 1e6)
        finally:
            for p in (h, w):
                if p is None:
                    continue
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
                if p.pid in host.groups:
                    host.groups.remove(p.pid)
    return lat, failures


def unbind_latency(host, runs):
    """Runs bench/unbind-latency (built with the release binary): `vfioctl unbind` on a fixture
    with the simulated kernel, its group held by a real process that exits once the wait began."""
    exe = os.path.join(os.path.dirname(VFIOCTL), "unbind-latency")
    if not os.access(exe, os.X_OK):
        say("  unbind-latency: %s is missing (make release builds it)" % exe)
        return [], runs
    # Fixtures on the benchmark's tmpfs: the state file lives on /run, a tmpfs on a real host, so its
    # fsyncs should cost what they cost there.
    r = subprocess.run([exe, host.holdfds, str(runs)], capture_output=True, text=True, timeout=600, env=dict(os.environ, TMPDIR=WORK))
    try:
        doc = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        say("  unbind-latency failed (exit %d): %s" % (r.returncode, r.stderr.strip()[-300:]))
        return [], runs
    return doc["latencies_ms"], doc["failed"]


def bench_wait(vfioctl, host, runs, long_runs, poller_runs):
    say("== 3. Release latency: vfioctl wait vs a 500 ms poller")
    if not available(vfioctl, "wait"):
        say("  wait: not available yet ('vfioctl wait --help' failed; the command lands from branch holders)")
        return {"available": False, "reason": "vfioctl wait is not available yet"}
    res = {"available": True, "targets": "p50 <= 10 ms, p99 <= 50 ms"}
    waiter = [vfioctl, "wait", host.target, "--timeout", "10", "--root", host.root]
    lat, failed = release_latency(host, waiter, runs)
    # Held for 1.5 s: past the second after which the waiter also watches /dev/vfio with inotify,
    # whose teardown at exit costs an SRCU grace period (WaitPolicy.nodeWatchDelay).
    long_lat, long_failed = release_latency(host, waiter, long_runs, held_for=1.5)
    # unbind on a fixture with the simulated kernel, in one process (bench/unbind-latency).
    unbind_lat, unbind_failed = unbind_latency(host, runs)
    poller = ["sh", "-c", 'while fuser -s "$1" 2>/dev/null; do sleep 0.5; done', "poller", host.node]
    # The poller is released at a random point of its cycle, as a real one would be.
    ref, ref_failed = release_latency(host, poller, poller_runs, settle=0.15, until_blocked=False)
    for name, xs, bad in (("vfioctl wait", lat, failed), ("vfioctl wait, held 1.5 s", long_lat, long_failed),
                          ("vfioctl unbind (simulated kernel)", unbind_lat, unbind_failed), ("500 ms poller (fuser)", ref, ref_failed)):
        res[name] = {"runs": len(xs), "failed_runs": bad, "p50_ms": pct(xs, 50), "p90_ms": pct(xs, 90), "p99_ms": pct(xs, 99),
                     "max_ms": max(xs) if xs else None}
    w = res["vfioctl wait"]
    u = res["vfioctl unbind (simulated kernel)"]
    res["target_met"] = all(e["p50_ms"] is not None and e["p50_ms"] <= 10 and e["p99_ms"] <= 50 and e["failed_runs"] == 0 for e in (w, u))
    say("  vfioctl wait: p50 %.1f ms, p99 %.1f ms over %d runs (%d failed); poller p50 %.0f ms" % (
        w["p50_ms"] or -1, w["p99_ms"] or -1, len(lat), failed, res["500 ms poller (fuser)"]["p50_ms"] or -1))
    return res


def report_wait(res):
    if not res.get("available"):
        return "wait: not available yet"
    rows = []
    for name in ("vfioctl wait", "vfioctl wait, held 1.5 s", "vfioctl unbind (simulated kernel)", "500 ms poller (fuser)"):
        e = res.get(name)
        if e is None:
            continue
        f = lambda v: "-" if v is None else "%.1f" % v
        rows.append([name, e["runs"], e["failed_runs"], f(e["p50_ms"]), f(e["p90_ms"]), f(e["p99_ms"]), f(e["max_ms"])])
    out = table(["waiter", "runs", "failed", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows)
    out += "\ntarget (%s): %s" % (res["targets"], "MET" if res["target_met"] else "MISSED")
    return out


# ---------------------------------------------------------------------------------------------
# 4. Bind cost in the guest


TOOL_NAMES = {"bare": "bare sysfs writes", "vfioctl": "vfioctl", "dpdk": "dpdk-devbind.py"}


def bench_guest(vfioctl, quick):
    say("== 4. Bind cost in the QEMU guest: vfioctl bind/unbind vs bare sysfs writes and dpdk-devbind.py")
    script = os.path.join(HERE, "guest", "run.sh")
    env = dict(os.environ, VFIOCTL_BIN=vfioctl, BENCH_QUICK="1" if quick else "")
    r = subprocess.run([script], env=env, capture_output=True, text=True)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    try:
        res = json.loads(last)
    except ValueError:
        say("  guest: failed (exit %d): %s" % (r.returncode, (r.stderr.strip().splitlines() or ["no output"])[-1]))
        return {"available": False, "reason": "guest run failed", "stderr_tail": r.stderr[-2000:]}
    if not res.get("available"):
        say("  guest: not available yet (%s)" % res.get("reason"))
        return res
    v = res["sets"]["topology"]["tools"]["vfioctl"]
    res["target"] = "vfioctl bind and unbind of the whole topology each within 1.3x of the bare write sequence"
    res["target_met"] = v["bind_ratio"] <= 1.3 and v["release_ratio"] <= 1.3
    for name, entry in res["sets"].items():
        for tool, t in entry["tools"].items():
            say("  %s, %s: bind %.0f ms (%s), unbind %.0f ms (%s)" % (
                name, TOOL_NAMES[tool], t["bind_ms_p50"], fmt_ratio(t["bind_ratio"]), t["release_ms_p50"], fmt_ratio(t["release_ratio"])))
    return res


def guest_rows(res):
    rows = []
    for name, entry in res["sets"].items():
        for tool, t in entry["tools"].items():
            rows.append([name + " (%d)" % len(entry["devices"]), TOOL_NAMES[tool], "%.0f" % t["bind_ms_p50"], fmt_ratio(t["bind_ratio"]),
                         "%.0f" % t["release_ms_p50"], fmt_ratio(t["release_ratio"]), "%.0f" % t["cycle_ms_p50"], fmt_ratio(t["cycle_ratio"])])
    return rows


def report_guest(res):
    if not res.get("available"):
        return "guest: not available yet (%s)" % res.get("reason")
    out = table(["devices", "tool", "bind ms", "ratio", "unbind ms", "ratio", "both ms", "ratio"], guest_rows(res))
    st = res.get("start_ms_p50", {})
    f = lambda k: "-" if st.get(k) is None else "%.0f" % st[k]
    out += ("\n(p50 of %d cycles, dpdk-devbind.py %d; kernel %s under TCG. Starting a process here: /bin/true %s ms, "
            "vfioctl --version %s ms, python3 %s ms; vfioctl list -q %s ms)") % (
        res["cycles"], res.get("dpdk_cycles", 0), res.get("kernel"), f("true"), f("vfioctl"), f("python"), f("list"))
    out += "\ntarget (%s): %s" % (res["target"], "MET" if res["target_met"] else "MISSED")
    return out


# ---------------------------------------------------------------------------------------------


def machine():
    def out(*argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True)
            return (r.stdout.strip() or r.stderr.strip()).splitlines()[0]
        except (OSError, IndexError):
            return None
    mem = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    return {"cpus": os.cpu_count(), "mem_mib": mem, "kernel": os.uname().release, "loadavg_start": os.getloadavg()[0],
            "lspci": out("lspci", "--version"), "fuser": out("fuser", "-V"),
            "commit": out("git", "-C", REPO, "rev-parse", "--short", "HEAD"),
            "dirty": bool(subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip())}


def verdict(met):
    return "met" if met else "not met yet"


def readme_section(results, command):
    m = results["machine"]
    lines = ["## Performance", "",
             "Measured with `%s` on %s (%d CPUs, %d GiB, Linux %s, load average %.1f at the start; other builds were running), "
             "commit `%s`. Every comparison runs the tools interleaved in the same rounds on the same input; times are medians, "
             "ratios the median of per-round ratios. Raw numbers: `bench/results/latest.json`." % (
                 command, results["date"][:10], m["cpus"], round(m["mem_mib"] / 1024), m["kernel"], m["loadavg_start"], m["commit"]), ""]
    lst = results.get("listing")
    if lst:
        lines += ["**Listing** (`vfioctl list` and `vfioctl list --json` vs `lspci -nnk` on sysfs trees with the same functions; "
                  "target: from 4,096 functions on the generated trees, list at or below 0.8x lspci, `--json` at or below 0.5x, and "
                  "`--json` making no more system calls than lspci — %s):" % verdict(lst.get("target_met")), "",
                  "| functions | lspci -nnk | vfioctl list | ratio | vfioctl list --json | ratio | CPU per function: list / --json / lspci | system calls per function: list / --json / lspci |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for label, n, e, calls in listing_rows(lst):
            lines.append("| %s | %s ms | %s ms | %s | %s ms | %s | %.1f / %.1f / %.1f µs | %s / %s / %s |" % (
                format(label, ",") if isinstance(label, int) else label, fmt_ms(e["lspci -nnk"]["median_s"]), fmt_ms(e["vfioctl list"]["median_s"]),
                fmt_ratio(e["ratio_list_vs_lspci_nnk"]), fmt_ms(e["vfioctl list --json"]["median_s"]), fmt_ratio(e["ratio_json_vs_lspci_nnk"]),
                e["vfioctl list"]["cpu_median_s"] / n * 1e6, e["vfioctl list --json"]["cpu_median_s"] / n * 1e6,
                e["lspci -nnk"]["cpu_median_s"] / n * 1e6, calls("vfioctl list"), calls("vfioctl list --json"), calls("lspci -nnk")))
        f = lst["linear_fit"].get("vfioctl list")
        largest = max(lst["sizes"], key=int)
        e = lst["sizes"][largest]
        if f:
            lines += ["", "Time grows linearly: `list` takes ≈ %.0f ms + %.1f µs of CPU per function (no median more than %.0f%% off that line). "
                      "Peak memory at %s functions: `list` %s, `list --json` %s, `lspci -nnk` %s." % (
                          f["fixed_ms"], f["us_per_function"], f["max_deviation_from_fit"] * 100, format(int(largest), ","),
                          mib(e["vfioctl list"].get("maxrss_kib")), mib(e["vfioctl list --json"].get("maxrss_kib")), mib(e["lspci -nnk"].get("maxrss_kib")))]
        lines += ["", "Trees: `bench/gen_sysfs.py` (root ports, switches, GPUs with audio functions, SR-IOV NICs with VFs, NVMe, "
                  "conventional PCI bridges, 8-function accelerators; IOMMU groups of 1–8; drivers, some functions on vfio-pci; `config`, "
                  "`uevent` and the other attributes the kernel shows), on a tmpfs; \"(fixtures)\" rows: copies of the unit tests' desktop layout "
                  "(`bench/fixture-tree`: GPU with audio, chipset group, NVMe, PCIe switch, SR-IOV PF with VFs, conventional bridge), "
                  "one per PCI domain, with the `uevent` files the kernel prints. This machine has no kernel module index, so "
                  "`lspci -k` does no libkmod lookups here; on a host with one, lspci is slower."]
    hostuse = results.get("hostuse")
    if hostuse:
        lines += ["", "**Bind guard** (`vfioctl bind --group GPU --dry-run`, whose in-use check walks /proc once for the GPU's DRM card and "
                  "render node, vs `fuser -v` on those two nodes; target: at or below fuser at 1,000 and 4,000 processes — %s):"
                  % verdict(hostuse.get("target_met")), "",
                  "| processes | vfioctl bind --dry-run | fuser -v | ratio |", "|---:|---:|---:|---:|"]
        for c, e in sorted(hostuse["counts"].items(), key=lambda kv: int(kv[0])):
            lines.append("| %s | %s ms | %s ms | %s |" % (format(int(c), ","), fmt_ms(e["vfioctl bind --dry-run"]["median_s"]),
                                                         fmt_ms(e["fuser -v"]["median_s"]), fmt_ratio(e["ratio_vs_fuser"])))
    for key, title in (("holders", "Holder scan"), ("wait", "Release latency"), ("guest", "Bind cost in the QEMU guest")):
        part = results.get(key)
        if part is None:
            continue
        lines.append("")
        if not part.get("available"):
            lines.append("**%s**: not measured yet (%s)." % (title, part.get("reason", "not available")))
        elif key == "holders":
            lines += ["**Holder scan** (`vfioctl holders` vs `fuser -v` and `lsof` on the same node; target ≤ 0.5x fuser from 1,000 processes — %s):"
                      % verdict(part.get("target_met")), "",
                      "| processes | vfioctl holders | fuser -v | lsof | vs fuser | vs lsof |", "|---:|---:|---:|---:|---:|---:|"]
            for c, e in sorted(part["counts"].items(), key=lambda kv: int(kv[0])):
                lines.append("| %s | %s ms | %s ms | %s ms | %s | %s |" % (
                    format(int(c), ","), fmt_ms(e["vfioctl holders"]["median_s"]), fmt_ms(e["fuser -v"]["median_s"]),
                    fmt_ms(e["lsof"]["median_s"]), fmt_ratio(e["ratio_vs_fuser"]), fmt_ratio(e["ratio_vs_lsof"])))
        elif key == "wait":
            w, p = part["vfioctl wait"], part["500 ms poller (fuser)"]
            text = ("**Release latency** (last holder exits → `vfioctl wait` returns, %d runs): p50 %.1f ms, p99 %.1f ms; "
                    "a 500 ms polling loop: p50 %.0f ms, p99 %.0f ms. Target p50 ≤ 10 ms, p99 ≤ 50 ms — %s." % (
                        w["runs"], w["p50_ms"], w["p99_ms"], p["p50_ms"], p["p99_ms"], verdict(part.get("target_met"))))
            unbind = part.get("vfioctl unbind (simulated kernel)")
            if unbind and unbind["runs"]:
                text += (" `vfioctl unbind` on a fixture with the simulated kernel (holder exits → the device is back on its host "
                         "driver and the command returns, in one process): p50 %.1f ms, p99 %.1f ms over %d runs." % (
                             unbind["p50_ms"], unbind["p99_ms"], unbind["runs"]))
            held = part.get("vfioctl wait, held 1.5 s")
            if held and held["runs"]:
                text += (" When the holder exits after 1.5 s (the waiter then also has an inotify watch on `/dev/vfio`, whose "
                         "teardown at exit waits for an SRCU grace period): p50 %.1f ms, p99 %.1f ms over %d runs." % (
                             held["p50_ms"], held["p99_ms"], held["runs"]))
            lines.append(text)
        else:
            st = part.get("start_ms_p50", {})
            lines.append("**Bind cost in the QEMU guest** (Linux %s under TCG; p50 of %d cycles, dpdk-devbind.py %d; each cycle binds the "
                         "set to vfio-pci and gives it back; the floor is the bare sysfs writes from a shell loop, no process started; "
                         "target: vfioctl within 1.3x of it on the whole topology — %s):" % (
                             part["kernel"], part["cycles"], part.get("dpdk_cycles", 0), verdict(part.get("target_met"))))
            lines.append("")
            lines.append("| devices | tool | bind | ratio | unbind | ratio | both | ratio |")
            lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
            for row in guest_rows(part):
                lines.append("| %s | %s | %s ms | %s | %s ms | %s | %s ms | %s |" % tuple(row))
            lines.append("")
            lines.append("Starting any process there costs time the floor does not pay: `/bin/true` %.0f ms, `vfioctl --version` %.0f ms, "
                         "`python3 -c pass` %.0f ms (`vfioctl list -q`: %.0f ms)." % (
                             st.get("true", 0), st.get("vfioctl", 0), st.get("python", 0), st.get("list", 0)))
    return "\n".join(lines) + "\n"


VFIOCTL = None


def main():
    global VFIOCTL
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, ".build/release/vfioctl"))
    ap.add_argument("--quick", action="store_true", help="fewer sizes and rounds (a smoke test, not numbers to quote)")
    ap.add_argument("--parts", default="listing,holders,wait,guest,hostuse")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--readme", default=os.path.join(HERE, "README-section.md"))
    args = ap.parse_args()
    VFIOCTL = os.path.abspath(args.bin)
    if not os.access(VFIOCTL, os.X_OK):
        raise SystemExit("bench: %s is not executable (make release)" % VFIOCTL)
    for tool in ("lspci", "fuser", "lsof", "gcc", "/usr/bin/time"):
        if not shutil.which(tool):
            raise SystemExit("bench: %s is missing (make deps)" % tool)
    parts = args.parts.split(",")
    started = time.time()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
               "vfioctl": VFIOCTL, "quick": args.quick}
    say("vfioctl benchmarks: %s (commit %s%s), %d CPUs, load %.1f" % (
        VFIOCTL, results["machine"]["commit"], "+dirty" if results["machine"]["dirty"] else "", os.cpu_count(), os.getloadavg()[0]))

    if args.quick:
        sizes, holder_counts, wait_runs, long_wait_runs, poller_runs = [256, 1024, 4096], [100, 1000], 20, 3, 4
        rounds_for = lambda n: 3
        holder_rounds = lambda c: 3
    else:
        sizes, holder_counts, wait_runs, long_wait_runs, poller_runs = [256, 1024, 4096, 16384], [100, 1000, 4000], 100, 20, 10
        rounds_for = lambda n: {256: 15, 1024: 11, 4096: 9}.get(n, 5)
        holder_rounds = lambda c: 7 if c < 4000 else 3

    host = None
    interrupted = []
    mounted = setup_work()

    def on_signal(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        if "listing" in parts:
            results["listing"] = bench_listing(VFIOCTL, sizes, rounds_for)
        if "holders" in parts or "wait" in parts:
            host = HolderHost(build_holdfds())
            if "holders" in parts:
                results["holders"] = bench_holders(VFIOCTL, host, holder_counts, fds=64, every=8, rounds_for=holder_rounds)
            if "wait" in parts:
                results["wait"] = bench_wait(VFIOCTL, host, wait_runs, long_wait_runs, poller_runs)
        if "hostuse" in parts:
            gpu_host = GPUHost(build_holdfds())
            try:
                results["hostuse"] = bench_hostuse(VFIOCTL, gpu_host, [c for c in holder_counts if c >= 1000], fds=64, every=8,
                                                   rounds_for=holder_rounds)
            finally:
                gpu_host.cleanup()
        if "guest" in parts:
            results["guest"] = bench_guest(VFIOCTL, args.quick)
    except KeyboardInterrupt:
        say("bench: interrupted; spawned processes killed")
        raise SystemExit(130)
    finally:
        if host:
            host.cleanup()
        teardown_work(mounted)
    results["machine"]["loadavg_end"] = os.getloadavg()[0]
    results["seconds"] = round(time.time() - started, 1)

    say("")
    for key, report in (("listing", report_listing), ("holders", report_holders), ("wait", report_wait), ("guest", report_guest),
                        ("hostuse", report_hostuse)):
        if key in results:
            say(report(results[key]))
            say("")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    command = "make bench" if not args.quick else "make bench BENCH_FLAGS=--quick"
    if not args.quick and args.parts == ap.get_default("parts"):
        with open(args.readme, "w") as f:
            f.write(readme_section(results, command))
    say("results: %s%s (%.0f s in all)" % (os.path.relpath(args.out, os.getcwd()),
                                           "" if args.quick else ", " + os.path.relpath(args.readme, os.getcwd()), results["seconds"]))


if __name__ == "__main__":
    main()
