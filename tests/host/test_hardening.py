#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile conditions on the host kernel: a full ring buffer is counted, never silent; pfnscope
killed with SIGKILL leaves nothing (trace) or state the next agent continues; no privileges,
bad options and unwritable outputs give one line, the documented exit code and no file."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, run, done, PFNSCOPE, WORKLOADS  # noqa: E402

tmp = tempfile.mkdtemp(prefix="pfnscope-hard-")
os.chmod(tmp, 0o755)
storm = os.path.join(WORKLOADS, "faultstorm")


def links():
    return len(json.loads(run(["bpftool", "link", "show", "-j"]).stdout or "[]"))


def read_text(path):
    try:
        return open(path).read()
    except OSError:
        return ""


def one_line(p):
    return len(p.stderr.strip().splitlines()) == 1


# a ring buffer that fills: the consumer is stalled behind a pipe nobody reads for a while
p = subprocess.run(["sh", "-c", "%s trace --json --ringbuf 1 -- %s 64 4 | (sleep 4; cat > %s)"
                    % (PFNSCOPE, storm, os.path.join(tmp, "full.ndjson"))],
                   capture_output=True, text=True)
summ = {}
for line in open(os.path.join(tmp, "full.ndjson")):
    if '"summary"' in line:
        summ = json.loads(line)
faults = summ.get("events", {}).get("fault", 0)
lost = summ.get("lost", -1)
print("# stalled consumer: %d fault events received, %d events lost" % (faults, lost))
ok(lost > 0 and "lost (ring buffer full)" in p.stderr and str(lost) in p.stderr,
   "a full ring buffer is counted and printed (%d lost)" % lost, p.stderr[-600:])
ok(faults + lost >= 64 * 256 * 4, "every storm fault is either received or counted as lost "
   "(%d + %d >= %d)" % (faults, lost, 64 * 256 * 4))

# a VMA table too small: the overflow is counted, the per-process count stays exact
small = os.path.join(tmp, "small.json")
p = run([PFNSCOPE, "check", "--max-vmas", "16", "--json", small, "--", storm, "4", "1"])
try:
    d = json.load(open(small))
except (OSError, ValueError):
    d = {}
full = d.get("totals", {}).get("dropped", {}).get("vma_map_full", 0) if d else 0
pr = [x for x in d.get("processes", []) if x["comm"] == "faultstorm"]
ok(full > 0 and len(d.get("vmas", [])) <= 16, "a full VMA table: %d events counted as "
   "vma_map_full, %d rows" % (full, len(d.get("vmas", []))), p.stderr[-400:])
ok(pr and 0 < pr[0]["stat_minflt"] + pr[0]["stat_majflt"] - pr[0]["faults"] < 64,
   "and the process's fault count still follows /proc/PID/stat", pr)

