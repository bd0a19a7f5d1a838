#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks on what the lab guest sent back: the planner's choices on 6.1, fault counts equal to
/proc/PID/stat, each fixture flagged with the right rule and attribution (pfns checked against
/proc/PID/pagemap), the kernel's own mappings silent."""
import base64
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, done, has_kernel_address  # noqa: E402

log, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)

# extract the base64 blocks
files = {}
cur, buf = None, []
B64 = re.compile(r"^[A-Za-z0-9+/=]+$")
for line in open(log, errors="replace"):
    line = line.rstrip("\n")
    m = re.match(r"^@@PFNSCOPE-FILE (\S+)@@$", line)
    if m:
        cur, buf = m.group(1), []
    elif line == "@@PFNSCOPE-END@@" and cur:
        files[cur] = base64.b64decode("".join(buf))
        with open(os.path.join(outdir, cur), "wb") as f:
            f.write(files[cur])
        cur = None
    elif cur and B64.match(line):
        buf.append(line)


def text(name):
    return files.get(name, b"").decode(errors="replace")


def rc(name):
    t = text(name + ".rc").strip()
    return int(t) if t.isdigit() else None


def doc(name):
    try:
        return json.loads(files[name + ".json"])
    except (KeyError, ValueError):
        return None


def rss_mismatches(d, out):
    """VMAs whose RSS in the still-window samples differs from the smaps Rss rsswork printed;
    returns (number of VMAs printed, mismatches)."""
    quiet = {int(p): (int(a), int(b)) for p, a, b in
             re.findall(r"rsswork: pid (\d+) quiet (\d+) (\d+)", out)}
    want = re.findall(r"rsswork: pid (\d+) vma (0x[0-9a-f]+) rss_kb (\d+)", out)
    bad = []
    for pid, start, kb in want:
        a, b = quiet.get(int(pid), (0, 0))
        got = set()
        # a sample's t_ns is when its read began; the read ends before the next sample's
        # begins, so only a sample whose successor also began inside the window was read
        # wholly inside it (under TCG a read takes milliseconds: the last one could see the
        # exit's unmapping, {160, 0})
        smps = d["timeline"]["samples"]
        for smp, nxt in zip(smps, smps[1:]):
            if a < smp["t_ns"] and nxt["t_ns"] < b:
                r = [v for v in smp["vmas"] if v["pid"] == int(pid) and v["start"] == start]
                got.add(sum(r[0]["rss"].values()) * 4 if r else 0)
        if got != {int(kb)}:
            bad.append((pid, start, kb, got))
    return len(want), bad, len(quiet)


def hook(d, name):
    return next((h for h in d["pfnscope"]["plan"] if h["hook"] == name), {})


ok(text("kernel.txt").startswith("6.1."), "guest runs the 6.1 kernel", text("kernel.txt"))

# planner
p = doc("probe")
ok(p is not None and rc("probe") == 0, "probe --json in the guest", text("probe.out"))
if p:
    for h in ("fault-count", "fault-return"):
        ok(hook(p, h).get("mechanism") == "fexit", "planner picks fexit for %s on 6.1" % h,
           hook(p, h))
    for h in ("pfn-insert", "pfn-remap"):
        ok(hook(p, h).get("mechanism") in ("fentry", "fexit"),
           "planner picks fentry/fexit for %s on 6.1" % h, hook(p, h))
    ok(hook(p, "pte-install").get("target") == "do_set_pte",
       "pte-install: set_pte_range absent on 6.1, do_set_pte chosen", hook(p, "pte-install"))
    ok(hook(p, "task-fork").get("mechanism") == "tp_btf", "task-fork uses tp_btf")
    ok(hook(p, "pfn-track").get("mechanism") == "fexit", "pfn-track uses fexit track_pfn_remap",
       hook(p, "pfn-track"))
p = doc("probe-kprobe")
if p:
    ok(hook(p, "fault-count").get("mechanism") == "kprobe",
       "--backend kprobe forces kprobe for fault-count", hook(p, "fault-count"))
    ok(any(r["mechanism"] == "fexit" and "excluded" in r["reason"]
           for r in hook(p, "fault-count").get("rejected", [])),
       "forced plan says fexit was excluded by --backend")
ok(rc("probe-table") == 0 and "fault-count" in text("probe-table.out"), "probe table in the guest",
   text("probe-table.out"))

# fault counts equal the kernel's own /proc/PID/stat
for backend, mech in (("fentry", "fexit"), ("kprobe", "kprobe")):
    d = doc("storm-" + backend)
    ok(d is not None and rc("storm-" + backend) == 0, "check (%s) runs in the guest" % backend,
       text("storm-%s.out" % backend))
    if not d:
        continue
    ok(hook(d, "fault-count").get("mechanism") == mech and
       hook(d, "fault-count").get("status") == "attached",
       "check (%s): fault-count attached as %s" % (backend, mech), hook(d, "fault-count"))
    pr = [q for q in d["processes"] if q["comm"] == "faultstorm"]
    ok(len(pr) == 1, "check (%s): the faultstorm process is reported" % backend)
    if pr:
        q = pr[0]
        ok(q["faults"] == q["stat_minflt"] + q["stat_majflt"],
           "check (%s): faults == /proc/PID/stat minflt+majflt (%s)" %
           (backend, q.get("stat_minflt")), q)
        anon = sum(v["faults"] for v in d["vmas"]
                   if v["pid"] == q["pid"] and v["kind"] == "anon" and v["size"] == 4 << 20)
        ok(anon == 2 * 1024, "check (%s): 2 x 1024 faults in the 4 MiB storm VMAs" % backend,
           anon)
d = doc("storm-tp")
if d:
    q = [q for q in d["processes"] if q["comm"] == "faultstorm"]
    ok(q and hook(d, "fault-count").get("mechanism") == "tp_btf" and
       0 <= q[0]["stat_minflt"] - q[0]["faults"] < 64,
       "check (tracepoint backend in the guest): degraded count, within GUP faults of stat",
       q)
