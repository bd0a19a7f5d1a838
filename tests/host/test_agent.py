#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pfnscope agent on the host kernel: Prometheus (Debian's) scrapes it over loopback and its
values equal what a workload did; 10,000 short-lived processes and a fault storm leave its RSS
flat and its maps bounded; a restart keeps the counters; a stop leaves no link, map or pin."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, skip, run, has_kernel_address, done, PFNSCOPE, WORKLOADS  # noqa: E402

STATE = "/sys/fs/bpf/pfnscope"
tmp = tempfile.mkdtemp(prefix="pfnscope-agent-")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


APORT, PPORT = free_port(), free_port()
AGENT_URL = "http://127.0.0.1:%d/metrics" % APORT


def metrics():
    with urllib.request.urlopen(AGENT_URL, timeout=5) as r:
        return r.read().decode()


def metric(text, name, **labels):
    """Sum of the samples of @name whose labels include @labels."""
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, val = line.rsplit(" ", 1)
        if head.split("{")[0] != name:
            continue
        if all('%s="%s"' % kv in head for kv in labels.items()):
            total += float(val)
            found = True
    return total if found else None


def bpf_objects():
    links = run(["bpftool", "link", "show", "-j"]).stdout or "[]"
    maps = run(["bpftool", "map", "show", "-j"]).stdout or "[]"
    ours = {"vmas", "procs", "pfn_hits", "mms", "rss_mm", "counters", "ledger", "traced"}
    return len(json.loads(links)), sum(1 for m in json.loads(maps) if m.get("name") in ours)


def start_agent(*extra):
    log = open(os.path.join(tmp, "agent.log"), "a")
    p = subprocess.Popen([PFNSCOPE, "agent", "--listen", "127.0.0.1:%d" % APORT, "-i", "0.5"] +
                         list(extra), stdout=log, stderr=log)
    for _ in range(100):
        try:
            if "pfnscope_page_faults_total" in metrics():
                return p
        except OSError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.1)
    return p


def wait_exit(p, t=15):
    try:
        return p.wait(t)
    except subprocess.TimeoutExpired:
        p.kill()
        return None


run([PFNSCOPE, "agent", "--stop"])          # leftovers of an earlier run
links0, maps0 = bpf_objects()

# bad input first: nothing may be left behind
p = run([PFNSCOPE, "agent", "--listen", "0.0.0.0:%d" % APORT])
ok(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "allow-remote" in p.stderr,
   "a non-loopback --listen without --allow-remote: exit 2, one line", p.stderr)
p = run([PFNSCOPE, "agent", "--listen", "nonsense"])
ok(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, "a malformed --listen: exit 2",
   p.stderr)
taken = socket.socket()
taken.bind(("127.0.0.1", APORT))
taken.listen(1)
p = run([PFNSCOPE, "agent", "--listen", "127.0.0.1:%d" % APORT])
taken.close()
ok(p.returncode == 3 and "cannot listen" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
   "--listen on a taken port: exit 3, one line", p.stderr)
p = run([PFNSCOPE, "agent", "--listen", "127.0.0.1:%d" % APORT, "--state-dir", tmp + "/state"])
ok(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "bpffs" in p.stderr,
   "--state-dir off bpffs: exit 2, one line", p.stderr)
ok(not os.path.exists(STATE), "nothing pinned after a failed start")
p = run([PFNSCOPE, "snapshot"])
ok(p.returncode == 3 and "no agent state" in p.stderr, "snapshot without an agent: exit 3, says why",
   p.stderr)
# the state of another build: a VMA cache whose entries are not this build's 128 bytes
other = "/sys/fs/bpf/pfnscope-test-other"
shutil.rmtree(other, ignore_errors=True)
os.makedirs(other)
for name, kind, key, val in (("vmas", "hash", 24, 256), ("vma_cache", "array", 4, 80)):
    run(["bpftool", "map", "create", "%s/%s" % (other, name), "type", kind, "key", str(key),
         "value", str(val), "entries", "4", "name", name])
p = run([PFNSCOPE, "snapshot", "--state-dir", other])
ok(p.returncode == 3 and len(p.stderr.strip().splitlines()) == 1 and
   "another pfnscope build" in p.stderr and "root" not in p.stderr,
   "snapshot of another build's state: exit 3, one line that says so", p.stderr)
shutil.rmtree(other, ignore_errors=True)

# Prometheus scraping the agent
agent = start_agent("--findings", os.path.join(tmp, "findings.ndjson"))
ok(agent.poll() is None, "agent serves /metrics on loopback", open(os.path.join(tmp, "agent.log")).read())
maps = open("/proc/%d/maps" % agent.pid).read() if agent.poll() is None else ""
ok("libmicrohttpd" in maps, "the agent loaded libmicrohttpd to serve (src/httpd.c dlopen)",
   maps[-400:])
