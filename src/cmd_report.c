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

/* Everything read from the recording. */
struct replay {
	struct rec_meta meta;
	bool have_meta;
	char *syms;			/* kallsyms lines of every REC_SYMS block */
	size_t syms_len;
	struct state last;		/* the last snapshot */
	bool have_snapshot;
	struct trace_rec *ev;		/* every event, in order */
	size_t nr_ev;
	json_object *end;		/* the trailer, NULL if the recording was cut short */
	struct report timeline;		/* samples only */
	unsigned int blocks;
};

static int add_events(struct replay *rp, const char *data, size_t len)
{
	__u32 recsz;
	size_t n;
	struct trace_rec *ev;

	if (len < sizeof(recsz))
		return -EINVAL;
	memcpy(&recsz, data, sizeof(recsz));
	if (recsz < sizeof(struct trace_rec) || recsz > 4096)
		return -EINVAL;
	n = (len - sizeof(recsz)) / recsz;
	ev = realloc(rp->ev, (rp->nr_ev + n + 1) * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	rp->ev = ev;
	for (size_t i = 0; i < n; i++)
		memcpy(&rp->ev[rp->nr_ev++], data + sizeof(recsz) + i * recsz, sizeof(*ev));
	return 0;
}

/* Reads every whole block; returns -1 only if the file is not a recording at all. */
static int read_recording(const char *path, struct replay *rp, struct rec_reader *rd)
{
	char err[512];
	void *data;
	size_t len;
	__u32 type;
	int r;

	if (rec_open(rd, path, err, sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	while ((r = rec_next(rd, &type, &data, &len)) > 0) {
		struct state st;
		int e = 0;

		rp->blocks++;
		switch (type) {
		case REC_HEADER:
			if (!rp->have_meta)
				e = rec_meta_parse(data, len, &rp->meta);
			rp->have_meta = !e;
			break;
		case REC_SYMS: {
			char *n = realloc(rp->syms, rp->syms_len + len + 1);

			if (!n) {
				e = -ENOMEM;
				break;
			}
			memcpy(n + rp->syms_len, data, len);
			rp->syms = n;
			rp->syms_len += len;
			rp->syms[rp->syms_len] = '\0';
			break;
		}
		case REC_SNAPSHOT:
			e = rec_decode_state(data, len, &st);
			if (e)
				break;
			e = collect_timeline_sample(&st, &rp->timeline);
			state_free(&rp->last);
			rp->last = st;
			rp->have_snapshot = true;
			break;
		case REC_EVENTS:
			e = add_events(rp, data, len);
			break;
		case REC_END: {
			json_tokener *tok = json_tokener_new();

			if (tok) {
				rp->end = json_tokener_parse_ex(tok, data, len);
				json_tokener_free(tok);
			}
			break;
		}
		}
		free(data);
		if (e) {
			snprintf(rd->damage, sizeof(rd->damage), "block %u: malformed %s block",
				 rd->block - 1, type == REC_HEADER ? "header" : type == REC_SNAPSHOT ?
				 "snapshot" : "events");
			break;
		}
	}
	return 0;
}

static double end_double(json_object *end, const char *key, double dflt)
{
	json_object *v;

	return end && json_object_object_get_ex(end, key, &v) ? json_object_get_double(v) : dflt;
}

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

static struct ksyms *ksyms_of(const struct replay *rp)
{
	FILE *f = fmemopen(rp->syms ? rp->syms : "", rp->syms_len ? rp->syms_len : 1, "r");
	struct ksyms *ks;

	if (!f)
		return NULL;
	ks = ksyms_parse(f);
	fclose(f);
	return ks;
}

static struct iomem *iomem_of(const struct replay *rp)
{
	const char *t = rp->meta.iomem_text ? rp->meta.iomem_text : "";
	FILE *f = fmemopen((void *)t, strlen(t) ? strlen(t) : 1, "r");
	struct iomem *io;

	if (!f)
		return NULL;
	io = iomem_parse(f);
	fclose(f);
	return io;
}

int cmd_report(int argc, char **argv)
{
	struct replay rp = {};
	struct rec_reader rd = {};
	struct report rep = { .command = "record" };
	struct output out = {}, hout = {};
	struct policy pol = {};
	struct ksyms *ks = NULL;
	struct iomem *io = NULL;
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
	if (read_recording(args.file, &rp, &rd))
		goto out;
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
	ks = ksyms_of(&rp);
	io = iomem_of(&rp);
	snprintf(rep.kernel, sizeof(rep.kernel), "%s", rp.meta.kernel);
	snprintf(rep.argv, sizeof(rep.argv), "%s", rp.meta.what);
	rep.plan = &rp.meta.plan;
	rep.started = rp.meta.started;
	rep.duration_s = end_double(rp.end, "duration_s", rp.timeline.nr_samples > 1 ?
		(rp.timeline.timeline[rp.timeline.nr_samples - 1].t_ns -
		 rp.timeline.timeline[0].t_ns) / 1e9 : 0);
	rep.timeline_ms = rp.meta.interval_ms;
	err = collect_report(&rp.last, ks, &rep) ?: pins_collect(&rp.last, ks, io, &rep);
	if (err) {
		pr_err("%s: malformed snapshot: %s", args.file, strerror(-err));
		goto out;
	}
	/* the timeline samples move into the report (report_free frees them) */
	rep.timeline = rp.timeline.timeline;
	rep.nr_samples = rp.timeline.nr_samples;
	rep.pin_samples = rp.timeline.pin_samples;
	rep.nr_pin_samples = rp.timeline.nr_pin_samples;
	memset(&rp.timeline, 0, sizeof(rp.timeline));
	rep.module_filter = args.module;
	for (size_t i = 0; i < rep.nr_vmas; i++)
		rep.vmas[i].hidden = rep.vmas[i].merged ||
				     (args.module && strcmp(rep.vmas[i].module, args.module));
	if (findings_evaluate(&rep, io, &pol)) {
		ret = EXIT_INTERNAL;
		goto out;
	}
	if (args.events)
		replay_events(&rp, ks, io, &pol);
	report_print_table(&rep, out.f == stdout ? stderr : stdout);
	printf("recording: %u blocks, %zu events, %zu snapshots, lost %.0f events%s\n", rp.blocks,
	       rp.nr_ev, rep.nr_samples, end_double(rp.end, "lost", 0),
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
	report_free(&rp.timeline);
	state_free(&rp.last);
	rec_meta_free(&rp.meta);
	json_object_put(rp.end);
	free(rp.syms);
	free(rp.ev);
	ksyms_free(ks);
	iomem_free(io);
	policy_free(&pol);
	return ret;
}