# dd's buffer is faulted in by copy_to_user(): page_fault_kernel's program tail-calls the
# user-mode one (bpf/fault.bpf.c), each of its 256 pages counted
d = doc("kfault-tp")
ok(d is not None and rc("kfault-tp") == 0, "check -- dd (tracepoint backend) runs in the guest",
   text("kfault-tp.out")[-2000:])
if d:
    dd = [q for q in d["processes"] if q["comm"] == "dd"]
    buf = dd and [v for v in d["vmas"] if v["pid"] == dd[0]["pid"] and v["kind"] == "anon" and
                  v["size"] >= 1 << 20]
    ok(buf and max(v["faults"] for v in buf) >= 256 and
       0 <= dd[0]["stat_minflt"] - dd[0]["faults"] < 64 and
       d["totals"]["dropped"].get("tail_call_failed") == 0,
       "check (tracepoint backend in the guest): dd's kernel-mode faults on its read buffer "
       "counted through the tail call, none lost",
       (dd, buf and [(v["size"], v["faults"]) for v in buf], d["totals"]["dropped"]))

# a pid reused while check runs (fexit: exact counts): the storm's rows marked
# earlier_process, true's own rows (sh before its exec included) exactly its min_flt
d = doc("pidreuse")
m = re.search(r"reuse (\d+) (\d+)", text("pidreuse.out"))
pid = int(m.group(1)) if m and m.group(1) == m.group(2) else -1
q = [x for x in d["processes"] if x["pid"] == pid] if d else []
vm = [v for v in d["vmas"] if v["pid"] == pid] if d else []
earlier = [v for v in vm if v["earlier_process"]]
own = [v for v in vm if not v["earlier_process"]]
ok(q and q[0]["comm"] == "true" and earlier and own and
   {v["comm"] for v in earlier} <= {"faultstorm", "sh"} and
   sum(v["faults"] for v in earlier if v["comm"] == "faultstorm") >= 1024 and
   {v["comm"] for v in own} == {"sh", "true"} and
   q[0]["faults_in_vmas"] == sum(v["faults"] for v in own) == q[0]["faults"] ==
   q[0]["task_minflt"] + q[0]["task_majflt"] and
   d["totals"]["dropped"].get("pid_reused") == 1,
   "pid reused (fentry): the storm's %d VMA rows earlier_process, true's %d its own, "
   "faults_in_vmas %s == its min_flt" % (len(earlier), len(own),
                                         q[0]["faults_in_vmas"] if q else "?"),
   (m and m.groups(), q, [(v["comm"], v["earlier_process"], v["faults"]) for v in vm]))

d = doc("threadexit")
q = [q for q in d["processes"] if q["comm"] == "threadexit"] if d else []
buf = [v["faults"] for v in d["vmas"] if q and v["pid"] == q[0]["pid"] and
       v["size"] == 64 * 4096] if d else []
ok(q and q[0]["exited"] and q[0]["exit_status"] == 7 << 8 and 64 in buf and
   q[0]["faults"] == q[0]["stat_minflt"] + q[0]["stat_majflt"],
   "threadexit (leader pthread_exit()s first, the worker faults 64 pages, exit(7)): exited "
   "with wait status 7 << 8, its faults equal /proc/PID/stat (fexit)", (q, buf))

for name in ("stackgrow-fentry", "stackgrow-tp"):
    d = doc(name)
    m = re.search(r"VmStk (\d+) -> (\d+) kB", text(name + ".out"))
    grown = (int(m.group(2)) - int(m.group(1))) // 4 if m else -1
    q = [q for q in d["processes"] if q["comm"] == "stackgrow"] if d else []
    stack = [v for v in d["vmas"] if q and v["pid"] == q[0]["pid"] and v["kind"] == "stack"] \
        if d else []
    most = max((v["faults"] for v in stack), default=0)
    nolookup = d["totals"]["dropped"].get("vma_lookup_no_vma", 0) if d else -1
    ok(rc(name) == 0 and grown >= 200 and grown <= most <= grown + 64 and nolookup == 0,
       "%s: the %d faults that grew the stack (VmStk) are on the stack's row, none dropped" %
       (name, grown), (rc(name), most, nolookup, text(name + ".out")[-1500:]))

# one kernel BTF parse for start-up (src/kbtf.c) on 6.1, where the fentry programs' attach
# targets (bpf_program__set_attach_target()) and module BTFs ask for it too: every hand-out
# given back
# (6.1 has no mmap of /sys/kernel/btf/vmlinux, added in 6.16: libbpf reads it)
m = re.search(r"kernel BTF parsed once \(read by libbpf\): handed out (\d+) times, (\d+) "
              r"frees skipped", text("stackgrow-fentry.out"))
ok(m and int(m.group(1)) >= 3 and m.group(1) == m.group(2),
   "check -v (fentry): the kernel BTF read by libbpf once, handed out %s times, every one "
   "given back" % (m.group(1) if m else "?"),
   [x for x in text("stackgrow-fentry.out").splitlines() if "BTF" in x])

