#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The CLI documentation stays in sync with the CLI: docs/pfnscope.8 and
contrib/bash-completion/pfnscope against `pfnscope COMMAND --help` (what argp really accepts)
and the tables in src/. Needs no root and no BPF: only --help is run.

For every command `pfnscope --help` lists:
  (a) every option (long and short) is described in that command's subsection of the man page,
      with the argument name --help gives it, and the common options under OPTIONS;
  (b) the completion offers every option for `pfnscope CMD -`, and knows which take an argument;
  (c) neither the man page nor the completion names an option --help does not list (stale docs);
  (d) the command has a man page subsection and synopsis, and is completed after `pfnscope `;
  (e) its --help has EXAMPLES, and the man page shows each of them;
then (f) groff renders the page without a warning, and (g) the rule ids of the completion and of
the man page are the rule table of src/rules.c (and docs/findings.md), as are the completion's
values for --backend, --fail-on, -s and -e of the tables the parsers use.

PFNSCOPE_MAN and PFNSCOPE_COMPLETION point the test at other files (to try a stale copy)."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tap import ok, skip, run, done, PFNSCOPE, ROOT  # noqa: E402

MAN = os.environ.get("PFNSCOPE_MAN", os.path.join(ROOT, "docs", "pfnscope.8"))
COMPLETION = os.environ.get("PFNSCOPE_COMPLETION",
                            os.path.join(ROOT, "contrib", "bash-completion", "pfnscope"))
SRC = os.path.join(ROOT, "src")
# argp wraps --help at 79 columns; a wide right margin keeps every option and example whole
HELP_ENV = dict(os.environ, ARGP_HELP_FMT="rmargin=1000")
OPT_RE = re.compile(r"(?<![\w-])(--[A-Za-z0-9][\w-]*|-[A-Za-z0-9?])(?![\w-])")


def fmt(items):
    return " ".join(sorted(items)) or "(none)"


# ----- what --help says -----

def parse_help(text):
    """{'opts': {name: ARG or None}, 'common': {...}, 'usage': str, 'examples': [str]}"""
    h = {"opts": {}, "common": {}, "usage": [], "examples": []}
    group = h["opts"]
    in_examples = in_usage = False
    for line in text.splitlines():
        if line.strip() == "Common options:":
            group = h["common"]
            continue
        if line.startswith("USAGE: "):
            in_usage = True
        if in_usage:
            if re.match(r"^(USAGE:)? +pfnscope ", line):
                h["usage"].append(line.replace("USAGE:", "", 1).strip())
                continue
            in_usage = False
        if line.strip() == "EXAMPLES:":
            in_examples = True
            continue
        if in_examples:
            if not line.strip():
                in_examples = False
            elif line.startswith("    pfnscope ") or line.startswith("    "):
                h["examples"].append(line.split(" #")[0].strip())
            continue
        # an option line: the option column starts within the first 6 columns with '-'
        m = re.match(r"^ {1,6}(-\S.*?)(?:\s{2,}|$)", line)
        if not m:
            continue
        # "-m, --module=NAME": the argument is -m's too
        specs = [re.match(r"^(--?[^\s=\[]+)(?:\[?[= ](\S+?)\]?)?$", x.strip())
                 for x in m.group(1).split(", ")]
        arg = next((x.group(2) for x in specs if x and x.group(2)), None)
        for x in specs:
            if x:
                group[x.group(1)] = arg
    return h


def help_commands():
    p = run([PFNSCOPE, "--help"], env=HELP_ENV)
    cmds, seen = [], False
    for line in p.stdout.splitlines():
        if line.strip() == "Commands:":
            seen = True
        elif seen and re.match(r"^  [a-z]", line):
            cmds.append(line.split()[0])
        elif seen and not line.strip() and cmds:
            break
    return p, cmds


# ----- what the man page says -----

def roff_args(s):
    """Arguments of a macro line, with roff's double-quote rules."""
    args, cur, q, i = [], "", False, 0
    while i < len(s):
        c = s[i]
        if c == '"':
            if q and i + 1 < len(s) and s[i + 1] == '"':
                cur += '"'
                i += 1
            else:
                q = not q
        elif c in " \t" and not q:
            if cur:
                args.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        args.append(cur)
    return args


