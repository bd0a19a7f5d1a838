// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope top: the busiest VMAs, refreshed every -i seconds, in any terminal down to 80x24.
 * Reads the in-kernel aggregates only (no ring buffer); fault rates are deltas per row id.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "pfnscope.h"
#include "options.h"
#include "session.h"
#include "collect.h"
#include "report.h"

enum sort_key { SORT_FAULTS, SORT_RSS, SORT_PINS, SORT_FINDINGS, SORT__MAX };
static const char *const sort_names[SORT__MAX] = { "faults", "rss", "pins", "findings" };

enum { OPT_BACKEND = 0x100 };

static struct top_args {
	pid_t pid;
	const char *module;
	double interval;
	enum sort_key sort;
	long iterations;
	enum backend backend;
} args;

static const char doc[] =
	"A refreshing view of the busiest VMAs: fault rate, resident pages, pins, findings.\n"
	"\n"
	"USAGE: pfnscope top [-p PID] [-m MODULE] [-i SECONDS] [-s faults|rss|pins|findings]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope top                   # every process, by fault rate\n"
	"    pfnscope top -p 1234 -s rss    # one process, by resident pages\n"
	"    pfnscope top -m mydrv -s findings\n"
	"    pfnscope top -n 3 > frames.txt # three frames, no terminal codes\n"
	"\n"
	"Keys: q quits; s cycles the sort; f, r, p, x sort by faults, rss, pins, findings.\n"
	"Exit status: 0 done, 2 usage error, 3 environment error (not root, no BTF).";

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Only this process (and the children it forks from now on)" },
	{ "module", 'm', "NAME", 0, "Only VMAs whose driver is module NAME" },
	{ "interval", 'i', "SECONDS", 0, "Refresh every SECONDS (default 1, 0.1..3600)" },
	{ "sort", 's', "KEY", 0, "Sort by faults (rate), rss, pins or findings" },
	{ "iterations", 'n', "N", 0, "Stop after N refreshes" },
	{ "backend", OPT_BACKEND, "MECH", 0, "Force function hooks to fentry, kprobe or tracepoint" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	char *end;
	int i;

	switch (key) {
	case 'p':
		return opt_pid(state, "-p", arg, &args.pid);
	case 'm':
		args.module = arg;
		break;
	case 'i':
		errno = 0;
		args.interval = strtod(arg, &end);
		if (errno || *end || args.interval < 0.1 || args.interval > 3600)
			return usage_error(state, "-i: '%s' is not a number of seconds in 0.1..3600",
					   arg);
		break;
	case 's':
		for (i = 0; i < SORT__MAX && strcmp(arg, sort_names[i]); i++)
			;
		if (i == SORT__MAX)
			return usage_error(state, "-s: unknown key '%s' (faults, rss, pins, findings)",
					   arg);
		args.sort = i;
		break;
	case 'n':
		errno = 0;
		args.iterations = strtol(arg, &end, 10);
		if (errno || *end || args.iterations <= 0)
			return usage_error(state, "-n: '%s' is not a positive number", arg);
		break;
	case OPT_BACKEND:
		return opt_backend(state, arg, (int *)&args.backend);
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };

/* One row of the view. */
struct top_row {
	const struct vma_row *v;
	double rate;		/* faults/s since the last refresh */
	long long rss;		/* resident pages (rmap), -1 unknown */
	__u64 pins;
	__u64 findings;
};

/* Faults per row id at the last refresh, sorted by id. */
struct prev {
	__u64 id, faults;
};

static int cmp_prev(const void *a, const void *b)
{
	const struct prev *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static enum sort_key cur_sort;

static int cmp_row(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;
	double kx, ky;

	switch (cur_sort) {
	case SORT_RSS: kx = x->rss; ky = y->rss; break;
	case SORT_PINS: kx = x->pins; ky = y->pins; break;
	case SORT_FINDINGS: kx = x->findings; ky = y->findings; break;
	default: kx = x->rate; ky = y->rate; break;
	}
	if (kx != ky)
		return kx > ky ? -1 : 1;
	return x->v->val.faults > y->v->val.faults ? -1 : x->v->val.faults < y->v->val.faults;
}

static void term_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* Prints one line cut to the terminal width. */
static void line(int cols, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(int cols, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (cols < (int)sizeof(buf))
		buf[cols] = '\0';
	fputs(buf, stdout);
	if (isatty(STDOUT_FILENO))
		fputs("\033[K", stdout);	/* erase what the last frame left on this line */
	fputc('\n', stdout);
}

static void draw(const struct report *r, struct top_row *rows, size_t n, __u64 lost, bool tty)
{
	int height, cols, shown = 0;
	double total = 0;
	__u64 pins = 0;
	size_t nf = 0;
	char now[16];
	time_t t = time(NULL);

	term_size(&height, &cols);
	strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
	for (size_t i = 0; i < n; i++) {
		total += rows[i].rate;
		pins += rows[i].pins;
	}
	for (size_t i = 0; i < r->nr_findings; i++)
		nf += r->findings[i].severity != SEV_NONE;
	if (tty)
		fputs("\033[H", stdout);
	/* the interval asked for: the first frame's rates are over its 200 ms baseline */
	line(cols, "pfnscope top %s  every %gs  sort %s  %s", now, args.interval,
	     sort_names[cur_sort], tty ? "(q quit, s sort)" : "");
	line(cols, "faults/s %.0f  vmas %zu  procs %zu  pinned %llu  findings %zu  lost %llu",
	     total, n, r->nr_procs, (unsigned long long)pins, nf, (unsigned long long)lost);
	line(cols, "%s", "");
	line(cols, "%7s %-12s %-20s %9s %8s %5s %4s %s", "PID", "COMM", "VMA", "FAULTS/s",
	     "RSS(kB)", "PINS", "FIND", "HANDLER");
	for (size_t i = 0; i < n && (!tty || shown < height - 5); i++, shown++) {
		const struct top_row *w = &rows[i];
		char rss[24];

		if (w->rss < 0)
			snprintf(rss, sizeof(rss), "-");
		else
			snprintf(rss, sizeof(rss), "%lld", w->rss * 4);
		line(cols, "%7u %-12.12s %-20.20s %9.0f %8s %5llu %4llu %s", w->v->key.tgid,
		     w->v->val.comm, w->v->name, w->rate, rss, (unsigned long long)w->pins,
		     (unsigned long long)w->findings,
		     strcmp(w->v->fault_handler, "?") ? w->v->fault_handler : w->v->mmap_handler);
	}
	if (tty)
		fputs("\033[J", stdout);	/* clear what a longer frame left below */
	else
		fputs("\n", stdout);
	fflush(stdout);
}

/* Waits up to @ms for a key; returns it, or 0. */
static int key_wait(int ms, bool tty)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char c;

	if (!tty) {
		usleep(ms * 1000);
		return 0;
	}
	if (poll(&p, 1, ms) > 0 && read(STDIN_FILENO, &c, 1) == 1)
		return c;
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct session_opts so = { .quiet = true };
	static struct session ses;
	struct termios saved, raw;
	struct prev *prev = NULL;
	size_t nprev = 0;
	struct policy pol = {};
	bool tty, raw_set = false;
	double last = 0;
	long iter = 0;
	int ret;

	args.interval = 1;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (args.pid > 0 && kill(args.pid, 0) && errno == ESRCH) {
		fprintf(stderr, "pfnscope top: -p %d: no such process\n", args.pid);
		return EXIT_USAGE;
	}
	if (policy_add_builtin(&pol))
		return EXIT_INTERNAL;
	so.backend = args.backend;
	so.filter_tgids = args.pid > 0;
	ret = session_start(&ses, &so);
	if (ret) {
		policy_free(&pol);
		return ret;
	}
	if (args.pid > 0)
		fault_trace_pid(&ses.fc, args.pid);
	cur_sort = args.sort;
	tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (tty && !tcgetattr(STDIN_FILENO, &saved)) {
		raw = saved;
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		raw_set = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fputs("\033[?25l\033[2J", stdout);	/* hide the cursor, clear once */
	}
	stop_on_signals();
	while (!stop_requested) {
		struct report r = { .command = "top" };
		struct state st = {};
		struct top_row *rows;
		struct prev *cur;
		struct timespec ts;
		double now, dt;
		size_t n = 0;
		int key;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec + ts.tv_nsec / 1e9;
		dt = last ? now - last : 0;
		last = now;
		if (session_read(&ses, &st, ST_MASK_ALL) ||
		    collect_report(&st, session_ksyms(&ses), &r) ||
		    pins_collect(&st, session_ksyms(&ses), ses.io, &r) ||
		    findings_evaluate(&r, ses.io, &pol)) {
			pr_err("cannot read the BPF maps");
			state_free(&st);
			report_free(&r);
			ret = EXIT_INTERNAL;
			break;
		}
		rows = calloc(r.nr_vmas + 1, sizeof(*rows));
		cur = calloc(r.nr_vmas + 1, sizeof(*cur));
		for (size_t i = 0; rows && cur && i < r.nr_vmas; i++) {
			const struct vma_row *v = &r.vmas[i];
			struct prev key = { v->val.id }, *p;
			long long rss = 0;

			cur[i].id = v->val.id;
			cur[i].faults = v->val.faults;
			if (v->merged || (args.module && strcmp(v->module, args.module)))
				continue;
			p = prev ? bsearch(&key, prev, nprev, sizeof(*prev), cmp_prev) : NULL;
			rows[n].v = v;
			rows[n].rate = dt > 0 ? (v->val.faults - (p ? p->faults : 0)) / dt : 0;
			for (int m = 0; m < RSS_MEMBERS; m++)
				rss = add_wrap(rss, rss_net(&v->val, m));
			rows[n].rss = plan_hook_active(&ses.plan, HOOK_RSS_RMAP) ? rss : -1;
			for (int k = 0; k < PIN_KIND__MAX; k++)
				rows[n].pins += v->pins_outstanding[k];
			for (size_t f = 0; f < r.nr_findings; f++)
				rows[n].findings += r.findings[f].vma == v &&
						    r.findings[f].severity != SEV_NONE;
			n++;
		}
		if (rows && cur) {
			sort_n(cur, r.nr_vmas, sizeof(*cur), cmp_prev);
			free(prev);
			prev = cur;
			nprev = r.nr_vmas;
			cur = NULL;
			if (iter > 0 || !tty) {
				sort_n(rows, n, sizeof(*rows), cmp_row);
				if (iter > 0)
					draw(&r, rows, n, r.drops[DROP_RINGBUF_FULL] +
					     r.drops[DROP_VMA_MAP_FULL] + r.drops[DROP_VMA_LOOKUP] +
					     r.drops[DROP_VMA_NONE], tty);
			}
		}
		free(rows);
		free(cur);
		state_free(&st);
		report_free(&r);
		/* the first read only sets the baseline for the rates */
		if (iter++ && args.iterations && iter > args.iterations)
			break;
		key = key_wait(iter == 1 ? 200 : args.interval * 1000, tty);
		if (key == 'q')
			break;
		if (key == 's')
			cur_sort = (cur_sort + 1) % SORT__MAX;
		for (int s = 0; s < SORT__MAX; s++)
			if (key == "frpx"[s])
				cur_sort = s;
	}
	if (raw_set)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (tty)
		fputs("\033[?25h\n", stdout);
	free(prev);
	session_stop(&ses);
	policy_free(&pol);
	return ret;
}