# SIGKILL: a killed trace leaves no link behind; a killed agent's state is continued
l0 = links()
t = subprocess.Popen([PFNSCOPE, "trace", "-e", "exit"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
t.stderr.readline()            # "pfnscope: tracing every process": attached
ok(links() > l0, "trace attached its links")
t.kill()
t.wait()
time.sleep(0.5)
ok(links() == l0, "trace killed with SIGKILL leaves no BPF link (%d -> %d)" % (l0, links()))

port = 19463
a = subprocess.Popen([PFNSCOPE, "agent", "--listen", "127.0.0.1:%d" % port, "-i", "0.3"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def metric(name):
    for _ in range(50):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith(name + " "):
                        return float(line.split()[1])
        except OSError:
            pass
        time.sleep(0.2)
    return None


# a counter to continue: some faults, then the first page that shows them (an idle machine
# can render its first tick with none)
before = None
for _ in range(20):
    subprocess.run(["/bin/true"])
    before = metric("pfnscope_page_faults_total")
    if before:
        break
    time.sleep(0.3)
a.kill()
a.wait()
ok(os.path.exists("/sys/fs/bpf/pfnscope/vmas"), "an agent killed with SIGKILL leaves its pins")
a = subprocess.Popen([PFNSCOPE, "agent", "--listen", "127.0.0.1:%d" % port, "-i", "0.3"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
after = metric("pfnscope_page_faults_total")
reused = metric("pfnscope_agent_state_reused")
ok(before and after and after >= before and reused == 1,
   "the next agent continues them (faults %s -> %s, state_reused %s)" % (before, after, reused))
p = run([PFNSCOPE, "agent", "--stop"])
a.wait()
ok(p.returncode == 0 and not os.path.exists("/sys/fs/bpf/pfnscope"), "and stops clean", p.stdout)

# a traced command killed by a signal: reported, not a pfnscope failure
out = os.path.join(tmp, "killed.json")
p = run([PFNSCOPE, "check", "--json", out, "--", "sh", "-c", "kill -9 $$"])
d = json.load(open(out)) if os.path.exists(out) else {}
sh = [x for x in d.get("processes", []) if x["comm"] == "sh"]
ok(p.returncode == 0 and sh and sh[0]["exit_status"] == 9,
   "check of a command killed by SIGKILL: exit 0, the wait status (9) reported", p.stderr)
p = run([PFNSCOPE, "trace", "--json", "-e", "exit", "-c", "kill -TERM $$"])
ok(p.returncode == 0 and '"status":15' in p.stdout,
   "trace of a command killed by SIGTERM: its exit event carries status 15", p.stdout[-400:])

# without privileges: the capability named, exit 3, nothing created
nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
for cmd in (["trace", "-d", "1"], ["top", "-n", "1"], ["agent"],
            ["record", "-o", os.path.join(tmp, "np.pfns"), "-d", "1"]):
    p = run(nobody + [PFNSCOPE] + cmd)
    ok(p.returncode == 3 and one_line(p) and "CAP_BPF" in p.stderr,
       "unprivileged %s: exit 3, one line naming CAP_BPF" % cmd[0], p.stderr)
ok(not os.path.exists(os.path.join(tmp, "np.pfns")), "no recording left by a refused record")

# bad options and unwritable outputs: one line, exit 2, no partial file
bad = [
    (["record", "-o", os.path.join(tmp, "x.pfns"), "-i", "0"], "x.pfns"),
    (["record", "-o", "/proc/nope/x.pfns", "--", "true"], None),
    (["check", "--json", "/proc/nope/x.json", "--", "true"], None),
    (["check", "--fail-on", "fatal", "--", "true"], None),
    (["trace", "--ringbuf", "3"], None),
    (["trace", "--rule", "NONRAM_PAGE,NOPE"], None),
    (["top", "-i", "0"], None),
    (["report"], None),
    (["report", "/nonexistent.pfns"], None),
    (["agent", "--listen", "127.0.0.1:99999"], None),
    (["agent", "-i", "0"], None),
    (["check", "--policy", "/nonexistent", "--", "true"], None),
]
for args, leftover in bad:
    p = run([PFNSCOPE] + args)
    ok(p.returncode == 2 and one_line(p), "%s: exit 2 with one line" % " ".join(args), p.stderr)
    if leftover:
        ok(not os.path.exists(os.path.join(tmp, leftover)), "%s: no file left" % args[0])
p = run([PFNSCOPE, "nosuchcommand"])
ok(p.returncode == 2 and one_line(p), "an unknown subcommand: exit 2, one line", p.stderr)

# a command that cannot run: one line, env(1)'s 127 (not found) or 126 (found, not runnable),
# no report, no recording, and the recording already there left alone. A file opened for
# writing passes the search but fails execve() with ETXTBSY: what the exec says reaches
# pfnscope (src/target.c spawn_command()), not a child that exits 127 after faulting in
# pfnscope's own image, reported on as if it had run.
noexec = os.path.join(tmp, "noexec")
busy = os.path.join(tmp, "busy")
with open(noexec, "w") as f:
    f.write("#!/bin/sh\n")
os.chmod(noexec, 0o644)
with open("/bin/true", "rb") as src, open(busy, "wb") as dst:
    dst.write(src.read())
os.chmod(busy, 0o755)
held = open(busy, "r+b")        # execve() of it: ETXTBSY
old = os.path.join(tmp, "old.pfns")
for target, code, why in (("/nonexistent/cmd", 127, "No such file"),
                          ("pfnscope-no-such-command", 127, "No such file"),
                          (noexec, 126, "Permission denied"), (tmp, 126, "Permission denied"),
                          (busy, 126, "Text file busy")):
    for cmd in (["check"], ["trace"], ["record", "-o", old]):
        with open(old, "w") as f:
            f.write("an earlier recording\n")
        p = run([PFNSCOPE] + cmd + ["--", target])
        ok(p.returncode == code and one_line(p) and why in p.stderr and not p.stdout and
           open(old).read() == "an earlier recording\n",
           "%s -- %s: exit %d, one line (%s), no report, no recording" %
           (cmd[0], os.path.basename(target), code, why), (p.returncode, p.stderr, p.stdout[-300:]))
held.close()
# once under way a recording has its name, before any snapshot: a recorder killed then leaves
# its blocks at FILE, not in the file made aside
rec = subprocess.Popen([PFNSCOPE, "record", "-o", old, "-i", "60", "--", "sleep", "1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
line = rec.stderr.readline()
head = open(old, "rb").read(12) if os.path.exists(old) else b""
aside = [f for f in os.listdir(tmp) if f.startswith(".old.pfns.")]
rec.wait()
ok("recording" in line and head == b"PFNSCOPE-REC" and not aside,
   "record: FILE is the recording as soon as it is under way, before its first snapshot",
   (line, head, aside))
# a recorder killed before its first snapshot: report names --events, which replays the event
# blocks written (whole blocks of 16,384: the rest died with it) without VMA names
killed = os.path.join(tmp, "killed.pfns")
rec = subprocess.Popen([PFNSCOPE, "record", "-o", killed, "-i", "600", "--", "sh", "-c",
                        "%s 32 2 >/dev/null; sleep 30" % storm],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       start_new_session=True)
rec.stderr.readline()
time.sleep(3)
os.killpg(rec.pid, signal.SIGKILL)      # the recorder, and the command with it
rec.wait()
p = run([PFNSCOPE, "report", killed])
ok(p.returncode == 2 and one_line(p) and "--events" in p.stderr,
   "report of a recording killed before its first snapshot: exit 2, one line naming --events",
   p.stderr)
p = run([PFNSCOPE, "report", killed, "--events"])
m = re.search(r"recording: \d+ blocks, (\d+) events, 0 snapshots", p.stdout)
n = int(m.group(1)) if m else 0
faults = len([x for x in p.stdout.splitlines() if re.match(r"\s*[0-9.]+\s+\d+ .{15} fault ", x)])
ok(p.returncode == 0 and n >= 16384 and n % 16384 == 0 and faults > 0 and
   "no snapshot" in p.stderr,
   "report --events replays its %d events (%d faults), warned there is no snapshot" %
   (n, faults), (p.returncode, p.stderr, p.stdout[-300:]))
# a recorder killed while a quiet workload runs: the events of every interval before were
# written with its snapshot, not held until 16,384 had come (the storm's ~600 records were lost)
quiet = os.path.join(tmp, "quiet.pfns")
sout = os.path.join(tmp, "quiet.out")
qcmd = "%s 1 1 >%s; sleep 30" % (storm, sout)
rec = subprocess.Popen([PFNSCOPE, "record", "-o", quiet, "-i", "0.2", "--", "sh", "-c", qcmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       start_new_session=True)
rec.stderr.readline()
for _ in range(50):     # the storm done, then two more intervals
    if "in_loop_faults" in read_text(sout):
        break
    time.sleep(0.1)
time.sleep(0.5)
os.killpg(rec.pid, signal.SIGKILL)
rec.wait()
m = re.search(r"in_loop_faults=(\d+)", read_text(sout))
p = run([PFNSCOPE, "report", quiet, "--events"])
spid = [int(x.split()[1]) for x in p.stdout.splitlines()
        if re.match(r"\s*[0-9.]+\s+\d+ faultstorm\s+fault ", x)]
ok(m and p.returncode == 0 and len(spid) >= int(m.group(1)),
   "a recorder killed 0.5 s after a quiet storm: its %s faults are in the file (%d replayed)" %
   (m.group(1) if m else "?", len(spid)), (p.returncode, p.stderr[-300:]))
p = run([PFNSCOPE, "check", "--", busy])
ok(p.returncode == 0 and "busy" in p.stdout, "the same file runs once nobody writes it",
   (p.returncode, p.stderr[-300:]))
ok(not [f for f in os.listdir(tmp) if f.startswith(".") or f.endswith(".tmp")],
   "no temporary file left in the output directory", os.listdir(tmp))
done()