# fixtures: each misbehaviour flagged with the right rule and attribution
EXPECT = {  # device -> (rule, source, class)
    "pfnfix_zero": ("RESERVED_PAGE", "fault-return", "reserved"),
    "pfnfix_reserved": ("RESERVED_PAGE", "fault-return", "reserved"),
    "pfnfix_vga": ("NONRAM_PAGE", "fault-return", "mmio"),
    "pfnfix_freed": ("FREE_PAGE_MAPPED", "pfn-insert", "ram"),
    "pfnfix_mmio_wb": ("MMIO_CACHED", "pfn-remap", "mmio"),
    "pfnfix_rampfn": ("RAM_PFNMAP", "pfn-insert", "ram"),
}
CORRECT = ("pfnfix_pfnmap", "pfnfix_mixed")
for backend in ("fentry", "kprobe"):
    name = "fix-" + backend
    d = doc(name)
    ok(d is not None and rc(name) == 1,
       "fixtures (%s): check exits 1 (errors at --fail-on error)" % backend,
       "rc=%s\n%s" % (rc(name), text(name + ".out")[-3000:]))
    if not d:
        continue
    out = text(name + ".out")
    ok("pages=8 touched=8" in out and out.count("touched=8") == 8,
       "fixtures (%s): all 8 devices mapped and faulted" % backend, out[-2000:])
    for dev, (rule, src, cls) in EXPECT.items():
        f = [x for x in d["findings"] if x["file"] == dev]
        good = [x for x in f if x["rule"] == rule and x["source"] == src and x["class"] == cls]
        ok(len(good) == 1 and len(f) == 1, "fixtures (%s): %s flagged %s only" %
           (backend, dev, rule), json.dumps(f, indent=1))
        if good:
            g = good[0]
            ok(g["module"] == "pfnfix" and (g["fault_handler"].endswith("_fault [pfnfix]") or
                                            src == "pfn-remap"),
               "fixtures (%s): %s attributed to module pfnfix and its handler (%s)" %
               (backend, dev, g["fault_handler"]), g)
            ok(g["count"] == 8, "fixtures (%s): %s counted 8 pages" % (backend, dev), g)
    for dev in CORRECT:
        ok(not [x for x in d["findings"] if x["file"] == dev],
           "fixtures (%s): correct driver %s not flagged" % (backend, dev))
    mm = [x for x in d["findings"] if x["rule"] == "MMIO_CACHED"]
    ok(mm and mm[0]["requested_cache"] == "WB", "MMIO_CACHED reports the requested WB mode", mm)
    if backend == "fentry":
        # the HPET is already reserved UC- by the kernel's own ioremap: PAT installs UC-
        ok(mm and mm[0]["installed_cache"] == "UC-",
           "MMIO_CACHED reports the installed UC- mode (track_pfn_remap)", mm)
    v = [v for v in d["vmas"] if v["name"] == "pfnfix_pfnmap"]
    ok(v and v[0]["pages_by_class"]["mmio"] == 8 and "pf" in v[0]["vm_flags"].split(),
       "fixtures (%s): pfnmap VMA has 8 mmio pages and VM_PFNMAP" % backend, v)
    v = [v for v in d["vmas"] if v["name"] == "pfnfix_mixed"]
    ok(v and v[0]["pages_by_class"]["ram"] == 8 and "mm" in v[0]["vm_flags"].split(),
       "fixtures (%s): mixed VMA has 8 ram pages and VM_MIXEDMAP" % backend, v)
    v = [v for v in d["vmas"] if v["name"] == "pfnfix_reserved"]
    ok(v and v[0]["reserved_hits"] == 8 and v[0]["ptes_installed"] == 8,
       "fixtures (%s): reserved VMA: 8 reserved hits, 8 ptes installed" % backend, v)
    # pfns against /proc/PID/pagemap where pagemap can see them
    for dev in ("pfnfix_reserved", "pfnfix_vga"):
        pm = set(int(m, 16) for m in re.findall(r"fixmap: /dev/%s pagemap \d+ (0x[0-9a-f]+)" %
                                                 dev, out))
        ex = [int(x["example_pfn"], 16) for x in d["findings"] if x["file"] == dev]
        ok(pm and ex and ex[0] in pm, "fixtures (%s): %s example pfn is one pagemap shows" %
           (backend, dev), "pagemap %s example %s" % (sorted(pm), ex))
        if dev == "pfnfix_vga":
            ok(pm and all(0xa0 <= x <= 0xbf for x in pm), "vga fixture pfns are in 0xa0-0xbf",
               pm)
    ok(not has_kernel_address(out + json.dumps(d)), "fixtures (%s): no raw kernel address" %
       backend)

d = doc("module")
if d:
    ok(d["vmas"] and all(v["module"] == "pfnfix" for v in d["vmas"]),
       "--module pfnfix: only the module's VMAs in the table", [v["name"] for v in d["vmas"]])
    ok([x["rule"] for x in d["findings"]] == ["NONRAM_PAGE"], "--module: its finding kept",
       d["findings"])
d = doc("policy")
if d:
    f = d["findings"]
    ok(rc("policy") == 0 and len(f) == 1 and f[0]["severity"] == "warning" and
       "known-bad" in f[0].get("policy", ""),
       "policy file lowers NONRAM_PAGE to warning: exit 0, reason shown", (rc("policy"), f))
ok(rc("badpolicy") == 2 and "policy.txt:1" in text("badpolicy.out") and
   len(text("badpolicy.out").strip().splitlines()) == 1,
   "bad policy file: exit 2, one line with file:line", text("badpolicy.out"))

d = doc("legit")
if d:
    bad = [x for x in d["findings"] if x["severity"] in ("warning", "error")]
    ok(rc("legit") == 0 and not bad,
       "kernel's own mappings (vDSO, vvar, /dev/mem VGA+HPET, perf, io_uring): no warning/error",
       json.dumps(bad, indent=1) + text("legit.out")[-2000:])
    sup = {(x["rule"], x["fault_handler"].split(" ")[0], x["file"]) for x in d["suppressed"]}
    ok(any(r == "RESERVED_PAGE" and h == "special_mapping_fault" for r, h, _ in sup),
       "vDSO reserved page seen and suppressed by the built-in policy", sup)
    ok(any(r == "MMIO_CACHED" and f == "mem" for r, _, f in sup),
       "/dev/mem write-back request seen and suppressed by the built-in policy", sup)
    names = {v["name"] for v in d["vmas"]}
    ok("[vdso]" in names and "mem" in names, "vDSO and /dev/mem VMAs are in the table", names)
d = doc("dax")
ok(d is not None and rc("dax") == 0, "DAX scenario ran (ext4 -o dax on emulated pmem)",
   text("dax.out")[-2000:])
if d:
    v = [v for v in d["vmas"] if v["name"] == "file" and v["fault_handler"].startswith("ext4_dax")]
    ok(v and v[0]["pages_by_class"]["device"] == 16 and v[0]["pfn_events"]["pfn-insert"] == 16,
       "DAX: 16 device pages inserted by ext4_dax_fault", v)
    ok(not [x for x in d["findings"] if x["severity"] in ("warning", "error")],
       "DAX write-back device pfns are not flagged", d["findings"])
