# SPDX-License-Identifier: GPL-2.0
"""Minimal TAP output and helpers shared by the host and lab test scripts."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PFNSCOPE = os.path.join(ROOT, "build", "pfnscope")
WORKLOADS = os.path.join(ROOT, "build", "workloads")
_n = 0
failed = 0


def ok(cond, name, detail=""):
    """Print one TAP line; on failure print the detail as TAP diagnostics."""
    global _n, failed
    _n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (_n, name))
    if not cond:
        failed += 1
        for line in str(detail).splitlines():
            print("#   " + line)
    sys.stdout.flush()
    return cond


def skip(name, why):
    global _n
    _n += 1
    print("ok %d - %s # SKIP %s" % (_n, name, why))


def run(args, **kw):
    """Run a command, return CompletedProcess with text output."""
    return subprocess.run(args, capture_output=True, text=True, **kw)


def load_json(path):
    with open(path) as f:
        return json.load(f)


KADDR = re.compile(r"\bf{4}[89a-f][0-9a-f]{11}\b")


def has_kernel_address(text):
    """True if text contains something shaped like a raw x86-64 kernel address."""
    return KADDR.search(text) is not None


def hook(doc, name):
    for h in doc["pfnscope"]["plan"]:
        if h["hook"] == name:
            return h
    return None


def procs_by_comm(doc, comm):
    return [p for p in doc["processes"] if p["comm"] == comm]


def vmas_of(doc, pid):
    return [v for v in doc["vmas"] if v["pid"] == pid]


def done():
    print("1..%d" % _n)
    sys.exit(1 if failed else 0)
