// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope snapshot: what a running agent has aggregated so far (top VMAs, findings,
 * outstanding pins), read from its pinned maps read-only: the agent is not disturbed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pfnscope.h"
#include "options.h"
#include "agentstate.h"
#include "collect.h"
#include "kaddr.h"
#include "pins.h"
#include "zap.h"
#include "report.h"
#include "ledger.h"
#include <bpf/bpf.h>
#include <json-c/json.h>

enum { OPT_JSON = 0x100, OPT_STATE_DIR };

static struct snapshot_args {
	bool json;
	long top;
	const char *state_dir;
} args;

static const char doc[] =
	"Show what the running agent has seen so far: the busiest VMAs, findings and outstanding "
	"pins. Reads the agent's pinned maps read-only; the agent is not disturbed.\n"
	"\n"
	"USAGE: pfnscope snapshot [--json] [-n TOP]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope snapshot              # top 20 VMAs by faults, findings, pins\n"
	"    pfnscope snapshot --json > s.json\n"
	"\n"
	"Exit status: 0 done, 2 usage error, 3 no agent state (start pfnscope agent first) or "
	"state that cannot be read (not root, or another pfnscope build's).";

static const struct argp_option options[] = {
	{ "json", OPT_JSON, NULL, 0, "The JSON document of check, on stdout" },
	{ "top", 'n', "N", 0, "Show the N busiest VMAs (default 20)" },
	{ "state-dir", OPT_STATE_DIR, "DIR", 0, "bpffs directory of the agent's state" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case OPT_JSON:
		args.json = true;
		break;
	case 'n':
		errno = 0;
		args.top = strtol(arg, &end, 10);
		if (errno || *end || args.top <= 0)
			return usage_error(state, "-n: '%s' is not a positive number", arg);
		break;
	case OPT_STATE_DIR:
		args.state_dir = arg;
		break;
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };

/* Findings of processes the agent has already folded into its ledger (src/agent.c): the key
 * is "findings", RULE, "SEVERITY/MODULE". */
struct retired {
	json_object *arr;
	FILE *out;
	size_t n;
};

static void retired_one(void *ctx, const char *rule, const char *sevmod, __u64 v)
{
	struct retired *r = ctx;
	const char *slash = strchr(sevmod, '/');
	char sev[16];

	if (!slash || (size_t)(slash - sevmod) >= sizeof(sev))
		return;
	snprintf(sev, sizeof(sev), "%.*s", (int)(slash - sevmod), sevmod);
	r->n++;
	if (r->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "rule", json_object_new_string(rule));
		json_object_object_add(o, "severity", json_object_new_string(sev));
		json_object_object_add(o, "module", json_object_new_string(slash + 1));
		json_object_object_add(o, "count", json_object_new_int64(v));
		json_object_array_add(r->arr, o);
	} else {
		fprintf(r->out, "  %-18s %-8s %-20s %llu\n", rule, sev, slash + 1,
			(unsigned long long)v);
	}
}

static void print_retired(const char *dir, json_object *arr)
{
	struct ledger l = { .fd = -1 };
	struct retired r = { .arr = arr, .out = stdout };
	char path[512];

	snprintf(path, sizeof(path), "%s/ledger", dir);
	l.fd = bpf_obj_get(path);
	if (l.fd < 0)
		return;
	if (!arr)
		printf("\nFindings in processes that have exited (folded by the agent):\n");
	ledger_each(&l, "findings", retired_one, &r);
	if (!arr && !r.n)
		printf("  none\n");
	ledger_close(&l);
}

static int cmp_faults(const void *a, const void *b)
{
	const struct vma_row *x = *(struct vma_row *const *)a, *y = *(struct vma_row *const *)b;

	return x->val.faults > y->val.faults ? -1 : x->val.faults < y->val.faults;
}

/*
 * Each live process's mm counters, from the agent's pinned rss iterator: reading the pin runs
 * the iterator (one struct rss_sample per traced process). The agent itself keeps no
 * per-process RSS rows (it runs no program on RSS changes), so this is where they come from.
 * A missing pin (an agent without the iterator) leaves the processes without rss_stat.
 */
static int cmp_sample_tgid(const void *a, const void *b)
{
	__u32 x = ((const struct rss_sample *)a)->tgid, y = ((const struct rss_sample *)b)->tgid;

	return x < y ? -1 : x > y;
}

