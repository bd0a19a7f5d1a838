// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope pins: the outstanding FOLL_PIN pins, oldest first, with who took them. Without a
 * running agent (issue: agent) pins can only be watched from now on: pfnscope attaches, waits
 * --duration seconds (or ^C) and lists what is still pinned, saying so.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "pfnscope.h"
#include "options.h"
#include "session.h"
#include "collect.h"
#include "agentstate.h"
#include "report.h"

enum { OPT_JSON = 0x100, OPT_PID = 'p', OPT_DURATION = 'd' };

static struct {
	bool json;
	long pid;
	double duration;
} args = { .duration = 10 };

static const char doc[] =
	"List the pages still pinned (FOLL_PIN), oldest first, with the process and kernel stack "
	"that pinned them.\n"
	"\n"
	"USAGE: pfnscope pins [-p PID] [-d SECONDS] [--json]\n"
	"\n"
	"Without a running pfnscope agent, pins taken before this command started cannot be "
	"seen: it watches from now on for --duration seconds (^C ends early) and says so.\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope pins -d 30          # pins taken in the next 30 s and still held\n"
	"    pfnscope pins -p 1234 --json # only those taken by process 1234, as JSON";

static const struct argp_option options[] = {
	{ "pid", OPT_PID, "PID", 0, "Only pins taken by process PID" },
	{ "duration", OPT_DURATION, "SECONDS", 0, "How long to watch (default 10)" },
	{ "json", OPT_JSON, NULL, 0, "Print JSON" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case OPT_PID:
		errno = 0;
		args.pid = strtol(arg, &end, 10);
		if (errno || *end || args.pid <= 0)
			return usage_error(state, "-p: '%s' is not a process id", arg);
		if (kill(args.pid, 0) && errno == ESRCH)
			return usage_error(state, "-p: no process %ld", args.pid);
		break;
	case OPT_DURATION:
		errno = 0;
		args.duration = strtod(arg, &end);
		if (errno || *end || args.duration <= 0 || args.duration > 86400)
			return usage_error(state, "-d: '%s' is not a number of seconds in (0, 86400]",
					   arg);
		break;
	case OPT_JSON:
		args.json = true;
		break;
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };


static int cmp_age(const void *a, const void *b)
{
	const struct pin_row *x = a, *y = b;

	return x->val.since_ns < y->val.since_ns ? -1 : x->val.since_ns > y->val.since_ns;
}

int cmd_pins(int argc, char **argv)
{
	struct session_opts so = { .quiet = true };
	static struct session ses;
	struct report rep = { .command = "pins" };
	struct state st = {};
	struct timespec t0, t;
	struct ksyms *ks = NULL;
	struct iomem *io = NULL;
	struct policy pol = {};
	bool from_agent = false;
	int ret, err;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (policy_add_builtin(&pol))
		return EXIT_INTERNAL;
	/* a running (or stopped, state kept) agent knows the pins taken before now */
	err = agent_report(AGENT_STATE_DIR, &rep, &ks, &io, &pol);
	if (!err && rep.pins.have) {
		from_agent = true;
		if (!args.json)
			fprintf(stderr, "pfnscope: from the agent's state in %s (read-only: the agent "
				"is not disturbed)\n", AGENT_STATE_DIR);
		goto print;
	}
	if (err && err != -ENOENT)
		pr_warn("cannot read the agent's state in %s (%s): only the pins taken from now on",
			AGENT_STATE_DIR, err == -EPROTO ? "another pfnscope build's" : strerror(-err));
	report_free(&rep);
	memset(&rep, 0, sizeof(rep));
	rep.command = "pins";
	so.filter_tgids = args.pid > 0;
	ret = session_start(&ses, &so);
	if (ret)
		return ret;
	ret = EXIT_ENV;
	rep.plan = &ses.plan;
	if (args.pid > 0)
		fault_trace_pid(&ses.fc, args.pid);
	if (!ses.gc.skel) {
		long long acq, rel;

		if (!vmstat_pins(&acq, &rel))
			printf("global (/proc/vmstat): nr_foll_pin_acquired %lld, released %lld: %lld "
			       "pages pinned now, by whom unknown\n", acq, rel, acq - rel);
		pr_err("pin hooks cannot attach on this kernel (pfnscope probe says why): per-page "
		       "pins are unavailable, only the global counters above");
		goto out_stop;
	}
	stop_on_signals();
	if (!args.json)
		fprintf(stderr, "pfnscope: no agent running: watching pins taken from now on for "
			"%.0f s (^C to stop early)\n", args.duration);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop_requested) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= args.duration)
			break;
		usleep(100 * 1000);
	}
	rep.started = time(NULL);
	if (session_read(&ses, &st, ST_MASK_ALL) ||
	    collect_report(&st, session_ksyms(&ses), &rep) ||
	    pins_collect(&st, session_ksyms(&ses), ses.io, &rep)) {
		pr_err("cannot read the BPF maps");
		ret = EXIT_INTERNAL;
		goto out_stop;
	}