# kernel symbols asked of the kernel per address (src/kaddr.c, bpf_snprintf "%pS" in a syscall
# program) on 6.1: every name printed is /proc/kallsyms's at its address minus the offset, and
# the same handlers are named as with the whole table read (PFNSCOPE_KSYMS=table)
d = doc("probe")
ks = d and d["pfnscope"].get("kernel_symbols", "")
ok(ks and ks.startswith("asked of the kernel per address"),
   "probe (6.1): kernel symbols asked of the kernel per address", ks)
# the guest has no bpftool, so no CO-RE cache: every session here relocates against the types
# cut out of 6.1's BTF in memory (src/coremin.c), and every result this suite checks with it
cb = d and d["pfnscope"].get("core_btf", "")
m = re.search(r"(\d+) kernel types cut out of its BTF in memory for (\d+) relocation roots",
              cb or "")
ok(m and 100 < int(m.group(1)) < 60000 and int(m.group(2)) > 5,
   "probe (6.1): CO-RE relocations against the kernel types cut out in memory", cb)
truth = {}
for line in text("ksyms-truth.txt").splitlines():
    f = line.split()
    if len(f) >= 3:
        truth[(int(f[0], 16), f[2])] = f[3].strip("[]") if len(f) > 3 else ""
SYM = re.compile(r"^(?P<name>[^ +]+)(?:\+0x(?P<off>[0-9a-f]+))?(?: \[(?P<mod>[^\]]+)\])? "
                 r"@0x(?P<addr>[0-9a-f]+)$")
SYM_FIELDS = ("vm_ops", "fault_handler", "mmap_handler")
kd, td = doc("ksyms-kernel"), doc("ksyms-table")
ok(kd and td and rc("ksyms-kernel") == 1 and rc("ksyms-table") == 1,
   "symbols: both runs over the fixtures exit 1, as fix-fentry",
   text("ksyms-kernel.out")[-1500:] + text("ksyms-table.out")[-1500:])
if kd and td:
    named, wrong = set(), []
    for v in kd["vmas"] + kd["findings"]:
        for fld in SYM_FIELDS:
            val = v.get(fld) or "-"
            if val == "-" or val.startswith("?"):
                continue
            m = SYM.match(val)
            start = m and int(m["addr"], 16) - int(m["off"] or "0", 16)
            if not m or truth.get((start, m["name"])) != (m["mod"] or ""):
                wrong.append((fld, val, m and truth.get((start, m["name"]))))
            else:
                named.add((m["name"], m["mod"]))
    mods = {n for n, mod in named if mod == "pfnfix"}
    ok(not wrong and len(mods) >= 8,
       "symbols: every name printed is /proc/kallsyms's at its address (%d distinct, %d of "
       "pfnfix: %s)" % (len(named), len(mods), " ".join(sorted(mods))), wrong[:10])

    def handlers(doc):
        strip = re.compile(r" @0x[0-9a-f]+$")
        return {(v["comm"],) + tuple(strip.sub("", str(v.get(f))) for f in
                                     SYM_FIELDS + ("module",))
                for v in doc["vmas"] if v["comm"] != "pfnscope"}
    a, b = handlers(kd), handlers(td)
    ok(a == b, "symbols: the kernel's answers name the same handlers as the whole table (%d)" %
       len(a), "kernel only: %s\ntable only: %s" % (sorted(a - b), sorted(b - a)))
# pins
p = doc("probe")
if p:
    for h, m in (("pin-grab", "fexit"), ("pin-release", "fentry"), ("pin-addr", "kprobe"),
                 ("pin-unmap", "fentry"), ("rss", "tp_btf")):
        ok(hook(p, h).get("mechanism") == m, "planner picks %s for %s on 6.1" % (m, h), hook(p, h))
d = doc("pins")
ok(d is not None and rc("pins") == 1, "pins scenario ran (exit 1: the leak is an error)",
   text("pins.out")[-2000:])
