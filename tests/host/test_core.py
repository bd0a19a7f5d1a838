#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""CO-RE against the kernel types cut out of its BTF in memory (src/coremin.c, src/corebtf.c)
on the running kernel: probe says what was cut; the sessions relocated against it count what
the kernel counts (/proc/PID/stat of the zombie), with the hooks they have against the whole
BTF (PFNSCOPE_CORE=kernel); the programs the kernel holds are the same instructions either way,
and the same as against bpftool's BTFgen cut of the same objects (PFNSCOPE_CORE=PATH); a BTF
that does not load is left for the whole BTF with a warning; nothing is written to disk."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, skip, run, load_json, procs_by_comm, vmas_of, done, PFNSCOPE, WORKLOADS  # noqa

PAGES = 3 * 8 * 256	# faultstorm 8 3: three rounds over 8 MiB of 4 KiB pages
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
tmp = tempfile.mkdtemp(prefix="pfnscope-core-")
storm = os.path.join(WORKLOADS, "faultstorm")
WHOLE = dict(os.environ, PFNSCOPE_CORE="kernel")


def probe_status(env=None):
    p = run([PFNSCOPE, "probe"], env=env)
    m = re.search(r"^kernel types for CO-RE: (.*)$", p.stdout, re.M)
    return m.group(1) if m else "(no line) " + p.stdout + p.stderr


def check(name, env=None):
    """pfnscope check -v -- faultstorm 8 3: (process, stderr), each checked against the
    kernel's own counters."""
    out = os.path.join(tmp, name + ".json")
    p = run([PFNSCOPE, "check", "-v", "--json", out, "--", storm, "8", "3"], env=env)
    ok(p.returncode == 0, "%s: check exits 0" % name, p.stderr[-2000:])
    if p.returncode:
        return None, p.stderr
    doc = load_json(out)
    pr = procs_by_comm(doc, "faultstorm")
    if not ok(len(pr) == 1, "%s: the workload is reported" % name, doc["processes"]):
        return None, p.stderr
    pr = pr[0]
    loop = int(p.stdout.split("in_loop_faults=")[1].split()[0])
    got = sum(v["faults"] for v in vmas_of(doc, pr["pid"])
              if v["kind"] == "anon" and v["size"] == 8 << 20)
    ok(PAGES <= got <= loop, "%s: the 8 MiB VMAs counted every page touched (%d), no more than "
       "the kernel counted over the loop (%d)" % (name, PAGES, loop), got)
    kernel = pr["stat_minflt"] + pr["stat_majflt"]
    ok(0 <= kernel - pr["faults"] < 64,
       "%s: the process's faults are /proc/PID/stat's minflt+majflt (less GUP faults a "
       "tracepoint cannot see)" % name, pr)
    ok(pr["faults_in_vmas"] == pr["faults"], "%s: every fault is in a VMA" % name, pr)
    pr["hooks"] = {h["hook"]: h["status"] for h in doc["pfnscope"]["plan"]}
    return pr, p.stderr


st = probe_status()
m = re.fullmatch(r"(\d+) kernel types cut out of its BTF in memory for (\d+) relocation roots "
                 r"\(([0-9.]+) ms\)", st)
ok(m and 100 < int(m.group(1)) < 20000 and 5 < int(m.group(2)) < 256,
   "probe: says how many kernel types were cut out for how many relocation roots", st)
ok(probe_status(WHOLE) == "the kernel's whole BTF (PFNSCOPE_CORE=kernel)",
   "probe: PFNSCOPE_CORE=kernel is the whole BTF")
p = run([PFNSCOPE, "probe"], env=dict(os.environ, PFNSCOPE_CORE="relative.btf"))
ok(p.returncode == 0 and "PFNSCOPE_CORE=relative.btf is neither 'kernel' nor an absolute path"
   in p.stderr and "cut out of its BTF" in p.stdout,
   "probe: a PFNSCOPE_CORE that is neither 'kernel' nor a path is named and ignored", p.stderr)
