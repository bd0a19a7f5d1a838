#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The CO-RE cache (src/corebtf.c, --btf-cache) on the running kernel: the first session makes
it, named by the kernel's GNU build ID (read here from /sys/kernel/notes on our own) and the
build; the next one loads its programs against it and counts what the kernel counts
(/proc/PID/stat of the zombie); a corrupt one is rejected, removed and remembered, the programs
then load against the kernel's BTF; one in a directory others may write is not used; other
kernels' files go when a new one is made."""
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, skip, run, load_json, procs_by_comm, vmas_of, done, PFNSCOPE, WORKLOADS  # noqa

PAGES = 3 * 8 * 256	# faultstorm 8 3: three rounds over 8 MiB of 4 KiB pages
tmp = tempfile.mkdtemp(prefix="pfnscope-corebtf-")
cache = os.path.join(tmp, "cache")	# made by pfnscope itself
storm = os.path.join(WORKLOADS, "faultstorm")


def build_id():
    """The GNU build ID note of /sys/kernel/notes, as hex."""
    data = open("/sys/kernel/notes", "rb").read()
    off = 0
    while off + 12 <= len(data):
        namesz, descsz, typ = struct.unpack_from("<III", data, off)
        name = data[off + 12:off + 12 + namesz]
        desc_off = off + 12 + ((namesz + 3) & ~3)
        if typ == 3 and name == b"GNU\0":
            return data[desc_off:desc_off + descsz].hex()
        off = desc_off + ((descsz + 3) & ~3)
    return None


def probe_status(*opts):
    p = run([PFNSCOPE, "probe", *opts])
    m = re.search(r"^kernel types for CO-RE: (.*)$", p.stdout, re.M)
    return m.group(1) if m else "(no line) " + p.stdout + p.stderr


def check(name, *opts):
    """pfnscope check -v OPTS -- faultstorm 8 3: (process, stderr), each checked against the
    kernel's own counters."""
    out = os.path.join(tmp, name + ".json")
    p = run([PFNSCOPE, "check", "-v", *opts, "--json", out, "--", storm, "8", "3"])
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


bid = build_id()
tool = shutil.which("bpftool") or next((p for p in ("/usr/sbin/bpftool", "/sbin/bpftool")
                                        if os.access(p, os.X_OK)), None)
if not bid or not tool:
    skip("the CO-RE cache", "no build ID in /sys/kernel/notes" if not bid else "no bpftool")
    done()

ok("not made yet" in probe_status("--btf-cache=" + cache),
   "probe: no cache before the first session", probe_status("--btf-cache=" + cache))

# the first session makes it once attached (it waits for bpftool before it exits)
first, err = check("first", "--btf-cache=" + cache)
m = re.search(r"CO-RE cache made: (\S+) \((\d+) types\)", err)
ok(m, "first: says it made the cache", err[-1500:])
path = m.group(1) if m else ""
ok(re.fullmatch(re.escape(cache) + r"/core-%s-[0-9a-f]{8}\.btf" % bid, path),
   "the file is named by the kernel's build ID from /sys/kernel/notes (%s)" % bid, path)
ok("CO-RE relocations against" not in err, "first: the programs loaded against the kernel's BTF")
if not path or not os.path.exists(path):
    done()
st, dst = os.stat(path), os.stat(cache)
ok(st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o644 and
   not dst.st_mode & (stat.S_IWGRP | stat.S_IWOTH),
   "the file is root's, 0644, in a directory only root writes", (oct(st.st_mode), oct(dst.st_mode)))
raw = open(path, "rb").read()
ok(raw[:2] == b"\x9f\xeb" and len(raw) < 64 << 10 and 10 < int(m.group(2)) < 5000,
   "it is a small BTF (magic 0xeb9f, %d bytes, %s types)" % (len(raw), m.group(2)))
ok(probe_status("--btf-cache=" + cache) == "cached in " + path, "probe: names the cache")
ok(not [f for f in os.listdir(cache) if f.startswith(".gen-")], "no temporary left behind",
   os.listdir(cache))