def roff_unescape(s):
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    s = s.replace("\\-", "-").replace("\\(aq", "'").replace("\\(dq", '"').replace("\\&", "")
    s = s.replace("\\%", "").replace("\\e", "\\").replace("\\ ", " ").replace("\\~", " ")
    return s


def roff_line(line):
    """The text a line of man(7) source contributes, or None for a request without text."""
    if line.startswith(".\\\"") or line.startswith("'\\\""):
        return None
    if not line.startswith("."):
        return roff_unescape(line)
    parts = line[1:].split(None, 1)
    if not parts:
        return None
    mac, rest = parts[0], parts[1] if len(parts) > 1 else ""
    if mac in ("B", "I", "SM", "SB", "SY", "SS", "SH", "IP", "TP"):
        return roff_unescape(" ".join(roff_args(rest)))
    if re.fullmatch(r"[BIR]{2}", mac):
        return roff_unescape("".join(roff_args(rest)))
    return None


class Man:
    def __init__(self, path):
        self.src = open(path).read().splitlines()
        self.sections = {}      # .SH title -> [source lines]
        self.subsections = {}   # .SS title -> [source lines]
        sh = ss = None
        for line in self.src:
            if line.startswith(".SH"):
                sh = " ".join(roff_args(line[3:]))
                ss = None
                self.sections[sh] = []
                continue
            if line.startswith(".SS"):
                ss = " ".join(roff_args(line[3:]))
                self.subsections[ss] = []
                continue
            if ss is not None:
                self.subsections[ss].append(line)
            elif sh is not None:
                self.sections[sh].append(line)

    @staticmethod
    def tags(lines):
        """Text of every .TP tag (the line after .TP)."""
        return [roff_line(lines[i + 1]) or "" for i, l in enumerate(lines[:-1])
                if l.strip() == ".TP"]

    @staticmethod
    def text(lines, skip_examples_of=None):
        """The running text; inside .EX/.EE the example lines that do not run
        `pfnscope skip_examples_of` are left out (they may show another command)."""
        out, ex = [], False
        for line in lines:
            if line.startswith(".EX"):
                ex = True
                continue
            if line.startswith(".EE"):
                ex = False
                continue
            t = roff_line(line)
            if t is None:
                continue
            if ex and skip_examples_of and not t.startswith("pfnscope %s" % skip_examples_of):
                continue
            out.append(t)
        return "\n".join(out)

    def synopses(self):
        """{'pfnscope CMD': [text of each .SY block]} from SYNOPSIS."""
        res, cur, name = {}, [], None
        for line in self.sections.get("SYNOPSIS", []):
            if line.startswith(".SY"):
                name = " ".join(roff_args(line[3:]))
                cur = []
            elif line.startswith(".YS"):
                if name:
                    res.setdefault(name, []).append(" ".join(cur))
                name = None
            elif name:
                t = roff_line(line)
                if t:
                    cur.append(t)
        return res


def squash(s):
    return re.sub(r"\s+", " ", s).strip()


# ----- what the completion offers -----

def complete(lines):
    """Runs bash with the completion sourced; each line of `lines` is a list of words, the
    last being the one under the cursor. Returns the COMPREPLY of each (a set)."""
    script = ["source %s || exit 9" % sh_quote(COMPLETION),
              "c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\";"
              " COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _pfnscope;"
              " printf '%s\\n' \"${COMPREPLY[@]}\"; echo '@@'; }"]
    for words in lines:
        script.append("c " + " ".join(sh_quote(w) for w in words))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(script)],
                       capture_output=True, text=True, cwd=ROOT)
    if p.returncode:
        return None, p.stderr
    chunks = p.stdout.split("@@\n")[:-1]
    return [set(x for x in c.splitlines() if x) for c in chunks], p.stderr


