#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: fault storms measured side by side (A B A B pairs), baseline against each tool
configuration, on the running kernel. Prints a table of medians and ratios; asserts nothing."""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(ROOT, "build")
STORM = os.path.join(B, "bench", "storm")
FLOOR = os.path.join(B, "bench", "floor")
PFNSCOPE = os.path.join(B, "pfnscope")
PAIRS = int(os.environ.get("BENCH_PAIRS", "5"))
# The storm runs on one CPU: the two vCPUs of the machine the table comes from fault at
# 11.5 and 15.0 us (steady, each within 0.5% pinned), and a storm placed by the scheduler
# landed on either, a 30% spread between runs of one configuration. "" lets it float.
CPU = os.environ.get("BENCH_CPU", "0")
WORKLOADS = [("anon", "128", "4"), ("tmpfs", "64", "4"), ("forkcow", "64", "4"),
             ("pin", "32", "4")]
BPFTRACE = ("tracepoint:exceptions:page_fault_user { @faults[pid] = count(); } "
            "tracepoint:kmem:rss_stat { @rss[pid, args->member] = sum(args->size); }")


def storm_ns(out):
    m = re.search(r"ns_per_fault=([0-9.]+)", out)
    if not m:
        raise RuntimeError("no storm result in: " + out[-500:])
    return float(m.group(1))


def run_storm(args, wrap=None):
    cmd = (wrap or []) + (["taskset", "-c", CPU] if CPU else []) + [STORM] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True)
    run_storm.faults = int(re.search(r"faults=(\d+)", p.stdout + " faults=0").group(1))
    return storm_ns(p.stdout + p.stderr)


def bpf_progs():
    """{id: (run_cnt, run_time_ns)} of every loaded BPF program (bpftool; the counts grow only
    while kernel.bpf_stats_enabled is 1)."""
    p = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True)
    try:
        return {x["id"]: (x.get("run_cnt", 0), x.get("run_time_ns", 0))
                for x in json.loads(p.stdout or "[]")}
    except ValueError:
        return {}


def set_bpf_stats(on):
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1" if on else "0")


def background(cmd, ready):
    """Start a tracer, wait until it prints @ready (or 10 s), return (proc, seconds to ready).
    With no @ready (a quiet tracer), give it a second to attach."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not ready:
        time.sleep(1)
        return p, None
    while time.monotonic() - t0 < 10:
        line = p.stdout.readline()
        if not line:
            break
        if ready in line:
            return p, time.monotonic() - t0
    return p, None


def proc_usage(pid):
    """(CPU seconds, peak RSS in MiB) of a running process, from /proc."""
    try:
        st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
        hwm = [int(x.split()[1]) for x in open("/proc/%d/status" % pid) if x.startswith("VmHWM")]
        return cpu, hwm[0] / 1024 if hwm else 0
    except (OSError, IndexError, ValueError):
        return 0, 0


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out or ""


# The tools that attach in the background: command, the line that says attached ("" for a
# quiet one: a second is given), and whether it is made of BPF programs (bpf_cost()).
TRACERS = {
    "empty tp_btf floor": ([FLOOR], "attached", True),
    "ring-buffer floor": ([FLOOR, "--ringbuf"], "attached", True),
    "per-CPU ring floor": ([FLOOR, "--pcpu"], "attached", True),
    "pfnscope agent": ([PFNSCOPE, "agent", "--listen", "127.0.0.1:19464", "-i", "1"],
                       "serving http", True),
    "pfnscope trace": (["sh", "-c", "exec %s trace >/dev/null" % PFNSCOPE], "tracing", True),
    "pfnscope record": ([PFNSCOPE, "record", "-o", "/tmp/pfnscope-bench.pfns"], "recording",
                        True),
    "bpftrace": (["bpftrace", "-e", BPFTRACE], "Attaching", True),
    "perf record": (["perf", "record", "-q", "-e", "exceptions:page_fault_user", "-e",
                     "kmem:rss_stat", "-a", "-o", "/tmp/pfnscope-bench.perf"], "", False),
}