static void agent_rss_read(const char *dir, struct report *r)
{
	struct rss_sample *v, key;
	char path[512];
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, AGENT_RSS_ITER);
	if (zap_rss_read_pinned(path, &v, &n))
		return;
	if (n)
		qsort(v, n, sizeof(*v), cmp_sample_tgid);
	for (size_t i = 0; i < r->nr_procs && n; i++) {
		struct proc_row *p = &r->procs[i];
		const struct rss_sample *s;

		key.tgid = p->pid;
		if (p->val.exited || !(s = bsearch(&key, v, n, sizeof(*v), cmp_sample_tgid)))
			continue;
		p->have_rss_stat = true;
		p->rss_stat_sampled = true;
		for (int m = 0; m < RSS_MEMBERS; m++)
			p->rss_stat[m] = s->pages[m];
	}
	free(v);
}

/* Opens the agent's state, or explains that only the future can be seen. */
int agent_report(const char *dir, struct report *r, struct ksyms **ks, struct iomem **io,
		 const struct policy *pol)
{
	struct state_fds fds;
	struct state st = {};
	int err;

	if (!agent_state_open(dir, &fds)) {
		agent_state_close(&fds);
		return -ENOENT;
	}
	*ks = kaddr_ksyms();
	*io = iomem_load();
	err = state_read(&st, &fds, ST_MASK_ALL);
	agent_state_close(&fds);
	if (!err)
		err = collect_report(&st, *ks, r);
	if (!err)
		agent_rss_read(dir, r);
	if (!err)
		err = pins_collect(&st, *ks, *io, r) ?: findings_evaluate(r, *io, pol);
	state_free(&st);
	return err;
}

int cmd_snapshot(int argc, char **argv)
{
	struct report rep = { .command = "snapshot" };
	struct ksyms *ks = NULL;
	struct iomem *io = NULL;
	struct policy pol = {};
	struct vma_row **by;
	pid_t pid;
	int ret = EXIT_ENV, err;

	args.top = 20;
	args.state_dir = AGENT_STATE_DIR;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (policy_add_builtin(&pol))
		return EXIT_INTERNAL;
	pid = agent_running();
	err = agent_report(args.state_dir, &rep, &ks, &io, &pol);
	if (err == -ENOENT) {
		pr_err("no agent state in %s: nothing was aggregated before now; start 'pfnscope "
		       "agent', or watch from now on with pfnscope top/trace", args.state_dir);
		goto out;
	}
	if (err == -EPROTO) {	/* state_vma_caches(): another layout */
		pr_err("cannot read the agent's maps: they are another pfnscope build's (restart the "
		       "agent with this one)");
		goto out;
	}
	if (err) {
		pr_err("cannot read the agent's maps: %s%s", strerror(-err),
		       err == -EPERM || err == -EACCES ? " (root needed)" : "");
		goto out;
	}
	rep.started = time(NULL);
	if (args.json) {
		/* the report document, plus the findings of exited processes the agent folded */
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		json_object *doc, *arr = json_object_new_array();

		ret = EXIT_INTERNAL;
		if (mem && !report_write_json(&rep, mem) && !fclose(mem) &&
		    (doc = json_tokener_parse(buf))) {
			print_retired(args.state_dir, arr);
			json_object_object_add(doc, "retired_findings", arr);
			puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(doc);
			ret = EXIT_CLEAN;
		} else {
			json_object_put(arr);
		}
		free(buf);
		goto out;
	}
	printf("From %s (%s), read-only: the agent is not disturbed.\n\n",
	       pid ? "the running agent" : "the state a stopped agent kept", args.state_dir);
	by = calloc(rep.nr_vmas + 1, sizeof(*by));
	if (!by) {
		ret = EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < rep.nr_vmas; i++)
		by[i] = &rep.vmas[i];
	sort_n(by, rep.nr_vmas, sizeof(*by), cmp_faults);
	printf("%7s %-15s %-24s %10s %8s %s\n", "PID", "COMM", "VMA", "FAULTS", "PINNED", "HANDLER");
	for (long i = 0; i < args.top && (size_t)i < rep.nr_vmas; i++) {
		const struct vma_row *v = by[i];
		__u64 pinned = 0;

		for (int k = 0; k < PIN_KIND__MAX; k++)
			pinned += v->pins_outstanding[k];
		printf("%7u %-15.15s %-24.24s %10llu %8llu %s\n", v->key.tgid, v->val.comm, v->name,
		       (unsigned long long)v->val.faults, (unsigned long long)pinned,
		       v->fault_handler);
	}
	free(by);
	printf("\n");
	report_print_findings(&rep, stdout);
	print_retired(args.state_dir, NULL);
	printf("\n%zu VMAs and %zu processes tracked; %zu pages pinned now\n", rep.nr_vmas,
	       rep.nr_procs, rep.pins.nr_pins);
	ret = EXIT_CLEAN;
out:
	report_free(&rep);
	ksyms_free(ks);
	iomem_free(io);
	policy_free(&pol);
	return ret;
}