def bash_var(name):
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                        "source %s && printf '%%s' \"$%s\"" % (sh_quote(COMPLETION), name)],
                       capture_output=True, text=True)
    return set(p.stdout.split())


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def c_strings(path, array):
    """The string literals of a C array initializer `array[...] = { ... };`."""
    src = open(path).read()
    m = re.search(r"\b%s\s*\[[^]]*\]\s*=\s*\{(.*?)\n?\};" % re.escape(array), src, re.S)
    return re.findall(r'"([^"]*)"', m.group(1)) if m else []


# ----- the checks -----

if not os.access(PFNSCOPE, os.X_OK):
    ok(False, "build/pfnscope exists (make)", PFNSCOPE)
    done()

p, commands = help_commands()
ok(p.returncode == 0 and len(commands) >= 9, "pfnscope --help lists the commands (%d)" %
   len(commands), p.stdout + p.stderr)

ok(os.path.exists(MAN), "man page exists: %s" % os.path.relpath(MAN, ROOT))
ok(os.path.exists(COMPLETION), "completion exists: %s" % os.path.relpath(COMPLETION, ROOT))
man = Man(MAN)
synopses = man.synopses()

helps = {}
for cmd in commands:
    p = run([PFNSCOPE, cmd, "--help"], env=HELP_ENV)
    helps[cmd] = parse_help(p.stdout)
    ok(p.returncode == 0 and helps[cmd]["opts"],
       "%s --help exits 0 and lists options" % cmd, p.stdout + p.stderr)

# the common options: one argp child, the same for every command
common = {}
for cmd in commands:
    common.update(helps[cmd]["common"])
ok(common and all(helps[c]["common"] == common for c in commands),
   "every command has the same common options (%s)" % fmt(common),
   {c: sorted(helps[c]["common"]) for c in commands})

# the completion, driven as bash would: `pfnscope CMD -`, `pfnscope CMD --`, `pfnscope `
queries = [["pfnscope", ""]]
for cmd in commands:
    queries += [["pfnscope", cmd, "-"], ["pfnscope", cmd, "--"]]
queries += [["pfnscope", "trace", "--rule", ""], ["pfnscope", "trace", "-e", ""],
            ["pfnscope", "record", "--events", ""], ["pfnscope", "check", "--backend", ""],
            ["pfnscope", "check", "--fail-on", ""], ["pfnscope", "report", "--fail-on", ""],
            ["pfnscope", "top", "-s", ""], ["pfnscope", "check", "--backend", "=", ""],
            ["pfnscope", "check", "--", ""], ["pfnscope", "report", ""]]
answers, err = complete(queries)
ok(answers is not None and not err, "bash sources the completion and completes without errors",
   err)
if answers is None:
    done()
comp = dict((tuple(q), a) for q, a in zip(queries, answers))

# (d) every command is in the man page and in the completion, and nothing more
ok(set(comp[("pfnscope", "")]) == set(commands),
   "(d) completion of `pfnscope ` is exactly the commands of --help",
   "completion: %s\n--help:     %s" % (fmt(comp[("pfnscope", "")]), fmt(commands)))
man_cmds = set(t.split()[1] for t in man.subsections if re.fullmatch(r"pfnscope \S+", t))
ok(man_cmds == set(commands), "(d) the man page has a subsection for exactly the commands",
   "man: %s\n--help: %s" % (fmt(man_cmds), fmt(commands)))
syn_cmds = set(k.split()[1] for k in synopses if len(k.split()) == 2)
ok(syn_cmds == set(commands), "(d) SYNOPSIS has a line for exactly the commands",
   "man: %s\n--help: %s" % (fmt(syn_cmds), fmt(commands)))

common_tags = set()
for t in Man.tags(man.sections.get("OPTIONS", [])):
    common_tags |= set(OPT_RE.findall(t))
ok(set(common) <= common_tags, "(a) OPTIONS describes every common option",
   "missing: %s" % fmt(set(common) - common_tags))
ok(common_tags <= set(common), "(c) OPTIONS describes no option that is not a common one",
   "stale: %s" % fmt(common_tags - set(common)))
got = bash_var("_pfnscope_common_args")
want = set(o for o, a in common.items() if a)
ok(got == want, "(b) completion: the common options that take an argument are those of --help",
   "missing: %s\nstale:   %s" % (fmt(want - got), fmt(got - want)))