# Start-up only: the agent relocating against the whole kernel BTF (PFNSCOPE_CORE=kernel)
# instead of the types cut out of it (src/corebtf.c): what the cut buys.
STARTUP_ONLY = {
    "pfnscope agent, whole BTF": (["env", "PFNSCOPE_CORE=kernel", PFNSCOPE, "agent", "--listen",
                                   "127.0.0.1:19464", "-i", "1"], "serving http"),
}


def config_runner(name, args):
    if name == "pfnscope check":
        return lambda: run_storm(args, [PFNSCOPE, "check", "--"])
    if name == "perf stat":
        return lambda: run_storm(args, ["perf", "stat", "-e", "page-faults", "--"])

    def with_tracer(cmd, ready, bpf):
        def run(stats=False):
            before = bpf_progs()
            p, t_ready = background(cmd, ready)
            try:
                return run_storm(args)
            finally:
                # the tracer's own cost while it watched the storm, then what it lost
                run.cpu, run.rss = proc_usage(p.pid)
                run.ready = t_ready
                if stats:	# its programs: the ones that appeared with it
                    new = [v for k, v in bpf_progs().items() if k not in before]
                    run.bpf = (sum(v[1] for v in new), sum(v[0] for v in new),
                               run_storm.faults)
                run.last = stop(p)
                if cmd[:2] == ["perf", "record"]:
                    run.last += perf_losses(cmd[cmd.index("-o") + 1])
        run.with_stats = bpf
        return run
    if name in TRACERS:
        return with_tracer(*TRACERS[name])
    raise ValueError(name)


CONFIGS = ["empty tp_btf floor", "ring-buffer floor", "per-CPU ring floor", "pfnscope agent",
           "pfnscope check", "pfnscope trace", "pfnscope record", "bpftrace", "perf stat",
           "perf record"]


def perf_losses(path):
    """What perf record lost, from its file: LOST records (a chunk of samples each, the kernel's
    ring full) and LOST_SAMPLES; `-q` silences its own warning. "lost 0 chunks" when none."""
    p = subprocess.run(["perf", "report", "-i", path, "--stats"], capture_output=True,
                       text=True)
    n = sum(int(m) for m in re.findall(r"^\s*LOST(?:_SAMPLES)? events:\s+(\d+)", p.stdout,
                                        re.M))
    return "\nlost %d chunks\n" % n if "TOTAL events" in p.stdout else ""


def losses(out):
    """What a tracer said it lost, and pfnscope's events and bytes per event."""
    notes = []
    m = re.search(r"(\d+) events in ([0-9.]+) s", out)
    if m and float(m.group(2)) > 0:
        notes.append("%.0fk ev/s" % (int(m.group(1)) / float(m.group(2)) / 1000))
    m = re.search(r"recorded (\d+) events \((\d+) lost\).*?([0-9.]+) bytes/event", out)
    if m:
        notes.append("lost %s, %s B/ev" % (m.group(2), m.group(3)))
    m = re.search(r"(\d+) lost \(ring buffer full\)", out)
    if m:
        notes.append("lost %s" % m.group(1))
    m = re.search(r"[Ll]ost (\d+) (?:events|samples|chunks)", out)
    if m:
        notes.append("lost %s" % m.group(1))
    return ", ".join(notes)


def bpf_cost(runner):
    """One more run with kernel.bpf_stats_enabled: the time the tool's own BPF programs ran,
    per fault of the storm, and how many program runs a fault cost (precise where the A B
    timings are noise: it leaves out only the hook's dispatch, the same for equal hooks)."""
    if not getattr(runner, "with_stats", False):
        return ""
    try:
        set_bpf_stats(True)
        runner(stats=True)
    finally:
        set_bpf_stats(False)
    ns, cnt, faults = getattr(runner, "bpf", (0, 0, 0))
    if not faults or not cnt:
        return ""
    return "bpf %.0f ns/flt (%.1f runs/flt, %.0f ns/run)" % (ns / faults, cnt / faults, ns / cnt)


