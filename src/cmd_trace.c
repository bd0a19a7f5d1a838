// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope trace: a live stream of the fault machinery's events, one line each (NDJSON with
 * --json), with findings printed as they happen. The only mode besides record that streams
 * per-event records through the BPF ring buffer; lost events are counted and printed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "pfnscope.h"
#include "options.h"
#include "session.h"
#include "target.h"
#include "trace_view.h"
#include "report.h"

enum { OPT_JSON = 0x100, OPT_RULE, OPT_BACKEND, OPT_POLICY, OPT_RINGBUF };

static struct trace_args {
	struct target tgt;
	const char *module;
	unsigned int rule_mask;
	unsigned int types;
	bool json;
	double duration;
	enum backend backend;
	const char *policy;
	unsigned long ringbuf_mb;
} args;

static const char doc[] =
	"Stream what the page-fault machinery does, event by event: faults, pfns handed to the "
	"VM or inserted (class, region, caching mode), teardowns, pins and unpins, RSS changes, "
	"and findings as they happen.\n"
	"\n"
	"USAGE: pfnscope trace [OPTIONS] [-p PID | -c CMD | -- CMD [ARGS...]]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope trace -c ./driver-test        # one command and its children\n"
	"    pfnscope trace -p 1234 -e pfn,pin      # a running process: pfns and pins\n"
	"    pfnscope trace -m mydrv                # every process, mydrv.ko's VMAs only\n"
	"    pfnscope trace --rule NONRAM_PAGE      # findings of one rule only\n"
	"    pfnscope trace --json -d 10 > ev.ndjson   # NDJSON for 10 s\n"
	"\n"
	"Event types (-e): fault, pfn, teardown, pin, unpin, rss, bad-pte, exit, all.\n"
	"Exit status: 0 done, 2 usage error, 3 environment error (not root, no BTF), "
	"126 COMMAND cannot run, 127 COMMAND not found.";

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Trace this process (and the children it forks from now on)" },
	{ "command", 'c', "CMD", 0, "Run CMD with /bin/sh -c and trace it; stop when it exits" },
	{ "module", 'm', "NAME", 0, "Only events of VMAs whose driver is module NAME" },
	{ "rule", OPT_RULE, "RULE", 0, "Only findings of RULE (repeatable; comma list); no events" },
	{ "events", 'e', "TYPES", 0, "Event types to print, comma separated (default: all)" },
	{ "json", OPT_JSON, NULL, 0, "One JSON object per line (NDJSON) instead of columns" },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: ^C, or the command's end)" },
	{ "backend", OPT_BACKEND, "MECH", 0, "Force function hooks to fentry, kprobe or tracepoint" },
	{ "policy", OPT_POLICY, "FILE", 0, "Policy file: lower or silence rules" },
	{ "ringbuf", OPT_RINGBUF, "MIB", 0, "Event rings in MiB, all CPUs together, a power of 2 (default 2 MiB a CPU)" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	char *end, buf[256], *tok, *save;

	switch (key) {
	case 'p':
		return opt_pid(state, "-p", arg, &args.tgt.pid);
	case 'c':
		args.tgt.shell_cmd = arg;
		break;
	case 'm':
		args.module = arg;
		break;
	case OPT_RULE:
		snprintf(buf, sizeof(buf), "%s", arg);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int r = rule_by_name(tok);

			if (r < 0)
				return usage_error(state, "--rule: unknown rule '%s' (docs/findings.md "
						   "lists them: NONRAM_PAGE, RESERVED_PAGE, ...)", tok);
			args.rule_mask |= 1u << r;
		}
		break;
	case 'e':
		return opt_events(state, arg, &args.types);
	case OPT_JSON:
		args.json = true;
		break;
	case 'd':
		errno = 0;
		args.duration = strtod(arg, &end);
		if (errno || *end || args.duration <= 0 || args.duration > 31536000)
			return usage_error(state, "-d: '%s' is not a number of seconds > 0", arg);
		break;
	case OPT_BACKEND:
		return opt_backend(state, arg, (int *)&args.backend);
	case OPT_POLICY:
		args.policy = arg;
		break;
	case OPT_RINGBUF:
		return opt_ringbuf(state, arg, &args.ringbuf_mb);
	case ARGP_KEY_ARG:
		args.tgt.argv = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };


static int on_event(void *ctx, const struct trace_rec *e)
{
	return trace_view_event(ctx, e) == -EPIPE ? -EPIPE : 0;
}