if d:
    t = d["pins"]["totals"]
    ok(t["pin_acquired"] - t["pin_zero_page"] == t["vmstat_acquired_delta"] and
       t["pin_released"] - t["pin_zero_page_released"] == t["vmstat_released_delta"],
       "FOLL_PIN acquired/released equal /proc/vmstat nr_foll_pin_* deltas (zero page apart)", t)
    ok(t["pin_zero_page"] == 16 and t["pin_zero_page_released"] == 16,
       "the 16 zero-page pins are counted separately (vmstat leaves them out)", t)
    ok(t["vmstat_acquired_delta"] - t["vmstat_released_delta"] == 8,
       "the kernel itself shows the 8 leaked pins", t)
    callers = d["pins"]["callers"]

    def caller(comm, kind, frame):
        return [c for c in callers if c["comm"] == comm and c["kind"] == kind and
                any(frame in s for s in c["stack"])]
    leak = [f for f in d["findings"] if f["rule"] == "PIN_LEAK"]
    ok(len(leak) == 1 and leak[0]["count"] == 8 and leak[0]["pinner_comm"] == "pinuser" and
       any("pin_ioctl" in s and "[pfnfix]" in s for s in leak[0]["caller_stack"]) and
       leak[0].get("file") == "[anon]",
       "PIN_LEAK: the leaking ioctl's 8 pages, with its stack (pin_ioctl [pfnfix]) and VMA", leak)
    au = [f for f in d["findings"] if f["rule"] == "PIN_AFTER_UNMAP"]
    ok(len(au) == 1 and au[0]["pinner_comm"] == "pinuser" and au[0]["count"] == 8,
       "PIN_AFTER_UNMAP: only the leaked pins outlived their mapping", au)
    lt = [f for f in d["findings"] if f["rule"] == "LONGTERM_PIN"]
    ok(len(lt) == 1 and lt[0]["count"] == 16 and
       any("io_sqe_buffer_register" in s for s in lt[0]["caller_stack"]),
       "LONGTERM_PIN: io_uring's 16 registered pages, released on unregister", lt)
    ok([c for c in caller("pinwork", "FOLL_PIN|FOLL_LONGTERM", "io_sqe_buffer_register")
        if c["released"] == 16 and c["outstanding"] == 0],
       "io_uring unregister released all 16 pins")
    ok([c for c in caller("pinwork", "FOLL_PIN", "process_vm_rw")
        if c["acquired"] == c["released"] == 16 and c["zero_page"] == 0],
       "process_vm_readv: 16 FOLL_PIN pages taken and released")
    ok([c for c in caller("pinuser", "FOLL_PIN", "pin_ioctl") if c["acquired"] == c["released"] == 8],
       "the balanced ioctl's 8 pins are all released")
    ok([c for c in callers if c["kind"] == "FOLL_GET" and c["acquired"] >= 16 and
        any("bio_iov_iter_get_pages" in s for s in c["stack"])],
       "O_DIRECT read: FOLL_GET references from the block layer, counted", callers)
    uring_vma = [v for v in d["vmas"] if v["comm"] == "pinwork" and
                 v["pins"]["FOLL_PIN|FOLL_LONGTERM"]["acquired"] == 16]
    ok(uring_vma and uring_vma[0]["pins"]["FOLL_PIN|FOLL_LONGTERM"]["released"] == 16 and
       uring_vma[0]["size"] == 16 * 4096,
       "per-VMA pins: the io_uring buffer VMA took and gave back 16 long-term pins", uring_vma)
    leak_vma = [v for v in d["vmas"] if v["comm"] == "pinuser" and
                v["pins"]["FOLL_PIN"]["outstanding"] == 8]
    ok(leak_vma and leak_vma[0]["pins"]["FOLL_PIN"]["acquired"] == 8 and
       leak_vma[0]["pins"]["FOLL_PIN"]["released"] == 0,
       "per-VMA pins: the leaking buffer shows 8 acquired, 0 released, 8 outstanding", leak_vma)
    outs = d["pins"]["outstanding"]
    ok(len(outs) == 8 and all(o["file"] == "[anon]" and o["after_unmap"] for o in outs),
       "8 outstanding pins, each attributed to the pinning process's buffer VMA", outs[:2])

p = doc("probe")
if p:
    for h, m in (("rss-rmap", "fentry"), ("fork-copy", "fexit"), ("mm-exit", "fexit"),
                 ("bad-pte", "fentry"), ("teardown", "fentry"), ("stack-move", "fexit")):
        ok(hook(p, h).get("mechanism") == m, "planner picks %s for %s on 6.1" % (m, h), hook(p, h))
# where exec builds a new stack (STACK_TOP_MAX, __bprm_mm_init()), 4- and 5-level paging
STACK_FIRST = ("0x7ffffffff000", "0xfffffffffff000")


def stack_follows(d, comm, prefix=""):
    """The stack row of an exec'd process: exec copies the arguments into the stack at its
    first place and setup_arg_pages() moves it (stack-move). The row must follow: one [stack]
    row holding those pages that nets to zero at exit, none left at the first place."""
    pids = {v["pid"] for v in d["vmas"] if v["comm"] == comm}
    stacks = [v for v in d["vmas"] if v["comm"] == comm and v["name"] == "[stack]"]
    # the first place's row was named with the comm before exec (the loader's child)
    first = [v for v in d["vmas"] if v["pid"] in pids and v["end"] in STACK_FIRST]
    return (hook(d, "stack-move").get("status") == "attached" and stacks and not first and
            all(v["rss_in"]["anon"] >= 1 and v["rss"]["anon"] == 0 for v in stacks),
            prefix + "exec's stack: its row follows setup_arg_pages() (stack-move), holds the "
            "argument pages and nets to zero; no row left where exec built it",
            (hook(d, "stack-move"), stacks, first))


d = doc("rss")
ok(d is not None and rc("rss") == 0, "rss scenario ran (the fixture's warning is below "
   "--fail-on error: exit 0)", text("rss.out")[-2000:])
if d:
    out = text("rss.out")
    nwant, bad, nquiet = rss_mismatches(d, out)
    ok(nquiet == 2 and nwant == 10, "rsswork: two processes, five VMAs each", out[-1500:])
    ok(not bad and nwant, "per-VMA RSS in every still-window sample equals smaps Rss "
       "(anon, private file+COW, shared file, shmem, fixture, forked child)", bad)
    ok(not [x for x in d["findings"] if x["rule"] == "RSS_IMBALANCE"] and
       all(all(v == 0 for v in m["rss_net"].values())
           for m in d["address_spaces"] if m["observed"] and m["exited"]),
       "every observed address space nets to zero at exit", d["address_spaces"])
    ok(all(m.get("kernel_rss_at_exit", {}).get("file", 0) == 0
           for m in d["address_spaces"] if m["observed"]),
       "the kernel's own counters are zero at exit too")
    ok(*stack_follows(d, "rsswork"))
    res = [v for v in d["vmas"] if v["name"] == "pfnfix_reserved" and v["comm"] == "rsswork"]
    ok(res and res[0]["rss_in_reserved_as_file"] == 8 and res[0]["rss_in"]["file"] == 8,
       "reserved pages a fault handler returned enter RSS as file pages, shown per VMA", res)
    ok(all(v["teardowns"] >= 1 for v in d["vmas"] if v["comm"] == "rsswork" and
           v["name"] in ("f", "shm", "pfnfix_reserved")), "each mapped VMA was torn down")