for cmd in commands:
    h = helps[cmd]
    opts = h["opts"]
    accepted = set(opts) | set(common)
    lines = man.subsections.get("pfnscope %s" % cmd, [])
    tags = Man.tags(lines)
    tagged = {}
    for t in tags:
        for o in OPT_RE.findall(t):
            tagged[o] = t
    # (a) each option, long and short, is described in the command's subsection
    missing = set(opts) - set(tagged)
    ok(lines and not missing, "(a) man: %s describes every option of --help (%d)" %
       (cmd, len(opts)), "missing: %s" % fmt(missing))
    # ... with its argument, as --help names it (lowercase in the man page)
    bad = ["%s: --help %s, man '%s'" % (o, a, tagged[o]) for o, a in opts.items()
           if a and o.startswith("--") and o in tagged and
           "%s=%s" % (o, a.lower()) not in tagged[o].replace(" ", "")]
    ok(not bad, "(a) man: %s gives each option the argument --help names" % cmd,
       "\n".join(bad))
    # (c) nothing stale: no option --help does not list, in tags, text or synopsis
    stale = set(tagged) - set(opts)
    ok(not stale, "(c) man: %s describes no option --help does not list" % cmd,
       "stale: %s" % fmt(stale))
    text = Man.text(lines, skip_examples_of=cmd)
    for s in synopses.get("pfnscope %s" % cmd, []):
        text += "\n" + s
    mentioned = set(o for o in OPT_RE.findall(text) if o.startswith("--") and o != "--")
    stale = mentioned - accepted
    ok(not stale, "(c) man: %s's subsection and synopsis mention no other long option" % cmd,
       "stale: %s" % fmt(stale))

    # (b) the completion offers every option, long and short, and no other
    got = comp[("pfnscope", cmd, "-")] - {"--"}
    want = set(opts) | set(common)
    ok(got == want, "(b) completion: `pfnscope %s -` offers exactly the options of --help" % cmd,
       "missing: %s\nstale:   %s" % (fmt(want - got), fmt(got - want)))
    got = comp[("pfnscope", cmd, "--")] - {"--"}
    want = set(o for o in want if o.startswith("--"))
    ok(got == want, "(b) completion: `pfnscope %s --` offers exactly the long options" % cmd,
       "missing: %s\nstale:   %s" % (fmt(want - got), fmt(got - want)))
    got = bash_var("_pfnscope_args_%s" % cmd)
    want = set(o for o, a in opts.items() if a)
    ok(got == want, "(b) completion: %s's options that take an argument are those of --help" %
       cmd, "missing: %s\nstale:   %s" % (fmt(want - got), fmt(got - want)))

    # (e) --help has EXAMPLES, and the man page shows every one of them
    ok(h["examples"], "(e) %s --help has an EXAMPLES section" % cmd)
    body = squash(Man.text(lines))
    missing = [e for e in h["examples"] if squash(e) not in body]
    ok(not missing, "(e) man: %s shows every example of --help (%d)" % (cmd, len(h["examples"])),
       "\n".join(missing))
    # its USAGE lines are the synopsis, in SYNOPSIS and atop the subsection
    # (metavariables lowercase in the man page: PID -> pid, [OPTIONS] -> [options])
    head = lines[:next((i for i, l in enumerate(lines) if l.startswith(".PP")), len(lines))]
    head = squash(Man.text(head))
    syn = ["pfnscope %s %s" % (cmd, squash(s)) for s in synopses.get("pfnscope %s" % cmd, [])]
    for u in h["usage"]:
        want = squash(re.sub(r"[A-Z]{2,}", lambda m: m.group(0).lower(), u))
        ok(want in syn and want in head, "man: %s's synopsis is --help's USAGE: %s" % (cmd, u),
           "want:       %s\nSYNOPSIS:   %s\nsubsection: %s" % (want, " / ".join(syn), head))
    ok(h["usage"], "%s --help has a USAGE line" % cmd)

# (f) groff renders the page without a warning
groff = shutil.which("groff")
if not groff:
    skip("(f) groff -man -ww renders the man page without warnings", "no groff")