# the next session uses it, with the same hooks and counts the kernel agrees with
mtime = st.st_mtime_ns
second, err = check("second", "--btf-cache=" + cache)
ok("CO-RE relocations against the cached kernel types in " + path in err and
   "cache made" not in err, "second: loads against the cache and makes none", err[-1500:])
ok(first and second and first["hooks"] == second["hooks"],
   "second: every hook has the status it had without the cache",
   (first or {}).get("hooks"), )
off, err = check("off", "--btf-cache=off")
ok("CO-RE" not in err and os.stat(path).st_mtime_ns == mtime,
   "--btf-cache=off: neither reads nor writes the cache", err[-1500:])
ok(probe_status("--btf-cache=off") == "off (--btf-cache=off)", "probe: says it is off")

# the strongest check: the programs loaded against the cache are, instruction for instruction
# as the kernel holds them (bpftool prog dump xlated), the ones loaded against the kernel's BTF.
# trace loads the most of them (fault, zap and rss objects).
def xlated_programs(*opts):
    def ids():
        p = run(["bpftool", "prog", "show", "--json"])
        return {x["id"]: x.get("name", "") for x in json.loads(p.stdout or "[]")}
    before = ids()
    p = subprocess.Popen([PFNSCOPE, "trace", *opts], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
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


cached, plain = xlated_programs("--btf-cache=" + cache), xlated_programs("--btf-cache=off")
differ = sorted(n for n in set(cached) | set(plain) if cached.get(n) != plain.get(n))
ok(len(plain) >= 5 and not differ, "the %d programs trace loads are the same instructions "
   "against the cache as against the kernel's BTF" % len(plain), differ)

# a directory others may write: not trusted, not used, not written
os.chmod(cache, 0o777)
ok(probe_status("--btf-cache=" + cache).startswith("ignored:"), "probe: an open directory is "
   "ignored", probe_status("--btf-cache=" + cache))
loose, err = check("open-dir", "--btf-cache=" + cache)
ok("CO-RE relocations against" not in err and "cache made" not in err and
   sorted(os.listdir(cache)) == [os.path.basename(path)],
   "open-dir: the cache is neither used nor written", err[-1500:])
os.chmod(cache, 0o755)

# a corrupt file: the load fails against it, is retried against the kernel's BTF, and the
# file is removed and remembered as bad for this kernel and build
with open(path, "wb") as f:
    f.write(b"\x9f\xeb\x01\x00" + os.urandom(200))
bad, err = check("corrupt", "--btf-cache=" + cache)
ok("did not load with " + path in err, "corrupt: says the objects did not load with it",
   err[-1500:])
ok(not os.path.exists(path) and os.path.exists(path + ".bad"),
   "corrupt: the file is removed and marked bad", os.listdir(cache))
ok("warning" not in err.lower() or "cannot load" not in err, "corrupt: no load warning left",
   err[-1500:])
ok(probe_status("--btf-cache=" + cache).startswith("not used:"), "probe: says why it is not used",
   probe_status("--btf-cache=" + cache))
again, err = check("after-bad", "--btf-cache=" + cache)
ok("cache made" not in err and not os.path.exists(path),
   "after-bad: no new cache for this kernel and build", err[-1500:])

# a new one replaces the files of other kernels and builds
os.unlink(path + ".bad")
stale = os.path.join(cache, "core-%s-00000000.btf" % ("0" * 40))
open(stale, "wb").write(raw[:24])
remade, err = check("remade", "--btf-cache=" + cache)
ok(os.path.exists(path) and not os.path.exists(stale),
   "remade: the cache is made again and another build's file removed", os.listdir(cache))

p = run([PFNSCOPE, "probe", "--btf-cache=relative/dir"])
ok(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "--btf-cache" in p.stderr,
   "a relative --btf-cache is a one-line usage error, exit 2", p.stderr)

shutil.rmtree(tmp)
done()
