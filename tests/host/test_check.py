#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pfnscope check/probe on the running (host) kernel: real BPF, real faults, checked against
the kernel's own counters (/proc/PID/stat via the zombie, task->min_flt at exit)."""
import mmap
import os
import re
import stat
import sys
import subprocess
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import (ok, skip, run, load_json, has_kernel_address, hook, procs_by_comm,  # noqa
                 vmas_of, done, PFNSCOPE, WORKLOADS)

tmp = tempfile.mkdtemp(prefix="pfnscope-host-")
storm = os.path.join(WORKLOADS, "faultstorm")
PAGES_PER_MIB = 256

# probe
p = run([PFNSCOPE, "probe", "--json"])
ok(p.returncode == 0, "probe --json exits 0", p.stderr)
import json  # noqa: E402
plan = json.loads(p.stdout) if p.returncode == 0 else {"plan": []}
fc = next((h for h in plan.get("pfnscope", {}).get("plan", []) if h["hook"] == "fault-count"), None)
ok(fc is not None and fc["mechanism"] != "none", "probe: fault-count has a mechanism", p.stdout)
mech = fc["mechanism"] if fc else "none"
p = run([PFNSCOPE, "probe"])
ok(p.returncode == 0 and "fault-count" in p.stdout and "degraded" in p.stdout,
   "probe table lists hooks and what is degraded", p.stdout + p.stderr)

# check: a single process, exact per-VMA counts of its own anonymous storm
out = os.path.join(tmp, "storm.json")
p = run([PFNSCOPE, "check", "--json", out, "--", storm, "8", "3"])
ok(p.returncode == 0, "check -- faultstorm exits 0", p.stderr)
doc = load_json(out)
ok(doc["pfnscope"]["schema"] == 1 and doc["pfnscope"]["command"] == "check",
   "JSON header has schema and command")
ok(stat.S_IMODE(os.stat(out).st_mode) == 0o600, "JSON file is created 0600")
ok(hook(doc, "fault-count")["status"] == "attached", "fault-count hook attached")
pr = procs_by_comm(doc, "faultstorm")
ok(len(pr) == 1, "one faultstorm process reported", doc["processes"])
if pr:
    pr = pr[0]
    anon = [v for v in vmas_of(doc, pr["pid"])
            if v["kind"] == "anon" and v["size"] == 8 << 20]
    got = sum(v["faults"] for v in anon)
    # every touched page faults once; the kernel may count a page twice (a page migrated or
    # compacted mid-storm faults again), and the loop's own minflt+majflt says how often
    loop = int(p.stdout.split("in_loop_faults=")[1].split()[0]) if "in_loop_faults=" in \
        p.stdout else -1
    ok(3 * 8 * PAGES_PER_MIB <= got <= loop,
       "faults in the 8 MiB anon VMAs: the pages the workload touched (%d), no more than the "
       "kernel counted over the loop (%d)" % (3 * 8 * PAGES_PER_MIB, loop),
       "got %d in %d rows" % (got, len(anon)))
    ok(pr["task_minflt"] == pr["stat_minflt"] and pr["task_majflt"] == pr["stat_majflt"],
       "task->min_flt at exit equals /proc/PID/stat of the zombie", pr)
    kernel = pr["stat_minflt"] + pr["stat_majflt"]
    if mech in ("fexit", "kprobe"):
        ok(pr["faults"] == kernel, "fault count equals /proc/PID/stat minflt+majflt", pr)
    else:
        # exceptions:page_fault_user cannot see GUP faults (execve's argument copy)
        ok(0 < kernel - pr["faults"] < 64,
           "tracepoint fault count is minflt+majflt less a few GUP faults", pr)
    ok(pr["faults_in_vmas"] == pr["faults"], "every counted fault is attributed to a VMA", pr)
    ok(any(v["name"] == "faultstorm" and v["kind"] == "file" for v in vmas_of(doc, pr["pid"])),
       "the binary's own file VMAs are named")
    ok(any(v["name"] == "[stack]" for v in vmas_of(doc, pr["pid"])), "[stack] is named")