d = doc("handpte")
if d:
    f = {x["rule"]: x for x in d["findings"] if x["file"] == "pfnfix_handpte"}
    dm = text("handpte.dmesg")
    m = re.search(r"Bad rss-counter state mm:\S+ type:MM_FILEPAGES val:(-?\d+)", dm)
    ok(rc("handpte") == 1 and "BAD_PTE" in f and "RSS_IMBALANCE" in f,
       "hand-built ptes: BAD_PTE and RSS_IMBALANCE found, exit 1", d["findings"])
    ok("BAD_PTE" in f and f["BAD_PTE"]["count"] == 8 and
       dm.count("BUG: Bad page map in process fixmap") >= 1,
       "BAD_PTE counts the kernel's 8 print_bad_pte reports (dmesg: Bad page map)",
       (f.get("BAD_PTE"), dm[-1500:]))
    ok("RSS_IMBALANCE" in f and m and f["RSS_IMBALANCE"]["amount"] == int(m.group(1)) == -8 and
       f["RSS_IMBALANCE"]["member"] == "file",
       "RSS_IMBALANCE names member file and -8 pages, as the kernel's Bad rss-counter state",
       (f.get("RSS_IMBALANCE"), m and m.group(0)))
    mm = [a for a in d["address_spaces"] if a["observed"] and a.get("kernel_rss_at_exit")]
    ok(mm and mm[0]["kernel_rss_at_exit"]["file"] == -8,
       "mm->rss_stat read at exit_mmap agrees (-8 file pages)", mm)
    ok(f.get("RSS_IMBALANCE", {}).get("module") == "pfnfix" and
       "handpte_fault" in f.get("RSS_IMBALANCE", {}).get("fault_handler", ""),
       "the imbalance is attributed to the fixture's VMA and handler")
# RSS and pins on the kprobe backend
d = doc("rss-kprobe")
ok(d is not None and rc("rss-kprobe") == 0 and hook(d, "rss-rmap").get("mechanism") == "kprobe"
   and hook(d, "fork-copy").get("mechanism") == "kprobe",
   "rss scenario on --backend kprobe (rss-rmap and fork-copy as kprobes)",
   text("rss-kprobe.out")[-1500:])
if d:
    nwant, bad, _ = rss_mismatches(d, text("rss-kprobe.out"))
    ok(nwant == 10 and not bad, "kprobe backend: per-VMA RSS equals smaps Rss", bad)
    ok(not [x for x in d["findings"] if x["rule"] == "RSS_IMBALANCE"],
       "kprobe backend: no RSS imbalance", d["findings"])
    ok(*stack_follows(d, "rsswork", "kprobe backend: "))
d = doc("pins-kprobe")
ok(d is not None and rc("pins-kprobe") == 1 and hook(d, "pin-grab").get("mechanism") == "kprobe",
   "pins scenario on --backend kprobe (grabs by kprobe+kretprobe)", text("pins-kprobe.out")[-1500:])
if d:
    t = d["pins"]["totals"]
    ok(t["pin_acquired"] - t["pin_zero_page"] == t["vmstat_acquired_delta"] and
       t["pin_released"] - t["pin_zero_page_released"] == t["vmstat_released_delta"],
       "kprobe backend: FOLL_PIN totals equal /proc/vmstat deltas (zero page apart)", t)
    leak = [f for f in d["findings"] if f["rule"] == "PIN_LEAK"]
    ok(len(leak) == 1 and leak[0]["count"] == 8 and leak[0]["pinner_comm"] == "pinuser",
       "kprobe backend: PIN_LEAK of the 8 leaked pages", leak)

# trace: pfn events with class and caching mode, findings as they happen, pins and unpins
evs = []
for line in text("trace-fix.ndjson").splitlines():
    try:
        evs.append(json.loads(line))
    except ValueError:
        pass
ok(rc("trace-fix") == 0 and evs and evs[-1].get("type") == "summary" and evs[-1]["lost"] == 0,
   "trace --json over the fixtures ends with a summary, nothing lost", text("trace-fix.out"))
vga = [e for e in evs if e.get("type") == "pfn" and e.get("vma") == "pfnfix_vga"]
ok(len(vga) == 4 and all(e["class"] == "mmio" and e["source"] == "fault-return" and
                         0xa0 <= int(e["pfn"], 16) <= 0xbf for e in vga),
   "trace: the VGA fixture's 4 faults return mmio pfns 0xa0-0xbf", vga[:2])
wb = [e for e in evs if e.get("type") == "pfn" and e.get("vma") == "pfnfix_mmio_wb"]
ok(wb and all(e["req_cache"] == "WB" and e["inst_cache"] == "UC-" for e in wb),
   "trace: the mmio_wb remap shows WB requested, UC- installed", wb[:2])
fnd = {e["rule"]: e for e in evs if e.get("type") == "finding"}
ok(set(fnd) >= {"NONRAM_PAGE", "MMIO_CACHED"} and fnd["NONRAM_PAGE"].get("module") == "pfnfix",
   "trace: NONRAM_PAGE and MMIO_CACHED printed as they happen, attributed to pfnfix", fnd)
pins = [e for e in evs if e.get("type") == "pin" and e.get("kind") == "FOLL_PIN"]
unpins = [e for e in evs if e.get("type") == "unpin"]
ok(sum(e["count"] for e in pins) == 2 and sum(e["count"] for e in unpins) == 2,
   "trace: pinuser balanced 2 shows 2 pins and 2 unpins", (pins, unpins))
ok(any(e.get("type") == "teardown" for e in evs), "trace: teardowns are streamed")
ok(rc("trace-cols") == 0 and re.search(r"fault-return pfn 0x[0-9a-f]+ x1 reserved",
                                      text("trace-cols.out")),
   "trace columns: the reserved fixture's pfns, class reserved", text("trace-cols.out")[-800:])
tp = [json.loads(x) for x in text("trace-pins.ndjson").splitlines() if x.startswith("{")]
tv0 = dict(x.split() for x in text("trace-pins-vm0.txt").splitlines())
tv1 = dict(x.split() for x in text("trace-pins-vm1.txt").splitlines())
held = (int(tv1.get("nr_foll_pin_acquired", 0)) - int(tv0.get("nr_foll_pin_acquired", 0))) - \
    (int(tv1.get("nr_foll_pin_released", 0)) - int(tv0.get("nr_foll_pin_released", 0)))