else:
    p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", MAN], capture_output=True,
                       text=True)
    ok(p.returncode == 0 and not p.stderr.strip(),
       "(f) groff -man -Tutf8 -ww renders the man page without warnings", p.stderr)
    if shutil.which("man"):
        p = subprocess.run(["man", "-l", MAN], capture_output=True, text=True,
                           env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80"))
        ok(p.returncode == 0 and "pfnscope check" in p.stdout and
           "warning" not in p.stderr.lower(), "(f) man -l renders it", p.stderr)

# (g) rule ids: src/rules.c, docs/findings.md, the completion, the man page
rules_src = open(os.path.join(SRC, "rules.c")).read()
table = dict(re.findall(r'\[RULE_\w+\]\s*=\s*\{\s*"(\w+)",\s*SEV_(\w+)', rules_src))
ok(len(table) >= 10, "the rule table of src/rules.c is read (%d rules)" % len(table))
got = comp[("pfnscope", "trace", "--rule", "")]
ok(got == set(table), "(g) completion: --rule offers exactly the rule ids of src/rules.c",
   "missing: %s\nstale:   %s" % (fmt(set(table) - got), fmt(got - set(table))))
findings_md = os.path.join(ROOT, "docs", "findings.md")
if os.path.exists(findings_md):
    doc = set(re.findall(r"^## ([A-Z][A-Z_]+) \(", open(findings_md).read(), re.M))
    ok(got == doc, "(g) completion: --rule offers exactly the rules of docs/findings.md",
       "missing: %s\nstale:   %s" % (fmt(doc - got), fmt(got - doc)))
man_rules = {}
for t in Man.tags(man.sections.get("FINDINGS", [])):
    m = re.match(r"^([A-Z][A-Z_]+) \((\w+)\)", t)
    if m:
        man_rules[m.group(1)] = m.group(2)
want = dict((r, s.lower()) for r, s in table.items())
ok(man_rules == want, "(g) man: FINDINGS lists exactly the rules of src/rules.c, severities too",
   "man:   %s\nrules: %s" % (sorted(man_rules.items()), sorted(want.items())))

# option values: the tables the parsers use
values = [
    (("pfnscope", "check", "--backend", ""), os.path.join(SRC, "planner.c"), "backend_names",
     "--backend"),
    (("pfnscope", "check", "--backend", "=", ""), os.path.join(SRC, "planner.c"),
     "backend_names", "--backend="),
    (("pfnscope", "check", "--fail-on", ""), os.path.join(SRC, "options.c"), "sev_names",
     "check --fail-on"),
    (("pfnscope", "report", "--fail-on", ""), os.path.join(SRC, "options.c"), "sev_names",
     "report --fail-on"),
    (("pfnscope", "top", "-s", ""), os.path.join(SRC, "cmd_top.c"), "sort_names", "top -s"),
    (("pfnscope", "trace", "-e", ""), os.path.join(SRC, "trace_view.c"), "type_names",
     "trace -e"),
    (("pfnscope", "record", "--events", ""), os.path.join(SRC, "trace_view.c"), "type_names",
     "record --events"),
]
for q, path, array, name in values:
    want = set(c_strings(path, array))
    if array == "type_names":
        want.add("all")
    got = comp[q]
    ok(len(want) > 2 and got == want, "completion: %s offers exactly %s of %s" %
       (name, array, os.path.relpath(path, ROOT)),
       "missing: %s\nstale:   %s" % (fmt(want - got), fmt(got - want)))
et = re.search(r"^Event types \(-e\): (.*)\.$", run([PFNSCOPE, "trace", "--help"],
                                                      env=HELP_ENV).stdout, re.M)
ok(et and set(et.group(1).split(", ")) == comp[("pfnscope", "trace", "-e", "")],
   "completion: -e offers the event types trace --help lists", et and et.group(1))

# after -- a command is completed; report completes its FILE
ok("sh" in comp[("pfnscope", "check", "--", "")] or "bash" in comp[("pfnscope", "check", "--",
                                                                       "")],
   "completion: a command name after `pfnscope check --`")
ok("Makefile" in comp[("pfnscope", "report", "")], "completion: report FILE completes files")

done()