text = p.stdout + p.stderr + open(out).read()
ok(not has_kernel_address(text), "no raw kernel address in table or JSON")

# a process outliving its group leader: the main thread pthread_exit()s, a worker faults 128
# pages and exit(5)s. The process has exited with its last thread, with the group's status
raw = run([os.path.join(WORKLOADS, "threadexit"), "128", "5"])
out = os.path.join(tmp, "threadexit.json")
p = run([PFNSCOPE, "check", "--json", out, "--", os.path.join(WORKLOADS, "threadexit"), "128",
         "5"])
doc = load_json(out)
te = procs_by_comm(doc, "threadexit")
te = te[0] if te else {}
buf = [v["faults"] for v in vmas_of(doc, te.get("pid", -1)) if v["size"] == 128 * 4096]
ok(raw.returncode == 5 and te.get("exited") and te.get("exit_status") == 5 << 8 and
   128 in buf,
   "threadexit (leader leaves first, the worker faults 128 pages, exit(5)): exited with wait "
   "status 5 << 8, as the kernel reports it, its worker's 128 faults in their VMA",
   (raw.returncode, te, buf))


def stackgrow(name, cmd):
    """check -- cmd (stackgrow in it): (p, VmStk after in kB, pages grown, drops, the process,
    its busiest stack row)"""
    out = os.path.join(tmp, name + ".json")
    p = run([PFNSCOPE, "check", "--json", out, "--"] + cmd)
    m = re.search(r"VmStk (\d+) -> (\d+) kB", p.stderr)
    doc = load_json(out)
    sg = procs_by_comm(doc, "stackgrow")
    sg = sg[0] if sg else {}
    stack = max((v for v in vmas_of(doc, sg.get("pid", -1)) if v["kind"] == "stack"),
                key=lambda v: v["faults"], default={})
    return (p, int(m.group(2)) if m else -1, (int(m.group(2)) - int(m.group(1))) // 4 if m else -1,
            doc.get("totals", {}).get("dropped", {}), sg, stack)


# the main stack growing by 512 pages: each fault lies below the stack VMA's start at fault
# entry (expand_stack() follows), so bpf_find_vma() finds no VMA for it; the tracepoint backend
# charges it to the stack's row (bpf/fault.bpf.c stack_growth()). Ground truth: VmStk
p, vmstk, grown, dropped, sg, stack = stackgrow("stackgrow", [
    os.path.join(WORKLOADS, "stackgrow"), "512"])
ok(p.returncode == 0 and grown >= 400 and grown <= stack.get("faults", 0) <= grown + 64 and
   stack.get("size", 0) >= vmstk * 1024 and
   dropped.get("vma_lookup_no_vma", 0) + dropped.get("vma_lookup_failed", 0) <= 4 and
   0 <= sg.get("stat_minflt", 0) + sg.get("stat_majflt", 0) - sg.get("faults", 0) < 16,
   "stackgrow 512: the faults that grow the stack are on the stack's row, which spans VmStk "
   "(none dropped), and counted for the process as /proc/PID/stat counts them",
   (grown, dropped, sg, stack))

# the same under `ulimit -s unlimited` (the legacy bottom-up layout: no gap below the stack),
# then a read of 0x10000 that the kernel answers with SIGSEGV: the growth is still the stack's,
# the SIGSEGV fault is dropped as vma_lookup_no_vma, not charged to the stack (whose row once
# spanned 128 TiB down to 0x10000), and the process's faults are still its min_flt
p, vmstk, grown, dropped, sg, stack = stackgrow("stackgrow-unlimited", [
    "sh", "-c", "ulimit -s unlimited && exec %s 128 segv" % os.path.join(WORKLOADS, "stackgrow")])
