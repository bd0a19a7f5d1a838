// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope report FILE: the tables and findings of check, and a timeline, from a recording.
 * No root and no BPF: symbols and /proc/iomem come from the recording itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pfnscope.h"
#include "options.h"
#include "recording.h"
#include "recmeta.h"
#include "replay.h"
#include "collect.h"
#include "report.h"
#include "html.h"
#include "pins.h"
#include "trace_view.h"

enum { OPT_JSON = 0x100, OPT_HTML, OPT_POLICY, OPT_FAIL_ON, OPT_EVENTS };

static struct report_args {
	const char *file;
	const char *json;
	const char *html;
	const char *policy;
	const char *module;
	enum severity fail_on;
	bool events;
} args;

static const char doc[] =
	"Report on a recording made by pfnscope record: the per-VMA tables and findings of check, "
	"plus a timeline. Needs no root and no BPF; works on any machine.\n"
	"\n"
	"USAGE: pfnscope report FILE [OPTIONS]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope report run.pfns                    # tables and findings\n"
	"    pfnscope report run.pfns --html run.html    # one self-contained HTML file\n"
	"    pfnscope report run.pfns --json -           # the JSON document of check\n"
	"    pfnscope report run.pfns --events -m mydrv  # replay the events, as trace shows them\n"
	"\n"
	"A damaged or truncated recording is reported up to its last whole block, with a warning "
	"naming where it stops.\n"
	"Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage error or unreadable "
	"FILE.";