tpf = {e["rule"]: e for e in tp if e.get("type") == "finding"}
ok(rc("trace-pins") == 0 and held == 4 and set(tpf) == {"PIN_LEAK", "PIN_AFTER_UNMAP"} and
   all(e.get("at") == "end" and e["count"] == 4 and e["pinner_comm"] == "pinuser"
       for e in tpf.values()) and
   not [e for e in tp if e.get("type") not in ("finding", "summary")],
   "trace --rule PIN_LEAK,PIN_AFTER_UNMAP -c 'pinuser leak 4': both judged at the end, 4 "
   "pages each, the 4 the kernel still holds (/proc/vmstat), and no events",
   (held, tp[-4:], text("trace-pins.out")[-800:]))
ok(not has_kernel_address(text("trace-fix.ndjson") + text("trace-cols.out") +
                          text("trace-pins.ndjson")),
   "trace output has no raw kernel address")

# record/report: the same findings as check over the same fixtures
rep, chk = doc("report-fix"), doc("fix-fentry")
ok(rc("record-fix") == 0 and "bytes/event" in text("record-fix.out"), "record in the guest",
   text("record-fix.out"))
if rep and chk:
    def fset(d):
        return sorted((f["rule"], f.get("file"), f["count"]) for f in d["findings"])
    ok(fset(rep) == fset(chk), "report of the recording has check's findings (rule, file, count)",
       (fset(rep), fset(chk)))
    ok(hook(rep, "pfn-insert").get("status") == "attached", "the recorded plan is reported")
else:
    ok(False, "report --json of the recording", text("report-fix.out")[-1500:])
ok("<svg" in text("report-fix.html") and "NONRAM_PAGE" in text("report-fix.html"),
   "the HTML report of the recording has charts and the findings")


def prom_metric(file, metric, **labels):
    lines = [x for x in text(file).splitlines() if x.split("{")[0].split(" ")[0] == metric]
    tot, seen = 0.0, False
    for line in lines:
        head, val = line.rsplit(" ", 1)
        if all('%s="%s"' % kv in head for kv in labels.items()):
            tot, seen = tot + float(val), True
    return tot if seen else None


# the agent with every hook
ok("serving http://127.0.0.1:9464/metrics" in text("agent.log"), "agent starts in the guest",
   text("agent.log")[-1500:])
ok(prom_metric("agent1.prom", "pfnscope_hook_attached", hook="pfn-insert") == 1 and
   prom_metric("agent1.prom", "pfnscope_hook_attached", hook="pin-grab") == 1,
   "agent metrics: pfn-insert and pin-grab attached on 6.1")
n = prom_metric("agent1.prom", "pfnscope_findings_total", rule="NONRAM_PAGE", module="pfnfix")
ok(n is not None and n >= 1, "agent metric: NONRAM_PAGE finding of module pfnfix (%s)" % n)
ok(prom_metric("agent1.prom", "pfnscope_pages_installed_total", **{"class": "mmio"}) >= 4,
   "agent metric: the 4 VGA pages counted as installed mmio pages")
# RSS gauge: read by rss-iter from 6.1's atomic mm counters, no rss_stat program in the agent
ok(prom_metric("agent-rss1.prom", "pfnscope_hook_attached", hook="rss-iter") == 1 and
   prom_metric("agent-rss1.prom", "pfnscope_hook_attached", hook="rss") == 0,
   "agent on 6.1: rss-iter attached, no kmem:rss_stat program")