ok(grown >= 64 and grown <= stack.get("faults", 0) <= grown + 64 and
   vmstk * 1024 <= stack.get("size", 0) <= vmstk * 1024 + (1 << 20) and
   dropped.get("vma_lookup_no_vma", 0) == 1 and sg.get("exit_status", 0) & 0x7f == 11 and
   0 <= sg.get("task_minflt", 0) + sg.get("task_majflt", 0) - sg.get("faults", 0) < 16,
   "stackgrow 128 segv under ulimit -s unlimited: the growth on the stack's row, which spans "
   "VmStk and no more; the SIGSEGV read of 0x10000 dropped as vma_lookup_no_vma; faults as "
   "the kernel's min_flt at exit",
   (grown, dropped, sg, {k: stack.get(k) for k in ("start", "size", "faults")}))

# one kernel BTF parse for the planner and every object load (src/kbtf.c): libbpf's loads
# get the planner's parse and every one of its frees comes back to pfnscope (a libbpf that
# freed it behind pfnscope's back would show fewer frees than hand-outs)
p = run([PFNSCOPE, "check", "-v", "--", "true"])
m = re.search(r"kernel BTF parsed once \(([^)]*)\): handed out (\d+) times, (\d+) frees skipped",
              p.stderr)
ok(p.returncode == 0 and m and int(m.group(2)) >= 3 and m.group(2) == m.group(3),
   "check -v: the kernel BTF is parsed once and handed to the planner and each object (%s "
   "hand-outs), every one given back" % (m.group(2) if m else "?"),
   [x for x in p.stderr.splitlines() if "BTF" in x])
# and parsed from the kernel's own mapping of it where the kernel allows one (6.16+: a private
# read-only mmap of /sys/kernel/btf/vmlinux), by libbpf's read otherwise
try:
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ).close()
    can_map = True
except OSError:
    can_map = False
ok(m and m.group(1) == ("copied from its mapping" if can_map else "read by libbpf"),
   "check -v: the kernel BTF was %s (the kernel %s mapping it)" %
   (m.group(1) if m else "?", "allows" if can_map else "refuses"))

# pid reuse while check runs (ns_last_pid set to the pid before an exited child's): (a) a
# traced child that gets the pid starts a row of its own, and the old row is counted as lost;
# (b) an untraced process that gets it is not followed through the old child's traced entry
NS_LAST = "/proc/sys/kernel/ns_last_pid"
for attempt in range(3):
    out = os.path.join(tmp, "reuse-a.json")
    p = run([PFNSCOPE, "check", "--json", out, "--", "sh", "-c",
             "%s 4 1 & p=$!; wait; echo $((p - 1)) > %s; /bin/true & q=$!; wait; "
             "echo reuse $p $q >&2" % (storm, NS_LAST)])
    m = re.search(r"reuse (\d+) (\d+)", p.stderr)
    if m and m.group(1) == m.group(2):
        break
doc = load_json(out)
row = [q for q in doc.get("processes", []) if m and q["pid"] == int(m.group(1))]
ok(m and m.group(1) == m.group(2) and len(row) == 1 and row[0]["comm"] == "true" and
   row[0]["faults"] < 256 and
   0 <= row[0]["task_minflt"] + row[0]["task_majflt"] - row[0]["faults"] < 16 and
   doc["totals"]["dropped"].get("pid_reused") == 1,
   "pid reused by a traced child (faultstorm 4 1 exits, true gets its pid): true's own row, "
   "its faults its own min_flt, the storm's unread row counted as pid_reused",
   (m and m.groups(), row, doc.get("totals", {}).get("dropped")))