def startup(n=7):
    """Exec to attached, n runs each: the floor (a minimal libbpf loader), pfnscope's
    background modes and bpftrace with the same program as in the table. Round-robin: run i of
    every tool before run i + 1 of any, so a slow minute of the machine falls on all alike;
    each median is also given as a ratio to the empty floor's."""
    cfgs = [(name, cmd, ready) for name, (cmd, ready, bpf) in TRACERS.items() if bpf]
    cfgs[4:4] = [(name, cmd, ready) for name, (cmd, ready) in STARTUP_ONLY.items()]
    print("\nstart-up, exec to attached (%d rounds, every tool once a round; PFNSCOPE_TIMING=1 "
          "shows pfnscope's stages):" % n)
    ts = {name: [] for name, _, _ in cfgs}
    broken = {}
    for _ in range(n):
        for name, cmd, ready in cfgs:
            if name in broken:
                continue
            try:
                p, t = background(cmd, ready)
            except OSError as e:
                broken[name] = e
                continue
            p.kill() if name == "bpftrace" else stop(p)  # bpftrace would print its maps
            p.wait()
            if t:
                ts[name].append(t * 1000)
            time.sleep(0.2)
    floor = statistics.median(ts[cfgs[0][0]]) if ts[cfgs[0][0]] else 0
    for name, _, _ in cfgs:
        if name in broken:
            print("  %-25s %s" % (name, broken[name]))
        elif ts[name]:
            m = statistics.median(ts[name])
            print("  %-25s median %4.0f ms, min-max %.0f-%.0f%s" %
                  (name, m, min(ts[name]), max(ts[name]),
                   ", %.2fx the floor" % (m / floor) if floor else ""))


def main():
    uname = os.uname()
    print("# pfnscope bench: %s %s, %d CPUs, %d pairs per cell (A = baseline, B = config), "
          "storms on %s" % (uname.release, uname.machine, os.cpu_count(), PAIRS,
                            "CPU " + CPU if CPU else "any CPU"))
    rows = []
    only_storms = os.environ.get("BENCH_STORMS", "").split(",")
    only_configs = os.environ.get("BENCH_CONFIGS", "").split(",")
    for wl in WORKLOADS:
        if only_storms != [""] and wl[0] not in only_storms:
            continue
        for cfg in CONFIGS:
            if only_configs != [""] and cfg not in only_configs:
                continue
            runner = config_runner(cfg, wl)
            base, tool = [], []
            try:
                for _ in range(PAIRS):
                    base.append(run_storm(wl))
                    tool.append(runner())
            except Exception as e:  # a tool missing on this machine: say so, go on
                rows.append((wl[0], cfg, None, None, None, None, str(e).splitlines()[0][:60]))
                continue
            mb, mt = statistics.median(base), statistics.median(tool)
            note = "min-max %.0f-%.0f" % (min(tool), max(tool))
            bpf = bpf_cost(runner)
            if bpf:
                note += ", " + bpf
            if getattr(runner, "ready", None):
                note += ", ready %.0f ms" % (runner.ready * 1000)
            if getattr(runner, "rss", 0):
                note += ", %.2f s CPU, %.0f MiB peak" % (runner.cpu, runner.rss)
            extra = losses(getattr(runner, "last", ""))
            rows.append((wl[0], cfg, mb, mt, mt / mb, mt - mb,
                         note + (", " + extra if extra else "")))
    print("%-8s %-20s %10s %10s %7s %9s  %s" % ("STORM", "CONFIG", "BASE ns", "TOOL ns",
                                              "RATIO", "+ns/flt", "NOTE"))
    for wl, cfg, mb, mt, ratio, add, note in rows:
        if mb is None:
            print("%-8s %-20s %10s %10s %7s %9s  %s" % (wl, cfg, "-", "-", "-", "-", note))
        else:
            print("%-8s %-20s %10.0f %10.0f %6.2fx %+9.0f  %s" % (wl, cfg, mb, mt, ratio, add,
                                                                   note))
    startup()


if __name__ == "__main__":
    sys.exit(main())