print:
	if (args.pid > 0) {	/* only the pins of -p */
		size_t n = 0;

		for (size_t i = 0; i < rep.pins.nr_pins; i++)
			if (rep.pins.pins[i].val.caller.tgid == (__u32)args.pid)
				rep.pins.pins[n++] = rep.pins.pins[i];
		rep.pins.nr_pins = n;
	}
	sort_n(rep.pins.pins, rep.pins.nr_pins, sizeof(*rep.pins.pins), cmp_age);
	if (args.json) {
		json_object *root = json_object_new_object(), *a = json_object_new_array();

		json_object_object_add(root, "source", json_object_new_string(from_agent ? "agent" :
										      "watched"));
		if (!from_agent)
			json_object_object_add(root, "watched_s", json_object_new_double(args.duration));
		for (size_t i = 0; i < rep.pins.nr_pins; i++) {
			const struct pin_row *p = &rep.pins.pins[i];
			json_object *o = json_object_new_object(), *st = json_object_new_array();
			char pfn[24];

			snprintf(pfn, sizeof(pfn), "0x%llx", (unsigned long long)p->pfn);
			json_object_object_add(o, "pfn", json_object_new_string(pfn));
			json_object_object_add(o, "refs", json_object_new_int64(p->val.refs));
			json_object_object_add(o, "age_s", json_object_new_double(
				(rep.pins.now_ns - p->val.since_ns) / 1e9));
			json_object_object_add(o, "pid", json_object_new_int64(p->val.caller.tgid));
			json_object_object_add(o, "kind",
					       json_object_new_string(pin_kind_name(p->val.caller.kind)));
			if (p->caller) {
				json_object_object_add(o, "comm",
						       json_object_new_string(p->caller->val.comm));
				for (int k = 0; k < p->caller->depth; k++)
					json_object_array_add(st, json_object_new_string(p->caller->stack[k]));
			}
			json_object_object_add(o, "stack", st);
			json_object_array_add(a, o);
		}
		json_object_object_add(root, "outstanding", a);
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	} else {
		printf("%-10s %5s %9s %-7s %-16s %-22s %s\n", "PFN", "REFS", "AGE(s)", "PID", "COMM",
		       "KIND", "PINNED FROM");
		for (size_t i = 0; i < rep.pins.nr_pins; i++) {
			const struct pin_row *p = &rep.pins.pins[i];
			const struct pin_caller_row *c = p->caller;
			const char *from = "?";

			/* the first frame outside GUP itself names the pinner */
			for (int k = 0; c && k < c->depth; k++)
				if (!strstr(c->stack[k], "grab") && !strstr(c->stack[k], "get_user_pages") &&
				    !strstr(c->stack[k], "follow_page")) {
					from = c->stack[k];
					break;
				}
			printf("0x%-8llx %5llu %9.1f %-7u %-16s %-22s %s\n", (unsigned long long)p->pfn,
			       (unsigned long long)p->val.refs, (rep.pins.now_ns - p->val.since_ns) / 1e9,
			       p->val.caller.tgid, c ? c->val.comm : "?",
			       pin_kind_name(p->val.caller.kind), from);
		}
		if (from_agent)
			printf("\n%zu pages pinned, as the agent has seen them\n", rep.pins.nr_pins);
		else
			printf("\n%zu pages pinned, watched for %.1f s from now on (no agent state)\n",
			       rep.pins.nr_pins, args.duration);
	}
	ret = EXIT_CLEAN;
out_stop:
	session_stop(&ses);
	report_free(&rep);
	state_free(&st);
	ksyms_free(ks);
	iomem_free(io);
	policy_free(&pol);
	return ret;
}
