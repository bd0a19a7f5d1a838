#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pfnscope top in a real 80x24 terminal (tmux): the busiest VMA is the running storm, the
frame fits the terminal, keys work, and q restores the terminal."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, skip, run, has_kernel_address, done, PFNSCOPE, WORKLOADS  # noqa: E402

SESSION = "pfnscope-top-test"


def tmux(*a):
    return subprocess.run(["tmux"] + list(a), capture_output=True, text=True)


def capture():
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


if subprocess.run(["which", "tmux"], capture_output=True).returncode:
    skip("top in tmux", "tmux not installed")
    done()

tmux("kill-session", "-t", SESSION)
storm = subprocess.Popen([os.path.join(WORKLOADS, "faultstorm"), "64", "400"],
                         stdout=subprocess.DEVNULL)
tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24",
     "%s top -i 0.5; echo TOP-EXITED $?; sleep 30" % PFNSCOPE)
frame = ""
for _ in range(40):            # the first frame comes after one interval
    time.sleep(0.5)
    frame = capture()
    if "FAULTS/s" in frame and "faultstorm" in frame:
        break
lines = frame.rstrip("\n").split("\n")
ok("pfnscope top" in frame and "FAULTS/s" in frame, "top draws its header in tmux", frame)
ok(len(lines) <= 24 and all(len(x) <= 80 for x in lines), "the frame fits 80x24",
   "%d lines, widest %d" % (len(lines), max(len(x) for x in lines)))
rows = [x for x in lines if x[:7].strip().isdigit()]
ok(rows and rows[0].split()[1] == "faultstorm" and int(rows[0].split()[0]) == storm.pid,
   "the busiest VMA (first row, sorted by faults/s) is the storm's", frame)
if rows:
    rate = float(rows[0].split()[3])
    ok(rate > 1000, "the storm's fault rate is shown (%.0f faults/s)" % rate, rows[0])
ok(not has_kernel_address(frame), "no raw kernel address on screen")
tmux("send-keys", "-t", SESSION, "r")
time.sleep(1.5)
ok("sort rss" in capture(), "key r sorts by rss", capture())
tmux("send-keys", "-t", SESSION, "q")
exited = False
for _ in range(20):
    time.sleep(0.25)
    if "TOP-EXITED 0" in capture():
        exited = True
        break
ok(exited, "q quits with status 0", capture())
tmux("kill-session", "-t", SESSION)
storm.kill()
storm.wait()

p = run([PFNSCOPE, "top", "-n", "1", "-i", "0.2"])
ok(p.returncode == 0 and "FAULTS/s" in p.stdout and "\033[" not in p.stdout,
   "top -n 1 without a terminal prints one plain frame", p.stdout[:400] + p.stderr)
# the header names the interval asked for, also on the first frame (rates over 200 ms)
p = run([PFNSCOPE, "top", "-n", "2", "-i", "0.5"])
ok(p.returncode == 0 and p.stdout.count("every 0.5s") == 2,
   "top -i 0.5: every frame's header says every 0.5s", p.stdout[:400] + p.stderr)
for bad in (["-i", "0"], ["-s", "nope"], ["-p", "999999"], ["-n", "x"]):
    p = run([PFNSCOPE, "top"] + bad)
    ok(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1,
       "top %s: exit 2 with one line" % " ".join(bad), p.stderr)
done()
