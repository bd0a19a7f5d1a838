#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Loads an HTML report in headless Chromium, offline, and checks what a reader would get.

    html_check.py [--min-svgs N] [--wait S] FILE.html SCREENSHOT.png

One Chromium run (--dump-dom and --screenshot at 1280x2000) of a copy of FILE with a small
console.error hook injected. Prints one JSON object:

    {"console_errors": [...], "svgs": N, "screenshot_bytes": N, "external_resources": [...]}

console_errors: uncaught exceptions and console.error() calls, as "message (source)";
svgs: <svg> elements of the loaded DOM with at least one child element;
external_resources: src/href attributes that would fetch something (the page must need none).
Exits 0 only with no console errors, no external resources, at least N (3) such svgs and a
non-empty PNG screenshot; 1 otherwise; 2 if Chromium is missing or fails.
"""
import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MARK = "HTML_CHECK_CONSOLE_ERROR: "
# Logs console.error() through console.log with a marker: Chromium's stderr log prints every
# console level as INFO:CONSOLE, so the level would otherwise be lost.
HOOK = ("<script>(function(){var e=console.error;console.error=function(){try{console.log("
        "'%s'+Array.prototype.join.call(arguments,' '))}catch(x){}return e.apply(console,"
        "arguments)}})();</script>" % MARK)
# [pid:tid:time:INFO:CONSOLE:12] "msg", source: file:///x.html (12)   (older: CONSOLE(12))
CONSOLE_RE = re.compile(r':(INFO|WARNING|ERROR):CONSOLE[:(]?\d*\)?\] "(.*)", source: (.*)$')
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_chromium(wait):
    """Chromium may still be being installed: wait up to @wait seconds for it."""
    deadline = time.time() + wait
    while True:
        for name in ("chromium", "chromium-browser", "google-chrome"):
            path = shutil.which(name)
            if path:
                return path
        if time.time() >= deadline:
            return None
        time.sleep(5)


def inject(text):
    """The hook first thing in <head>, never before the doctype (that means quirks mode)."""
    m = re.search(r"<head[^>]*>", text, re.I) or re.search(r"<html[^>]*>", text, re.I)
    if m:
        return text[:m.end()] + HOOK + text[m.end():]
    m = re.match(r"\s*<!doctype[^>]*>", text, re.I)
    end = m.end() if m else 0
    return text[:end] + HOOK + text[end:]


class DomScan(html.parser.HTMLParser):
    """Counts <svg> elements with child elements; collects attributes that fetch resources."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}
    FETCH = {"src", "href", "xlink:href", "data", "poster", "srcset", "background"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []         # [tag, has_child] of open elements
        self.svgs = 0
        self.external = []

    def _attrs(self, tag, attrs):
        for k, v in attrs:
            if k in self.FETCH and v and not re.match(r"\s*(#|data:|javascript:void)", v, re.I):
                if tag == "a" and k == "href":
                    continue    # a link is not loaded
                self.external.append("<%s %s=%s>" % (tag, k, v))

    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        if self.stack and self.stack[-1][0] == "svg" and not self.stack[-1][1]:
            self.stack[-1][1] = True
            self.svgs += 1
        if tag not in self.VOID:
            self.stack.append([tag, False])

    def handle_startendtag(self, tag, attrs):
        self._attrs(tag, attrs)
        if self.stack and self.stack[-1][0] == "svg" and not self.stack[-1][1]:
            self.stack[-1][1] = True
            self.svgs += 1

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("html")
    ap.add_argument("screenshot")
    ap.add_argument("--min-svgs", type=int, default=3)
    ap.add_argument("--wait", type=int, default=600, help="seconds to wait for chromium")
    ap.add_argument("--budget-ms", type=int, default=3000, help="--virtual-time-budget")
    args = ap.parse_args()

    chromium = find_chromium(args.wait)
    if not chromium:
        print("html_check: no chromium after %d s" % args.wait, file=sys.stderr)
        return 2
    with open(args.html, encoding="utf-8", errors="replace") as f:
        text = f.read()
    shot = os.path.abspath(args.screenshot)
    if os.path.exists(shot):
        os.unlink(shot)
    with tempfile.TemporaryDirectory(prefix="html_check.") as tmp:
        page = os.path.join(tmp, "page.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(inject(text))
        cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + tmp + "/prof",
               "--virtual-time-budget=%d" % args.budget_ms, "--window-size=1280,2000",
               "--hide-scrollbars", "--screenshot=" + shot, "--dump-dom",
               "--enable-logging=stderr", "--v=0", "file://" + page]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                               timeout=180)
        except subprocess.TimeoutExpired:
            print("html_check: chromium timed out", file=sys.stderr)
            return 2
    if p.returncode:
        print("html_check: chromium exited %d:\n%s" % (p.returncode, p.stderr[-2000:]),
              file=sys.stderr)
        return 2

    errors = []
    for line in p.stderr.splitlines():
        m = CONSOLE_RE.search(line)
        if not m:
            continue
        level, msg, src = m.groups()
        src = src.replace("file://" + page, args.html)     # the temporary copy: name the file
        if msg.startswith(MARK):
            errors.append("%s (%s)" % (msg[len(MARK):], src))
        elif msg.startswith("Uncaught") or level == "ERROR":
            errors.append("%s (%s)" % (msg, src))
    scan = DomScan()
    scan.feed(p.stdout)
    size = os.path.getsize(shot) if os.path.exists(shot) else 0
    with open(shot, "rb") if size else open(os.devnull, "rb") as f:
        png = f.read(8) == PNG_MAGIC
    print(json.dumps({"console_errors": errors, "svgs": scan.svgs,
                      "screenshot_bytes": size if png else 0,
                      "external_resources": scan.external}))
    good = not errors and not scan.external and scan.svgs >= args.min_svgs and png and size
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