cache = "/var/cache/pfnscope"
before = sorted(os.listdir(cache)) if os.path.isdir(cache) else None

cut, err = check("cut")
ok(re.search(r"CO-RE relocations against \d+ kernel types cut out for \d+ roots", err),
   "cut: the programs loaded against the types cut out (-v says so)", err[-1500:])
whole, err = check("whole", WHOLE)
ok("CO-RE relocations against" not in err, "whole: the programs loaded against the whole BTF",
   err[-1500:])
ok(cut and whole and cut["hooks"] == whole["hooks"],
   "every hook has the status against the cut that it has against the whole BTF",
   (cut or {}).get("hooks"))
ok((sorted(os.listdir(cache)) if os.path.isdir(cache) else None) == before,
   "nothing is written to %s (no cache any more)" % cache)


# the strongest check: the programs as the kernel holds them (bpftool prog dump xlated) are,
# instruction for instruction, the ones loaded against the whole kernel BTF. trace loads the
# most of them (fault, zap and rss objects).
def xlated_programs(env=None):
    def ids():
        p = run(["bpftool", "prog", "show", "--json"])
        return {x["id"]: x.get("name", "") for x in json.loads(p.stdout or "[]")}
    before = ids()
    p = subprocess.Popen([PFNSCOPE, "trace"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=env)
    for line in p.stderr:
        if "tracing" in line:
            break
    progs = {}
    for i, name in ids().items():
        if i not in before:
            x = run(["bpftool", "prog", "dump", "xlated", "id", str(i)]).stdout
            x = re.sub(r"map\[id:\d+\]", "map", x)	# ids differ between the two loads
            progs[name] = re.sub(r"0x[0-9a-f]{12,}", "ADDR", x)
    p.send_signal(signal.SIGINT)
    p.communicate()
    return progs


tool = shutil.which("bpftool") or next((p for p in ("/usr/sbin/bpftool", "/sbin/bpftool")
                                        if os.access(p, os.X_OK)), None)
if not tool:
    skip("the programs' instructions", "no bpftool")
    done()
plain, mine = xlated_programs(WHOLE), xlated_programs()
differ = sorted(n for n in set(mine) | set(plain) if mine.get(n) != plain.get(n))
ok(len(plain) >= 5 and not differ, "the %d programs trace loads are the same instructions "
   "against the types cut out as against the whole kernel BTF" % len(plain), differ)

# against bpftool's BTFgen of the same four objects (only the members their relocations
# resolve to): the same instructions again
objs = [os.path.join(ROOT, "build", "bpf", o + ".bpf.o") for o in ("fault", "zap", "rss", "gup")]
gen = os.path.join(tmp, "btfgen.btf")
p = run([tool, "gen", "min_core_btf", "/sys/kernel/btf/vmlinux", gen] + objs)
ok(p.returncode == 0 and os.path.getsize(gen) > 100, "bpftool gen min_core_btf of the objects",
   p.stderr[-800:])
env = dict(os.environ, PFNSCOPE_CORE=gen)
ok(probe_status(env) == gen + " (PFNSCOPE_CORE)", "probe: PFNSCOPE_CORE=PATH names the file")
btfgen = xlated_programs(env)
differ = sorted(n for n in set(btfgen) | set(plain) if btfgen.get(n) != plain.get(n))
ok(len(btfgen) >= 5 and not differ, "and the same against BTFgen's cut", differ)

# a BTF that does not load: the objects load again against the whole BTF, with a warning
bad = os.path.join(tmp, "corrupt.btf")
with open(bad, "wb") as f:
    f.write(b"\x9f\xeb\x01\x00" + os.urandom(200))
got, err = check("corrupt", dict(os.environ, PFNSCOPE_CORE=bad))
ok("did not load against " + bad in err and got and got["hooks"] == whole["hooks"],
   "a corrupt PFNSCOPE_CORE file: a warning, then every hook as against the whole BTF",
   err[-1500:])

shutil.rmtree(tmp)
done()