held = [int(a) // 4 for a in re.findall(r"status RssAnon=(\d+)", text("agent-rss.out"))]
g0 = prom_metric("agent-rss0.prom", "pfnscope_rss_pages", member="anon")
g1 = prom_metric("agent-rss1.prom", "pfnscope_rss_pages", member="anon")
moved = g1 - g0 if g0 is not None and g1 is not None else None
# the agent's and the shell's own pages move too: 300 pages of slack against ~8,400
ok(len(held) == 2 and moved is not None and abs(moved - sum(held)) < 300,
   "agent gauge pfnscope_rss_pages{member=anon} moved %s pages while rsswork and its child "
   "held %s (their /proc/PID/status RssAnon)" % (moved, held), text("agent-rss.out")[-600:])
v0 = dict(x.split() for x in text("agent-vmstat0.txt").splitlines())
v1 = dict(x.split() for x in text("agent-vmstat1.txt").splitlines())
held = (int(v1["nr_foll_pin_acquired"]) - int(v0["nr_foll_pin_acquired"])) - \
       (int(v1["nr_foll_pin_released"]) - int(v0["nr_foll_pin_released"]))
out = prom_metric("agent1.prom", "pfnscope_pins_outstanding")
ok(held == 3 and out == held, "agent metric: pins outstanding (%s) = /proc/vmstat acquired - "
   "released over the run (%d)" % (out, held))
m = re.search(r"minflt=(\d+) majflt=(\d+)", text("agent-storm.out"))
got = prom_metric("agent1.prom", "pfnscope_page_faults_by_comm_total", comm="faultstorm")
if m:
    kern = int(m.group(1)) + int(m.group(2))
    ok(got is not None and 0 <= got - kern <= 16,
       "agent metric: faultstorm's faults (%s) = its /proc/self/stat minflt+majflt (%d) plus "
       "the faults of its exit" % (got, kern))
nd = [json.loads(x) for x in text("agent.ndjson").splitlines() if x.strip()]
pre = {int(p) for p in re.findall(r"rsswork: pid (\d+) status", text("agent-pre.out"))}
ok(len(pre) == 2 and not [x for x in nd if x["rule"] == "RSS_IMBALANCE" and x["pid"] in pre],
   "agent NDJSON: no RSS_IMBALANCE for rsswork and its child, which had their pages before the "
   "agent started and were killed under it (mm-seed marks them unobserved; without it, 3 "
   "findings each)",
   (text("agent-pre.out")[-300:], [x for x in nd if x["rule"] == "RSS_IMBALANCE"][:3]))
m = re.search(r"vmachurn: pid (\d+) churned", text("agent-churn.out"))
imb = [x for x in nd if x["rule"] == "RSS_IMBALANCE"]
ok(m and "vmachurn rc 0" in text("agent-churn.out") and
   not [x for x in imb if x["pid"] == int(m.group(1)) or x["comm"] == "pfnscope"],
   "agent NDJSON: no RSS_IMBALANCE for pages mremap() moved to a new VMA before two ticks "
   "deleted the old one's row (carried; without it -256 anon), nor for the pfnscope snapshot "
   "and pins runs (their heap moves alike)",
   (text("agent-churn.out")[-300:], imb[:3]))
# (once: a finding is a rule on one process's VMA; two processes of one static binary share
# its ranges, so the pid is part of what makes a finding the same)
ok(any(x["rule"] == "NONRAM_PAGE" and x.get("module") == "pfnfix" and x.get("explanation")
       for x in nd) and len({(x["rule"], x.get("pid"), x.get("vma")) for x in nd}) == len(nd),
   "agent NDJSON: the NONRAM_PAGE finding once, with check's fields", nd[:3])
try:
    sn = json.loads(text("agent-snapshot.json"))
except ValueError:
    sn = None
ok(sn and any(f["rule"] == "NONRAM_PAGE" and f["module"] == "pfnfix" and f["count"] >= 1
              for f in sn["findings"] + sn.get("retired_findings", [])),
   "snapshot reads the agent's state: the NONRAM_PAGE finding (folded once fixmap exited)",
   text("agent-snapshot.err") + str(sn and sn.get("retired_findings")))
try:
    ap = json.loads(text("agent-pins.json"))
except ValueError:
    ap = {}
ok(ap.get("source") == "agent" and sum(p["refs"] for p in ap.get("outstanding", [])
                                       if p.get("comm") == "pinuser") == 3,
   "pins reads the agent's state: pinuser's 3 pages", text("agent-pins.err") + str(ap)[:800])
ok("CapEff:\t0000008000000000" in text("agent-caps.txt") and
   "CapBnd:\t0000008000000000" in text("agent-caps.txt"),
   "the agent keeps only CAP_BPF after attaching", text("agent-caps.txt"))
# named after the drop (the findings come at ticks): by the kernel, not by /proc/kallsyms
nonram = [x for x in nd if x["rule"] == "NONRAM_PAGE" and x.get("module") == "pfnfix"]
leak = [x for x in nd if x["rule"] == "PIN_LEAK" and x.get("comm") == "pinuser"]
ok(nonram and nonram[0].get("fault_handler") == "vga_fault [pfnfix]" and
   nonram[0].get("vm_ops") == "vga_vm_ops [pfnfix]" and leak and
   any(f.startswith("pin_ioctl+0x") and f.endswith(" [pfnfix]")
       for f in leak[0].get("caller_stack", [])),
   "the agent names handlers, vm_ops and stack frames with CAP_BPF alone",
   (nonram[:1], [x.get("caller_stack") for x in leak[:1]]))
ok("stopped agent" in text("agent-stop.out") and "No such file" in text("agent-left.txt"),
   "agent --stop leaves no pinned state", text("agent-stop.out") + text("agent-left.txt"))
ok(not has_kernel_address(text("agent1.prom") + text("agent.ndjson")),
   "no raw kernel address in metrics or NDJSON")

# soak with every hook: the agent's totals against the kernel's counters
s0 = dict(x.split() for x in text("soak-vmstat0.txt").splitlines())
s1 = dict(x.split() for x in text("soak-vmstat1.txt").splitlines())
if s0 and s1:
    acq = int(s1["nr_foll_pin_acquired"]) - int(s0["nr_foll_pin_acquired"])
    rel = int(s1["nr_foll_pin_released"]) - int(s0["nr_foll_pin_released"])
    got_acq = sum(prom_metric("soak.prom", "pfnscope_pin_acquired_total", kind=k) or 0
                  for k in ("pin", "longterm"))
    got_rel = prom_metric("soak.prom", "pfnscope_pin_released_total")
    runs = re.findall(r"minflt=(\d+) majflt=(\d+)", text("soak-storm-1.out") +
                      text("soak-storm-2.out"))
    kern = sum(int(a) + int(b) for a, b in runs)
    faults = prom_metric("soak.prom", "pfnscope_page_faults_by_comm_total", comm="faultstorm")
    mid = prom_metric("soak-mid.prom", "pfnscope_agent_resident_memory_bytes") or 0
    end = prom_metric("soak.prom", "pfnscope_agent_resident_memory_bytes") or 0
    ticks = prom_metric("soak.prom", "pfnscope_agent_ticks_total")
    print("# lab soak (emulated): %d faultstorm runs, %d faults (agent %s), pins %d/%d "
          "(agent %s/%s), drops %s, evictions %s, agent RSS %.1f -> %.1f MiB, %s ticks" %
          (len(runs), kern, faults, acq, rel, got_acq, got_rel,
           prom_metric("soak.prom", "pfnscope_dropped_events_total"),
           prom_metric("soak.prom", "pfnscope_map_evictions_total"), mid / 2**20, end / 2**20,
           ticks))
    ok(acq > 0 and got_acq == acq and got_rel == rel,
       "soak: the agent's pins acquired/released equal /proc/vmstat's deltas")
    ok(runs and faults is not None and 0 <= faults - kern <= 16 * len(runs),
       "soak: the agent's faultstorm faults equal their /proc/self/stat counts (+ exit faults)")
    ok(mid and abs(end - mid) < 2 * 2**20, "soak: the agent's RSS stayed flat")
    ok("stopped agent" in text("soak-stop.out"), "soak: the agent stops cleanly")
    sn = [json.loads(x) for x in text("soak.ndjson").splitlines() if x.strip()]
    sn = [x for x in sn if x["rule"] == "NONRAM_PAGE" and x.get("module") == "pfnfix"]
    ok("CapEff:\t0000008000000000" in text("soak-caps.txt") and sn and
       sn[0].get("fault_handler") == "vga_fault [pfnfix]",
       "soak: with PFNSCOPE_KSYMS=table (/proc/kallsyms read by the kallsyms thread) the agent "
       "names the fixture's handler in a finding made after it kept only CAP_BPF",
       (text("soak-caps.txt"), sn[:1], text("soak-fix.out")[-300:]))
else:
    ok(False, "soak ran in the guest", text("soak-agent.log")[-800:])
done()