/*
 * The rules no single event shows: RSS_IMBALANCE once an address space has exited, and the
 * pin rules on the pins still held (and by whom). A trace judges them once, at its end, on the
 * session's tables, as check does; the per-event rules were printed as they happened.
 */
#define END_RULES ((1u << RULE_RSS_IMBALANCE) | (1u << RULE_PIN_LEAK) | \
		   (1u << RULE_PIN_AFTER_UNMAP) | (1u << RULE_LONGTERM_PIN))

static void end_findings(struct session *s, const struct policy *pol, const char *module,
			 unsigned int rule_mask, bool json, double t)
{
	unsigned int want = rule_mask ? rule_mask & END_RULES : END_RULES;
	struct report rep = { .plan = &s->plan };
	struct state st = {};
	size_t n = 0;
	int err;

	if (!want)
		return;
	if (!plan_hook_active(&s->plan, HOOK_RSS_RMAP) && !plan_hook_active(&s->plan, HOOK_PIN_GRAB)) {
		if (rule_mask & END_RULES)	/* asked for by name: say why nothing comes */
			pr_warn("RSS_IMBALANCE and the pin rules need hooks this kernel lacks here "
				"(rss-rmap, pin-grab: pfnscope probe)");
		return;
	}
	err = session_judge(s, &st, &rep, module, pol);
	if (err) {
		pr_warn("end-of-trace findings: cannot read the BPF maps: %s", strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < rep.nr_findings; i++)	/* only the rules judged here */
		if (want & (1u << rep.findings[i].rule))
			rep.findings[n++] = rep.findings[i];
	rep.nr_findings = n;
	if (!json) {
		printf("# at the end: RSS_IMBALANCE and pin rules, judged on the tables\n");
		report_print_findings(&rep, stdout);
		goto out;
	}
	for (size_t i = 0; i < rep.nr_findings; i++) {
		const struct finding *f = &rep.findings[i];
		json_object *o;

		if (f->severity == SEV_NONE || (f->vma ? f->vma->hidden : module != NULL))
			continue;
		o = finding_json(f);
		json_object_object_add(o, "t", json_object_new_double(t));
		json_object_object_add(o, "type", json_object_new_string("finding"));
		json_object_object_add(o, "at", json_object_new_string("end"));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
out:
	report_free(&rep);
	state_free(&st);
}

/* Every loss counter; returns the ring buffer's. */
static __u64 read_drops(struct session *s, __u64 drops[DROP__MAX])
{
	struct state st = {};

	memset(drops, 0, DROP__MAX * sizeof(*drops));
	if (!session_read(s, &st, 1u << ST_DROPS))
		for (int d = 0; d < DROP__MAX; d++)
			drops[d] = state_sum(&st, ST_DROPS, d);
	state_free(&st);
	return drops[DROP_RINGBUF_FULL];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_trace(int argc, char **argv)
{
	struct session_opts so = {};
	static struct session ses;
	struct trace_view tv = {};
	struct evring *rb = NULL;
	struct policy pol = {};
	__u64 lost = 0, lost_shown = 0, total = 0, drops[DROP__MAX];
	char perr[512], what[256];
	double t0, last_check = 0;
	int ret, err;

	args.types = TRACE_ALL_TYPES;
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, NULL))
		return EXIT_USAGE;
	ret = target_check(&args.tgt, "pfnscope trace");
	if (ret)
		return ret;
	if (policy_add_builtin(&pol) ||
	    (args.policy && policy_load(&pol, args.policy, perr, sizeof(perr)))) {
		pr_err("policy: %s", args.policy ? perr : "out of memory");
		policy_free(&pol);
		return EXIT_USAGE;
	}
	so.backend = args.backend;
	so.filter_tgids = target_filters(&args.tgt);
	so.ignore_self = true;
	/* findings need the pfn events even when only other types are printed */
	so.trace_mask = args.rule_mask ? (1u << TE_PFN) | (1u << TE_BAD_PTE) :
		        args.types | (1u << TE_PFN) | (1u << TE_BAD_PTE);
	so.ringbuf_bytes = (__u64)args.ringbuf_mb << 20;	/* 0: EVRING_DEFAULT_SLOTS a CPU */
	ret = session_start(&ses, &so);
	if (ret) {
		policy_free(&pol);
		return ret;
	}
	session_warn_failed(&ses);
	tv.ses = &ses;
	tv.io = ses.io;
	tv.pol = &pol;
	tv.out = stdout;
	tv.json = args.json;
	tv.module = args.module;
	tv.rule_mask = args.rule_mask;
	tv.type_mask = args.types;
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	stop_on_signals();
	rb = session_events(&ses, on_event, &tv);
	if (!rb) {
		pr_err("cannot map the event rings: %s", strerror(errno));
		ret = EXIT_INTERNAL;
		goto out;
	}
	target_describe(&args.tgt, what, sizeof(what));
	err = target_start(&args.tgt, &ses);
	if (err) {
		ret = target_start_error(&args.tgt, "pfnscope trace", err);
		goto out;
	}
	fprintf(stderr, "pfnscope: tracing %s (^C to stop)\n", what);
	/* attached and recording into the rings since session_start(): the first line waits for
	 * the symbols thread (src/session.c: a millisecond where the kernel names addresses
	 * itself, 30-70 ms where /proc/kallsyms must be read), the events meanwhile wait in the
	 * rings */
	tv.ks = session_ksyms(&ses);
	if (!args.json)
		printf("# pfnscope trace of %s (^C to stop)\n%10s %7s %-15s %-9s %-24s %s\n", what,
		       "TIME(s)", "PID", "COMM", "EVENT", "VMA", "DETAIL");
	t0 = now_s();
	ret = EXIT_CLEAN;
	while (!stop_requested) {
		/* no wakeups: the rings are read on a timer (bpf/common.bpf.h) */
		usleep(evring_poll_us(rb));
		err = evring_drain(rb, false);
		if (err >= 0)
			err = trace_view_flush(&tv, false);
		if (err < 0 || ferror(stdout)) {
			if (err != -EPIPE && !ferror(stdout))
				pr_err("event rings: %s", strerror(-err));
			break;
		}
		if (now_s() - last_check >= 1) {
			last_check = now_s();
			lost = read_drops(&ses, drops) + evring_abandoned(rb);
			if (lost > lost_shown) {
				fflush(stdout);
				pr_warn("%llu events lost so far (ring buffer full: --ringbuf larger)",
					(unsigned long long)lost);
				lost_shown = lost;
			}
		}
		if (target_filters(&args.tgt) && target_gone(&args.tgt))
			break;
		if (args.duration && now_s() - t0 >= args.duration)
			break;
	}
	evring_drain(rb, true);
	trace_view_flush(&tv, true);
	target_stop(&args.tgt);
	end_findings(&ses, &pol, args.module, args.rule_mask, args.json, now_s() - t0);
	lost = read_drops(&ses, drops) + evring_abandoned(rb);
	for (int t = 0; t < TE__MAX; t++)
		total += tv.events[t];
	if (args.json) {
		json_object *o = json_object_new_object(), *c = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string("summary"));
		for (int t = 1; t < TE__MAX; t++)
			json_object_object_add(c, trace_type_name(t), json_object_new_int64(tv.events[t]));
		json_object_object_add(o, "events", c);
		json_object_object_add(o, "lost", json_object_new_int64(lost));
		c = json_object_new_object();
		for (int d = 0; d < DROP__MAX; d++)
			json_object_object_add(c, drop_reason_name(d), json_object_new_int64(drops[d]));
		json_object_object_add(o, "dropped", c);
		json_object_object_add(o, "seconds", json_object_new_double(now_s() - t0));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	fflush(stdout);
	fprintf(stderr, "pfnscope: %llu events in %.1f s (", (unsigned long long)total, now_s() - t0);
	for (int t = 1; t < TE__MAX; t++)
		fprintf(stderr, "%s%s %llu", t > 1 ? ", " : "", trace_type_name(t),
			(unsigned long long)tv.events[t]);
	fprintf(stderr, "), %llu shown, %llu lost (ring buffer full)",
		(unsigned long long)tv.shown, (unsigned long long)lost);
	for (int d = 0; d < DROP__MAX; d++)
		if (d != DROP_RINGBUF_FULL && drops[d])
			fprintf(stderr, ", %llu %s", (unsigned long long)drops[d], drop_reason_name(d));
	fputc('\n', stderr);
out:
	evring_free(rb);
	target_stop(&args.tgt);
	trace_view_free(&tv);
	session_stop(&ses);
	policy_free(&pol);
	return ret;
}