caps = {}
if agent.poll() is None:
    for line in open("/proc/%d/status" % agent.pid):
        if line.startswith("Cap"):
            k, v = line.split(":")
            caps[k] = int(v, 16)
# CAP_BPF (39) alone: the symbol program runs with it, and nothing reads /proc/kallsyms later
ok(caps.get("CapEff") == 1 << 39 and caps.get("CapPrm") == 1 << 39 and
   caps.get("CapBnd") == 1 << 39, "the agent keeps only CAP_BPF once serving", str(caps))
p = run([PFNSCOPE, "agent", "--listen", "127.0.0.1:%d" % free_port()])
ok(p.returncode == 3 and "already running" in p.stderr, "a second agent: exit 3", p.stderr)
conf = os.path.join(tmp, "prometheus.yml")
with open(conf, "w") as f:
    f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pfnscope\n"
            "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % APORT)
prom = subprocess.Popen(["prometheus", "--config.file=" + conf, "--storage.tsdb.path=" +
                         os.path.join(tmp, "tsdb"), "--web.listen-address=127.0.0.1:%d" % PPORT],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def prom_query(q):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (PPORT, urllib.parse.quote(q))
    with urllib.request.urlopen(url, timeout=5) as r:
        res = json.load(r)["data"]["result"]
    return float(res[0]["value"][1]) if res else None


storm = os.path.join(tmp, "pfnagentstorm")   # a comm no other process has
shutil.copy(os.path.join(WORKLOADS, "faultstorm"), storm)
total0 = metric(metrics(), "pfnscope_page_faults_total")
w = run([storm, "16", "4"])
kernel = int(w.stdout.split("minflt=")[1].split()[0]) + int(w.stdout.split("majflt=")[1].split()[0])
got = None
for _ in range(40):
    time.sleep(0.5)
    try:
        got = prom_query('pfnscope_page_faults_by_comm_total{comm="pfnagentstorm"}')
    except OSError:
        got = None
    if got:
        time.sleep(2)     # one more scrape after the process was folded into the ledger
        got = prom_query('pfnscope_page_faults_by_comm_total{comm="pfnagentstorm"}')
        break
ok(got is not None, "Prometheus scraped pfnscope_page_faults_by_comm_total for the workload")
if got is not None:
    # the tracepoint misses the few GUP faults of execve's argument copy (see test_check)
    ok(16 * 4 * 256 <= got <= kernel and kernel - got < 64,
       "scraped faults of the workload (%d) = its minflt+majflt (%d) less execve's GUP faults"
       % (got, kernel))
direct = metric(metrics(), "pfnscope_page_faults_by_comm_total", comm="pfnagentstorm")
ok(got is not None and direct == got, "Prometheus holds what /metrics serves (%s)" % direct)
# the total is the counters map plus every CPU's VMA-cache hits (include/vma.h): the storm's
# faults are nearly all hits, so a total without them would move by a few faults, not 16,384
total1 = metric(metrics(), "pfnscope_page_faults_total")
ok(total0 is not None and total1 is not None and total1 - total0 >= kernel - 64,
   "pfnscope_page_faults_total moved by the workload's faults at least (%s -> %s, workload %d)"
   % (total0, total1, kernel))
ok(prom_query('pfnscope_hook_attached{hook="fault-count"}') == 1,
   "Prometheus: the fault-count hook is attached")
text = metrics()
ok(not has_kernel_address(text) and "pid=" not in text, "no kernel address, no pid label")
series = [x for x in text.splitlines() if x and not x.startswith("#")]
ok(len(series) < 200, "bounded label cardinality: %d series" % len(series))
p = run([PFNSCOPE, "snapshot", "-n", "3"])
ok(p.returncode == 0 and "read-only" in p.stdout and "not disturbed" in p.stdout,
   "snapshot reads the running agent's state and says so", p.stdout + p.stderr)
p = run([PFNSCOPE, "snapshot", "--json"])
ok(p.returncode == 0 and json.loads(p.stdout)["pfnscope"]["command"] == "snapshot",
   "snapshot --json is the JSON document", p.stderr)

# snapshot: a live process's mm counters, from the agent's pinned rss iterator, equal
# /proc/PID/status while it keeps still (rsswork and its copy-on-write child)
rw = subprocess.Popen([os.path.join(WORKLOADS, "rsswork"), "--file", os.path.join(tmp, "rss.file"),
                       "--shm", "/dev/shm/pfnscope-agent-test.shm", "--quiet-ms", "8000"],
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
status, lines = {}, []
while len(status) < 2:
    line = rw.stdout.readline()
    if not line:
        break
    lines.append(line)
    if " status " in line:	# rsswork: pid P status RssAnon=A RssFile=F RssShmem=S
        w = line.split()
        status[int(w[2])] = [int(x.split("=")[1]) for x in w[4:7]]
p = run([PFNSCOPE, "snapshot", "--json"])
procs = {q["pid"]: q for q in json.loads(p.stdout)["processes"]} if p.returncode == 0 else {}
got = {pid: [procs.get(pid, {}).get("rss_stat", {}).get(k, -1) * 4
             for k in ("anon", "file", "shmem")] for pid in status}
ok(len(status) == 2 and got == status and
   not any("rss_stat_peak" in procs.get(pid, {}) for pid in status),
   "snapshot of the agent: each live process's RSS (anon, file, shmem) equals its "
   "/proc/PID/status, read through the pinned rss iterator (no peak claimed)",
   (status, got, "".join(lines)[-600:]))
for pid in list(status) + [rw.pid]:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
rw.wait()

# 10,000 short-lived processes in 5 batches, then a fault storm: after the first batch (the
# warm-up: malloc arenas, the HTTP thread) the agent's RSS stays flat; maps stay bounded
rss, t0 = [], time.time()
for batch in range(5):
    subprocess.run(["sh", "-c", "i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done"])
    time.sleep(0.6)
    rss.append(metric(metrics(), "pfnscope_agent_resident_memory_bytes"))
forks = time.time() - t0
subprocess.run([storm, "64", "20"], stdout=subprocess.DEVNULL)
time.sleep(1.5)
text = metrics()
rss.append(metric(text, "pfnscope_agent_resident_memory_bytes"))
peak = metric(text, "pfnscope_agent_peak_resident_memory_bytes")
procs = metric(text, "pfnscope_processes_tracked")
vmas = metric(text, "pfnscope_vmas_tracked")
evicted = metric(text, "pfnscope_map_evictions_total")
dropped = metric(text, "pfnscope_dropped_events_total")
why = [l.split("{", 1)[1] for l in text.splitlines()
       if l.startswith("pfnscope_dropped_events_total{") and not l.endswith(" 0")]
print("# 10000 processes in %.1f s; agent RSS after each 2000 and after the storm: %s MiB, "
      "peak %.1f MiB; %d processes, %d VMAs tracked; %d evicted, %d dropped %s" %
      (forks, " ".join("%.1f" % (x / 2**20) for x in rss), peak / 2**20, procs, vmas, evicted,
       dropped, why))
ok(max(rss[1:]) - min(rss[1:]) < 2 * 2**20,
   "agent RSS flat after warm-up through 10,000 processes and a storm (within 2 MiB)")
ok(peak < 32 * 2**20, "agent peak RSS under 32 MiB (%.1f MiB)" % (peak / 2**20))
ok(procs < 2000, "exited processes are folded and deleted: %d rows left" % procs)
ok(metric(text, "pfnscope_page_faults_by_comm_total", comm="true") >= 10000,
   "the 10,000 processes' faults are all counted (by comm 'true')")

# restart keeps the counters
text = metrics()
before = metric(text, "pfnscope_page_faults_by_comm_total", comm="pfnagentstorm")
total_before = metric(text, "pfnscope_page_faults_total")
p = run([PFNSCOPE, "agent", "--stop", "--keep-state"])
ok(p.returncode == 0 and wait_exit(agent) == 0, "agent --stop --keep-state stops it (exit 0)",
   p.stdout + p.stderr)
ok(os.path.isdir(STATE) and os.path.exists(STATE + "/vmas"), "its state stays pinned")
agent = start_agent()
text = metrics()
ok(metric(text, "pfnscope_agent_state_reused") == 1, "the new agent continues the pinned state")
after = metric(text, "pfnscope_page_faults_by_comm_total", comm="pfnagentstorm")
ok(after is not None and after == before, "counters survive the restart (%s == %s)" % (after, before))
total_after = metric(text, "pfnscope_page_faults_total")
ok(total_before is not None and total_after is not None and total_after >= total_before,
   "so does the fault total, the VMA caches' hits included (%s -> %s)" % (total_before, total_after))

# RSS: the gauge is the kernel's mm counters read each interval by rss-iter, with no
# kmem:rss_stat program on the fault path. A holder maps 16,384 private anonymous pages and
# 8,192 shared anonymous (shmem) pages and keeps still; the gauge moves by what the holder's
# /proc/PID/status moved (other processes' noise: < 512 pages either way on this machine).
text = metrics()
ok(metric(text, "pfnscope_hook_attached", hook="rss") == 0 and
   metric(text, "pfnscope_hook_attached", hook="rss-iter") == 1,
   "agent: rss-iter attached, no kmem:rss_stat program")
progs = json.loads(run(["bpftool", "prog", "show", "-j"]).stdout or "[]")
ok(not any(pr.get("name", "").startswith("rss_tp") for pr in progs),
   "agent: no rss_stat program loaded in the kernel (one program per fault)")
HOLDER = r"""
import mmap, sys
def status():
    d = {}
    for l in open("/proc/self/status"):
        k, _, v = l.partition(":")
        if k in ("RssAnon", "RssShmem"):
            d[k] = int(v.split()[0]) // 4
    return d
print(status(), flush=True)
sys.stdin.readline()
a = mmap.mmap(-1, 16384 * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
s = mmap.mmap(-1, 8192 * 4096, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
for i in range(0, 16384 * 4096, 4096):
    a[i] = 1
for i in range(0, 8192 * 4096, 4096):
    s[i] = 1
print(status(), flush=True)
sys.stdin.readline()
"""


def gauge_after_tick():
    time.sleep(1.2)     # two 0.5 s intervals: a tick that started after the change
    t = metrics()
    return {m: metric(t, "pfnscope_rss_pages", member=m) for m in ("anon", "shmem")}


holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
st0 = eval(holder.stdout.readline())
g0 = gauge_after_tick()
holder.stdin.write("\n")
holder.stdin.flush()
st1 = eval(holder.stdout.readline())
g1 = gauge_after_tick()
holder.stdin.write("\n")
holder.stdin.flush()
holder.wait()
for key, m in (("RssAnon", "anon"), ("RssShmem", "shmem")):
    want = st1[key] - st0[key]
    got = (g1[m] - g0[m]) if g0[m] is not None and g1[m] is not None else None
    ok(got is not None and abs(got - want) < 512,
       "pfnscope_rss_pages{member=%s} moved %s pages, the holder's %s %d" % (m, got, key, want))

# SIGHUP reloads the policy
pol = os.path.join(tmp, "policy")
with open(pol, "w") as f:
    f.write("NONRAM_PAGE module=nosuch warning a test entry\n")
agent.send_signal(signal.SIGHUP)
time.sleep(1)
ok("policy reloaded" in open(os.path.join(tmp, "agent.log")).read(), "SIGHUP reloads the policy")

# 100k VMAs tracked: 4 processes x 30,000 touched one-page VMAs (vm.max_map_count allows 65530
# VMAs per process), in a table sized for them; the agent's peak RSS stays under 32 MiB
p = run([PFNSCOPE, "agent", "--stop"])
wait_exit(agent)
agent = start_agent("--max-vmas", "262144")
holders = [subprocess.Popen([os.path.join(WORKLOADS, "manyvmas"), "60000", "20"],
                            stdout=subprocess.PIPE, text=True) for _ in range(4)]
ready = [h.stdout.readline() for h in holders]
time.sleep(2)
text = metrics()
vmas = metric(text, "pfnscope_vmas_tracked")
peak = metric(text, "pfnscope_agent_peak_resident_memory_bytes")
print("# %s; VMA rows tracked %d, agent peak RSS %.1f MiB, tick %.3f s" %
      (" ".join(x.split(" vmas ")[1].split()[0] for x in ready if " vmas " in x), vmas,
       peak / 2**20, metric(text, "pfnscope_agent_tick_seconds")))
ok(vmas >= 120000, "120,000 touched VMAs are tracked (%d rows)" % vmas)
ok(peak < 32 * 2**20, "agent peak RSS with %d VMAs tracked: %.1f MiB < 32 MiB" %
   (vmas, peak / 2**20))
for h in holders:
    h.kill()
    h.wait()

# a table too small: 4,096 rows. Once a tick finds it 7/8 full the agent evicts idle rows, oldest
# first, down to 3/4 (src/vmaevict.h). Ten processes of 500 touched one-page VMAs, started a few
# ticks apart and kept alive: every row goes in (no insert refused), the old idle rows make room,
# and every VMA made is either in the table or counted as evicted.
p = run([PFNSCOPE, "agent", "--stop"])
wait_exit(agent)
agent = start_agent("--max-vmas", "4096")
text = metrics()
base_ev = metric(text, "pfnscope_map_evictions_total", map="vmas")
base_drop = metric(text, "pfnscope_dropped_events_total", reason="vma_map_full")
base_rows = metric(text, "pfnscope_map_entries", map="vmas")
waves, made = [], 0


def after_ticks(n):
    t, deadline = metric(metrics(), "pfnscope_agent_ticks_total"), time.time() + 30
    while metric(metrics(), "pfnscope_agent_ticks_total") < t + n and time.time() < deadline:
        time.sleep(0.1)
    return metrics()


for _ in range(10):
    h = subprocess.Popen([os.path.join(WORKLOADS, "manyvmas"), "1000", "120"],
                         stdout=subprocess.PIPE, text=True)
    made += int((h.stdout.readline().split(" vmas ") + ["0"])[1].split()[0])
    waves.append(h)
    after_ticks(2)
text = after_ticks(2)
evicted = metric(text, "pfnscope_map_evictions_total", map="vmas") - base_ev
dropped = metric(text, "pfnscope_dropped_events_total", reason="vma_map_full") - base_drop
rows = metric(text, "pfnscope_map_entries", map="vmas")
ok(base_ev == 0 and made == 5000 and dropped == 0 and rows <= 4096 and
   made - rows <= evicted <= made + base_rows + 500,
   "a 4,096-row VMA table under 10 x 500 VMAs made over ticks: %d evicted, %d rows now, "
   "0 inserts refused (%d)" % (evicted, rows, dropped), (base_ev, made, evicted, rows, dropped))

# a burst of 10,000 VMAs between ticks: what finds no room is refused and counted, one
# vma_map_full drop per VMA's fault (each VMA is touched once); each tick meanwhile frees at
# most a quarter of the table
t0 = metric(metrics(), "pfnscope_agent_ticks_total")
h = subprocess.Popen([os.path.join(WORKLOADS, "manyvmas"), "20000", "120"], stdout=subprocess.PIPE,
                     text=True)
burst = int((h.stdout.readline().split(" vmas ") + ["0"])[1].split()[0])
t1 = metric(metrics(), "pfnscope_agent_ticks_total")
text = after_ticks(1)
refused = metric(text, "pfnscope_dropped_events_total", reason="vma_map_full") - base_drop
room = 4096 + 1024 * (t1 - t0 + 1)
ok(burst == 10000 and burst - room <= refused <= burst + 200,
   "a burst of 10,000 VMAs within %d ticks: %d inserts refused and counted (at least %d)" %
   (t1 - t0, refused, burst - room), (burst, refused, t0, t1))
for x in waves + [h]:
    x.kill()
    x.wait()

# a clean stop leaves nothing
p = run([PFNSCOPE, "agent", "--stop"])
ok(p.returncode == 0 and wait_exit(agent) == 0, "agent --stop: exit 0", p.stdout + p.stderr)
for _ in range(30):     # maps are freed after their last reference, asynchronously
    links1, maps1 = bpf_objects()
    if maps1 <= maps0 and links1 <= links0:
        break
    time.sleep(0.2)
ok(not os.path.exists(STATE), "no pinned state after a clean stop")

# a stop signal while the agent starts (a service manager stopping it at once, a ^C right after
# the "serving" line) ends it cleanly too: exit 0, no pinned state left for the next agent to
# "continue" (it used to install its handlers only after that line: SIGTERM killed it there)
sig_state = "/sys/fs/bpf/pfnscope-sigtest"
for delay in (0.06, 0.12, "serving"):
    log = open(os.path.join(tmp, "sig.log"), "w+")
    p = subprocess.Popen([PFNSCOPE, "agent", "--listen", "127.0.0.1:%d" % APORT, "-i", "1",
                          "--state-dir", sig_state], stdout=log, stderr=subprocess.PIPE,
                         text=True)
    if delay == "serving":
        for line in p.stderr:
            if "serving http" in line:
                break
    else:
        time.sleep(delay)
    p.send_signal(signal.SIGTERM)
    rc = wait_exit(p)
    rest = p.stderr.read()
    ok(rc == 0 and not os.path.exists(sig_state) and "removing the pinned state" in rest,
       "SIGTERM %s: exit %s, pinned state %s" %
       ("at the serving line" if delay == "serving" else "%.0f ms after exec" % (delay * 1000),
        rc, "left" if os.path.exists(sig_state) else "removed"), rest[-400:])
    if os.path.exists(sig_state):
        shutil.rmtree(sig_state, ignore_errors=True)
ok(links1 <= links0 and maps1 <= maps0, "no BPF link or map left (bpftool: links %d->%d, maps %d->%d)"
   % (links0, links1, maps0, maps1))
prom.terminate()
prom.wait()
done()