# and the storm's VMA rows, which keep the tgid, are told from true's by their address space
# (numbered before the fork that reused the pid): marked earlier_process, out of true's
# faults_in_vmas, while true's own rows from before its exec (comm sh) stay true's
vm = [v for v in doc.get("vmas", []) if m and v["pid"] == int(m.group(1))]
earlier = [v for v in vm if v["earlier_process"]]
own = [v for v in vm if not v["earlier_process"]]
ok(row and earlier and own and
   {v["comm"] for v in earlier} <= {"faultstorm", "sh"} and
   sum(v["faults"] for v in earlier if v["comm"] == "faultstorm") >= 1024 and
   {v["comm"] for v in own} == {"sh", "true"} and
   row[0]["faults_in_vmas"] == sum(v["faults"] for v in own) == row[0]["faults"] and
   0 <= row[0]["task_minflt"] + row[0]["task_majflt"] - row[0]["faults_in_vmas"] < 16,
   "pid reused: the storm's %d VMA rows (%d faults) marked earlier_process, true's %d rows "
   "(its sh before exec included) its own: faults_in_vmas %s, min_flt %s" %
   (len(earlier), sum(v["faults"] for v in earlier), len(own),
    row[0]["faults_in_vmas"] if row else "?", row[0]["task_minflt"] if row else "?"),
   [(v["comm"], v["earlier_process"], v["faults"]) for v in vm])

