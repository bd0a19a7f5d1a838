#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Kernel symbols asked of the kernel per address (src/kaddr.c: a BPF syscall program's
bpf_snprintf("%pS")) against /proc/kallsyms itself: every handler and vm_ops a report names,
with --show-kernel-addresses, is a symbol /proc/kallsyms has at that address minus the offset
printed; and the report names the same handlers as with the whole table read
(PFNSCOPE_KSYMS=table), for the same workload."""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, run, load_json, done, PFNSCOPE, WORKLOADS  # noqa

tmp = tempfile.mkdtemp(prefix="pfnscope-ksyms-")
# file and anonymous VMAs, the vDSO's special mappings, a perf ring, io_uring's rings, shmem
SHM = ("import mmap, os; f = os.open('/dev/shm/pfnscope-ksyms', os.O_CREAT | os.O_RDWR); "
       "os.unlink('/dev/shm/pfnscope-ksyms'); os.ftruncate(f, 1 << 20); "
       "m = mmap.mmap(f, 1 << 20); m[0:8192] = bytes(8192)")
WORK = "%s 4 1 && %s && %s -c \"%s\"" % (os.path.join(WORKLOADS, "faultstorm"),
                                        os.path.join(WORKLOADS, "ringmaps"), sys.executable, SHM)
FIELDS = ("vm_ops", "fault_handler", "mmap_handler")
# "name", "name+0x10", "name [module]", each with " @0xADDR"
SYM = re.compile(r"^(?P<name>[^ +]+)(?:\+0x(?P<off>[0-9a-f]+))?(?: \[(?P<mod>[^\]]+)\])? "
                 r"@0x(?P<addr>[0-9a-f]+)$")


def kallsyms():
    """(address, name) -> module ('' for vmlinux), from /proc/kallsyms"""
    syms = {}
    for line in open("/proc/kallsyms"):
        f = line.split()
        if len(f) >= 3:
            syms[(int(f[0], 16), f[2])] = f[3].strip("[]") if len(f) > 3 else ""
    return syms


p = run([PFNSCOPE, "probe"])
ok(re.search(r"^kernel symbols: asked of the kernel per address", p.stdout, re.M) is not None,
   "probe: kernel symbols are asked of the kernel here", p.stdout[:600])
p = run([PFNSCOPE, "probe"], env=dict(os.environ, PFNSCOPE_KSYMS="table"))
ok(re.search(r"^kernel symbols: /proc/kallsyms, read whole \(PFNSCOPE_KSYMS=table\)",
             p.stdout, re.M) is not None, "probe: PFNSCOPE_KSYMS=table is said", p.stdout[:600])

docs = {}
for mode in ("kernel", "table"):
    out = os.path.join(tmp, mode + ".json")
    env = dict(os.environ, PFNSCOPE_KSYMS=mode)
    p = run([PFNSCOPE, "check", "--show-kernel-addresses", "--json", out, "--", "sh", "-c",
             WORK], env=env)
    ok(p.returncode == 0, "%s: check exits 0" % mode, p.stderr[-2000:])
    docs[mode] = load_json(out) if p.returncode == 0 else None

truth = kallsyms()
d = docs["kernel"]
if d:
    named, wrong = set(), []
    for v in d["vmas"]:
        for fld in FIELDS:
            val = v.get(fld) or "-"
            if val == "-" or val.startswith("?"):
                continue
            m = SYM.match(val)
            if not m:
                wrong.append((fld, val, "unparsed"))
                continue
            start = int(m["addr"], 16) - int(m["off"] or "0", 16)
            mod = truth.get((start, m["name"]))
            if mod is None or mod != (m["mod"] or ""):
                wrong.append((fld, val, "kallsyms: %s" % mod))
            named.add(m["name"])
    ok(not wrong, "every symbol named (%d distinct) is /proc/kallsyms's at its address" %
       len(named), wrong[:10])
    # the workload's handlers are among them: the test has something to check
    want = {"filemap_fault", "special_mapping_fault", "shmem_fault"}
    ok(want <= named, "the workload's handlers are named (%s)" % ", ".join(sorted(want)),
       sorted(named))


def handlers(doc):
    """the distinct (vm_ops, fault, mmap, module) of the workload's VMAs, addresses dropped
    (not those of the child before its exec: whether a report has them is a race)"""
    strip = re.compile(r" @0x[0-9a-f]+$")
    return {tuple(strip.sub("", str(v.get(f))) for f in FIELDS + ("module",))
            for v in doc["vmas"] if v["comm"] != "pfnscope"}


if docs["kernel"] and docs["table"]:
    a, b = handlers(docs["kernel"]), handlers(docs["table"])
    ok(a == b, "the kernel's answers name the same handlers as the whole table (%d kinds)" %
       len(a), "kernel only: %s\ntable only: %s" % (sorted(a - b), sorted(b - a)))
done()