static const struct argp_option options[] = {
	{ "json", OPT_JSON, "FILE", 0, "Write the JSON report to FILE ('-' for stdout)" },
	{ "html", OPT_HTML, "FILE", 0, "Write a self-contained HTML report to FILE" },
	{ "policy", OPT_POLICY, "FILE", 0, "Policy file: lower or silence rules" },
	{ "fail-on", OPT_FAIL_ON, "SEVERITY", 0,
	  "Exit 1 if a finding is at least SEVERITY: info, warning, error (default), none" },
	{ "module", 'm', "NAME", 0, "Only VMAs whose driver is module NAME" },
	{ "events", OPT_EVENTS, NULL, 0, "Also print every recorded event, as trace does" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_JSON:
		args.json = arg;
		break;
	case OPT_HTML:
		args.html = arg;
		break;
	case OPT_POLICY:
		args.policy = arg;
		break;
	case OPT_FAIL_ON:
		if (parse_severity(arg, &args.fail_on))
			return usage_error(state, "--fail-on: unknown severity '%s' (info, warning, "
					   "error, none)", arg);
		break;
	case 'm':
		args.module = arg;
		break;
	case OPT_EVENTS:
		args.events = true;
		break;
	case ARGP_KEY_ARG:
		if (args.file)
			return usage_error(state, "one recording at a time ('%s' is extra)", arg);
		args.file = arg;
		break;
	case ARGP_KEY_END:
		if (!args.file)
			return usage_error(state, "no FILE given (pfnscope report FILE)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };

static void replay_events(struct replay *rp, struct ksyms *ks, const struct iomem *io,
			  const struct policy *pol)
{
	struct trace_view tv = { .ks = ks, .io = io, .pol = pol, .out = stdout,
				 .module = args.module, .type_mask = TRACE_ALL_TYPES };

	if (trace_view_index(&tv, &rp->last))
		return;
	printf("%10s %7s %-15s %-9s %-24s %s\n", "TIME(s)", "PID", "COMM", "EVENT", "VMA",
	       "DETAIL");
	for (size_t i = 0; i < rp->nr_ev; i++)
		trace_view_event(&tv, &rp->ev[i]);
	printf("\n");
	trace_view_free(&tv);
}

int cmd_report(int argc, char **argv)
{
	struct replay rp = {};
	struct rec_reader rd = {};
	struct report rep = { .command = "record" };
	struct output out = {}, hout = {};
	struct policy pol = {};
	char perr[512];
	int ret = EXIT_USAGE, err;

	args.fail_on = SEV_ERROR;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (policy_add_builtin(&pol) ||
	    (args.policy && policy_load(&pol, args.policy, perr, sizeof(perr)))) {
		pr_err("policy: %s", args.policy ? perr : "out of memory");
		goto out;
	}
	if (rec_open(&rd, args.file, perr, sizeof(perr))) {
		pr_err("%s", perr);
		goto out;
	}
	replay_read(&rp, &rd);
	if (rp.have_meta && !rp.have_snapshot && rp.nr_ev) {
		/* a recorder killed before its first snapshot (-i longer than it ran): its events
		 * are all there is; no VMA rows name them and no table can be built */
		if (!args.events) {
			pr_err("%s: no snapshot in the recording (interrupted before its first), only "
			       "%zu events: 'pfnscope report %s --events' replays them", args.file,
			       rp.nr_ev, args.file);
			goto out;
		}
		pr_warn("%s has no snapshot (interrupted before its first): its %zu events "
			"without VMA names, and no tables or findings", args.file, rp.nr_ev);
		err = replay_build(&rp, &rep);	/* its symbols and iomem; the tables empty */
		if (err) {
			pr_err("%s: %s", args.file, strerror(-err));
			goto out;
		}
		replay_events(&rp, rp.ks, rp.io, &pol);
		printf("recording: %u blocks, %zu events, 0 snapshots%s\n", rp.blocks, rp.nr_ev,
		       rd.damage[0] ? " (damaged: see above)" : "");
		ret = EXIT_CLEAN;
		goto out;
	}
	if (!rp.have_meta || !rp.have_snapshot) {
		pr_err("%s: no %s in the recording%s%s", args.file,
		       rp.have_meta ? "snapshot" : "header", rd.damage[0] ? ": damaged at " : "",
		       rd.damage);
		goto out;
	}
	if (rd.damage[0])
		pr_warn("%s is damaged at %s: reporting the %u whole blocks before it", args.file,
			rd.damage, rp.blocks);
	else if (!rp.end)
		pr_warn("%s has no end block (recording interrupted): reporting all %u blocks",
			args.file, rp.blocks);
	if ((args.json && (err = output_open(&out, args.json))) ||
	    (args.html && (err = output_open(&hout, args.html)))) {
		pr_err("cannot create %s: %s", out.f || !args.json ? args.html : args.json,
		       strerror(-err));
		goto out;
	}
	err = replay_build(&rp, &rep);
	if (err) {
		pr_err("%s: malformed snapshot: %s", args.file, strerror(-err));
		goto out;
	}
	rep.module_filter = args.module;
	for (size_t i = 0; i < rep.nr_vmas; i++)
		rep.vmas[i].hidden = rep.vmas[i].merged ||
				     (args.module && strcmp(rep.vmas[i].module, args.module));
	if (findings_evaluate(&rep, rp.io, &pol)) {
		ret = EXIT_INTERNAL;
		goto out;
	}
	if (args.events)
		replay_events(&rp, rp.ks, rp.io, &pol);
	report_print_table(&rep, out.f == stdout ? stderr : stdout);
	printf("recording: %u blocks, %zu events, %zu snapshots, lost %.0f events%s\n", rp.blocks,
	       rp.nr_ev, rep.nr_samples, replay_end_double(&rp, "lost", 0),
	       rd.damage[0] ? " (damaged: see above)" : "");
	if ((out.f && (report_write_json(&rep, out.f) || output_commit(&out))) ||
	    (hout.f && (report_write_html(&rep, hout.f) || output_commit(&hout)))) {
		pr_err("cannot write the report: %s", strerror(errno));
		ret = EXIT_ENV;
		goto out;
	}
	{
		enum severity worst = findings_worst(&rep);

		ret = worst != SEV_NONE && args.fail_on != SEV_NONE && worst >= args.fail_on ?
		      EXIT_FINDINGS : EXIT_CLEAN;
	}
out:
	if (ret != EXIT_CLEAN && ret != EXIT_FINDINGS) {
		output_abort(&out);
		output_abort(&hout);
	}
	rec_close_reader(&rd);
	report_free(&rep);
	replay_free(&rp);
	policy_free(&pol);
	return ret;
}
