#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench-lab: the anonymous storm in the lab guest (6.1, TCG), bare and under the fentry
and kprobe backends, the agent and trace. Emulated: absolute numbers mean little, ratios some."""
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = subprocess.run([os.path.join(ROOT, "tests", "lab", "run"), "--timeout", "900",
                        "--add", os.path.join(ROOT, "build", "bench", "storm"),
                        "--add", os.path.join(ROOT, "bench", "lab-guest.sh"),
                        "--", "sh", "/extra/lab-guest.sh"], capture_output=True, text=True)
    runs = {}
    for cfg, kind, v in re.findall(r"^bench (\S+) (base|tool) ([0-9.]+)", p.stdout, re.M):
        runs.setdefault(cfg, {"base": [], "tool": []})[kind].append(float(v))
    if not runs:
        print(p.stdout[-2000:] + p.stderr[-2000:])
        return 1
    print("# pfnscope lab bench: 6.1 under qemu TCG (EMULATED), anon storm 16 MiB x 2, "
          "%d pairs" % len(next(iter(runs.values()))["base"]))
    print("%-8s %10s %10s %7s %9s" % ("CONFIG", "BASE ns", "TOOL ns", "RATIO", "+ns/flt"))
    for cfg, r in runs.items():
        if not r["base"] or not r["tool"]:
            continue
        mb, mt = statistics.median(r["base"]), statistics.median(r["tool"])
        print("%-8s %10.0f %10.0f %6.2fx %+9.0f" % (cfg, mb, mt, mt / mb, mt - mb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