for attempt in range(3):
    want = os.path.join(tmp, "want-%d" % attempt)
    out = os.path.join(tmp, "reuse-b.json")
    chk = subprocess.Popen([PFNSCOPE, "check", "--json", out, "--", "sh", "-c",
                            "/bin/true & p=$!; wait; echo $p > %s.tmp; mv %s.tmp %s; sleep 2" %
                            (want, want, want)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(want):
            break
        time.sleep(0.05)
    old = int(open(want).read()) if os.path.exists(want) else -1
    with open(NS_LAST, "w") as f:
        f.write(str(old - 1))
    intruder = subprocess.Popen([storm, "4", "1"], stdout=subprocess.DEVNULL)
    intruder.wait()
    chk.wait(timeout=60)
    if intruder.pid == old:
        break
doc = load_json(out)
ok(intruder.pid == old and chk.returncode == 0 and not procs_by_comm(doc, "faultstorm") and
   not [v for v in doc.get("vmas", []) if v["pid"] == old and v["faults"] > 256],
   "pid of a traced, exited child taken by an untraced faultstorm: check does not follow it",
   (intruder.pid, old, [(q["pid"], q["comm"], q["faults"]) for q in doc.get("processes", [])]))

# faults the kernel takes in kernel mode on user memory: dd read()s into a fresh 1 MiB buffer
# (glibc mmap()s it), so copy_to_user() faults each of its pages in, counted in dd's min_flt
out = os.path.join(tmp, "dd.json")
p = run([PFNSCOPE, "check", "--json", out, "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=1M",
         "count=4"])
ok(p.returncode == 0, "check -- dd exits 0", p.stderr)
doc = load_json(out)
dd = procs_by_comm(doc, "dd")
if dd:
    dd = dd[0]
    buf = [v for v in vmas_of(doc, dd["pid"]) if v["kind"] == "anon" and v["size"] >= 1 << 20]
    kernel = dd["stat_minflt"] + dd["stat_majflt"]
    ok(buf and max(v["faults"] for v in buf) >= PAGES_PER_MIB,
       "kernel-mode faults on user memory are counted: dd's 1 MiB read buffer has a fault per "
       "page (the tracepoint backend counts exceptions:page_fault_kernel on user addresses)",
       [(v["size"], v["faults"]) for v in buf])
    ok(0 <= kernel - dd["faults"] < 64,
       "dd's fault count is its /proc/PID/stat minflt+majflt less at most a few GUP faults",
       (kernel, dd["faults"]))
    # they reach the counting program by a tail call (bpf/fault.bpf.c fault_count_ktp)
    ok(doc["totals"]["dropped"].get("tail_call_failed") == 0,
       "no kernel-mode fault lost to a failed tail call", doc["totals"]["dropped"])
else:
    ok(False, "dd is reported", doc["processes"])

# children are followed, each with exact counts
out = os.path.join(tmp, "tree.json")
p = run([PFNSCOPE, "check", "--json", out, "--", "sh", "-c",
         "%s 2 1 >/dev/null; %s 4 2 >/dev/null & wait" % (storm, storm)])
ok(p.returncode == 0, "check -- sh (two children) exits 0", p.stderr)
doc = load_json(out)
storms = procs_by_comm(doc, "faultstorm")
ok(len(storms) == 2, "both children of the shell are followed", doc["processes"])
shells = [q for q in doc["processes"] if q["comm"] == "sh"]
ok(shells and all(s["ppid"] == shells[0]["pid"] for s in storms), "children's ppid is the shell")
want = sorted([2 * PAGES_PER_MIB, 4 * 2 * PAGES_PER_MIB])
got = sorted(sum(v["faults"] for v in vmas_of(doc, s["pid"])
                 if v["kind"] == "anon" and v["size"] in (2 << 20, 4 << 20)) for s in storms)
ok(got == want, "each child's storm VMAs carry exactly its own faults", "%s != %s" % (got, want))
ok(all(q["task_minflt"] + q["task_majflt"] >= q["faults"] for q in doc["processes"]
       if q["exited"]),
   "no process has more counted faults than the kernel's min_flt+maj_flt",
   [q for q in doc["processes"] if q["exited"] and q["task_minflt"] + q["task_majflt"] <
    q["faults"]])

# degraded mode: the special VMAs of the traced process are listed by vma-iter snapshots,
# with exactly the vm_flags /proc/PID/smaps shows
out = os.path.join(tmp, "rings.json")
p = run([PFNSCOPE, "check", "--json", out, "--", os.path.join(WORKLOADS, "ringmaps"), "400"])
doc = load_json(out)
if hook(doc, "pfn-remap")["status"] == "attached":
    skip("vma-iter lists PFNMAP/MIXEDMAP VMAs", "pfn hooks attached: no snapshots needed")
else:
    want = re.findall(r"ringmaps: vma (0x[0-9a-f]+) VmFlags: (.*)", p.stdout)
    rows = {v["start"]: v for v in doc["vmas"] if v["seen_by_iter"]}
    ok(len(want) >= 3 and all(a in rows and rows[a]["vm_flags"] == f.strip() for a, f in want),
       "vma-iter lists the perf/io_uring VMAs with smaps' VmFlags (%d)" % len(want),
       "smaps %s\niter %s" % (want, {a: r["vm_flags"] for a, r in rows.items()}))
    ok(any(r["name"] == "[perf_event]" for r in rows.values()) and
       any(r["name"] == "[io_uring]" for r in rows.values()),
       "special VMAs are named as in /proc/PID/maps", [r["name"] for r in rows.values()])
    ok("missing:  pfn-remap" in p.stdout and "degraded: fault-count" in p.stdout,
       "check says what it cannot see on this kernel", p.stdout[:2000])

# per-mm RSS from kmem:rss_stat equals /proc/PID/status, sampled while the workload keeps still
out = os.path.join(tmp, "rss.json")
p = run([PFNSCOPE, "check", "--timeline", "40", "--json", out, "--",
         os.path.join(WORKLOADS, "rsswork"), "--file", os.path.join(tmp, "rss.file"),
         "--shm", "/dev/shm/pfnscope-test.shm"])
doc = load_json(out)
ok(hook(doc, "rss")["status"] == "attached", "rss hook attached (%s)" % hook(doc, "rss")["mechanism"],
   hook(doc, "rss"))
quiet = {int(a): (int(b), int(c)) for a, b, c in
         re.findall(r"rsswork: pid (\d+) quiet (\d+) (\d+)", p.stdout)}
status = re.findall(r"rsswork: pid (\d+) status RssAnon=(\d+) RssFile=(\d+) RssShmem=(\d+)",
                    p.stdout)
ok(len(quiet) == 2 and len(status) == 2, "rsswork ran: parent and copy-on-write child",
   p.stdout[-1500:] + p.stderr[-1500:])
for pid, anon, file_, shmem in status:
    pid = int(pid)
    t0, t1 = quiet.get(pid, (0, 0))
    seen = set()
    for smp in doc["timeline"]["samples"]:
        if t0 < smp["t_ns"] < t1:
            rs = [x["rss_stat"] for x in smp.get("address_spaces", []) if x["pid"] == pid]
            seen.add(tuple(sum(r[k] for r in rs) * 4 for k in ("anon", "file", "shmem")))
    ok(seen == {(int(anon), int(file_), int(shmem))},
       "pid %d: kmem:rss_stat RSS equals /proc/PID/status RssAnon/RssFile/RssShmem (%s kB)" %
       (pid, (anon, file_, shmem)), "samples in the still window: %s" % seen)
try:
    os.unlink("/dev/shm/pfnscope-test.shm")
except OSError:
    pass

# pins on a kernel where the GUP hooks cannot attach: the global counters, and why
p = run([PFNSCOPE, "probe", "--json"])
grab = next(h for h in json.loads(p.stdout)["pfnscope"]["plan"] if h["hook"] == "pin-grab")
if grab["status"] == "unavailable":
    p = run([PFNSCOPE, "pins", "-d", "0.2"])
    ok(p.returncode == 3 and "nr_foll_pin_acquired" in p.stdout and "unavailable" in p.stderr,
       "pins without GUP hooks: global vmstat counters, exit 3", p.stdout + p.stderr)
    d = load_json(os.path.join(tmp, "storm.json"))
    ok(d["pins"]["available"] is False and "vmstat_acquired_delta" in d["pins"]["totals"],
       "check reports the vmstat pin deltas and that per-process pins are unavailable",
       d["pins"])
p = run([PFNSCOPE, "pins", "-p", "999999999"])
ok(p.returncode == 2 and "no process" in p.stderr, "pins -p of a missing pid: exit 2", p.stderr)

# JSON to stdout keeps stdout parseable
p = run([PFNSCOPE, "check", "--json", "-", "--", "true"])
try:
    json.loads(p.stdout)
    parsed = True
except ValueError:
    parsed = False
ok(p.returncode == 0 and parsed and "PID" in p.stderr, "--json - writes JSON alone on stdout")

# a command that cannot run is pfnscope's error, not a child reported on: it exited 127
# after faulting in pfnscope's own image, and check printed those faults as its report, exit 0
# (more cases in test_hardening.py)
p = run([PFNSCOPE, "check", "--", "/nonexistent/cmd"])
ok(p.returncode == 127 and p.stderr.strip() ==
   "pfnscope check: cannot run /nonexistent/cmd: No such file or directory" and not p.stdout,
   "a command that cannot run: exit 127, one line, no report", (p.returncode, p.stderr))

# usage and environment errors: one line, documented exit codes, no partial files
p = run([PFNSCOPE, "check"])
ok(p.returncode == 2 and "no COMMAND" in p.stderr, "check without COMMAND: exit 2", p.stderr)
p = run([PFNSCOPE, "check", "--backend", "bogus", "--", "true"])
ok(p.returncode == 2 and "--backend" in p.stderr, "unknown --backend: exit 2", p.stderr)
p = run([PFNSCOPE, "check", "--fail-on", "loud", "--", "true"])
ok(p.returncode == 2, "unknown --fail-on: exit 2", p.stderr)
p = run([PFNSCOPE, "frobnicate"])
ok(p.returncode == 2 and "unknown command" in p.stderr, "unknown subcommand: exit 2")
bad = os.path.join(tmp, "no", "such", "dir", "x.json")
p = run([PFNSCOPE, "check", "--json", bad, "--", "true"])
ok(p.returncode == 2 and "cannot create" in p.stderr and not os.path.exists(bad),
   "unwritable --json: exit 2, nothing left behind", p.stderr)
setpriv = run(["sh", "-c", "command -v setpriv"]).stdout.strip()
if setpriv:
    p = run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
             PFNSCOPE, "check", "--", "true"])
    ok(p.returncode == 3 and "CAP_BPF" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
       "unprivileged: exit 3 with one line naming the capability", p.stderr)
else:
    skip("unprivileged: exit 3", "no setpriv")
done()
