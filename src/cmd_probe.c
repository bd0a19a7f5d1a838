// SPDX-License-Identifier: GPL-2.0
/* pfnscope probe: the attach plan for the running kernel, and what is degraded. */
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "pfnscope.h"
#include "corebtf.h"
#include "kaddr.h"
#include "kbtf.h"
#include "options.h"
#include "planner.h"
#include "report.h"
#include "fault.h"
#include "zap.h"
#include "rss.h"
#include "pins.h"

enum { OPT_JSON = 0x100, OPT_BACKEND };

static struct {
	bool json;
	enum backend backend;
} args;

static const char doc[] =
	"Show which mechanism pfnscope would use for each hook on this kernel, and why.\n"
	"\n"
	"USAGE: pfnscope probe [--json] [--backend MECH]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope probe                   # the plan as a table\n"
	"    pfnscope probe --json            # the plan as JSON (same as a report header)\n"
	"    pfnscope probe --backend kprobe  # what forcing kprobes would give";

static const struct argp_option options[] = {
	{ "json", OPT_JSON, NULL, 0, "Print JSON" },
	{ "backend", OPT_BACKEND, "MECH", 0, "Plan as if forced to fentry, kprobe or tracepoint" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_JSON:
		args.json = true;
		break;
	case OPT_BACKEND:
		return opt_backend(state, arg, (int *)&args.backend);
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };

json_object *report_header_json(const struct report *r);

/* A hook the build has no program for yet is reported as such, not as available. */
static void mark_not_built(struct plan *plan)
{
	for (int h = 0; h < HOOK__MAX; h++)
		if (plan->hooks[h].status == HOOK_PLANNED && !((fault_hooks_mask | zap_hooks_mask | rss_hooks_mask | gup_hooks_mask) & (1u << h)))
			plan->hooks[h].status = HOOK_NOT_BUILT;
}

int cmd_probe(int argc, char **argv)
{
	static struct plan plan;
	struct report rep = { .command = "probe", .plan = &plan };
	struct utsname uts;
	int degraded = 0;
	char why[160];
	const char *syms;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (!have_bpf_privileges())
		return EXIT_ENV;
	libbpf_print_setup();
	kbtf_hold();	/* one kernel BTF parse for the planner and the CO-RE cut (kbtf.c) */
	plan_probe(&plan, args.backend);
	corebtf_lookup();
	plan_btf_release();
	kbtf_release();
	mark_not_built(&plan);
	uname(&uts);
	snprintf(rep.kernel, sizeof(rep.kernel), "%s", uts.release);
	rep.started = time(NULL);
	syms = kaddr_ksyms_status(why, sizeof(why));

	if (args.json) {
		json_object *root = json_object_new_object();

		json_object *hdr = report_header_json(&rep);

		json_object_object_add(hdr, "core_btf", json_object_new_string(corebtf_status()));
		json_object_object_add(hdr, "kernel_symbols", json_object_new_string(syms));
		json_object_object_add(root, "pfnscope", hdr);
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
		return EXIT_CLEAN;
	}
	printf("kernel %s: BTF %s, kprobe PMU %s, tracefs %s, backend %s\n", uts.release,
	       plan.btf ? "yes" : "no", plan.kprobe_pmu ? "yes" : "no",
	       plan.tracefs ? "yes" : "no", backend_name(plan.backend));
	printf("kernel types for CO-RE: %s\n", corebtf_status());
	printf("kernel symbols: %s\n\n", syms);
	printf("%-13s %-12s %-10s %-28s %s\n", "HOOK", "STATUS", "MECHANISM", "TARGET", "NOTE");
	for (int h = 0; h < HOOK__MAX; h++) {
		const struct hook_plan *hp = &plan.hooks[h];
		const struct candidate *c = hp->chosen >= 0 ? &hp->def->cand[hp->chosen] : NULL;
		const char *note = "";

		if (hp->status == HOOK_UNAVAILABLE || hp->status == HOOK_NOT_BUILT) {
			note = hp->def->lost;
			degraded++;
		} else if (c && c->limits) {
			note = c->limits;
			degraded++;
		}
		printf("%-13s %-12s %-10s %-28s %s\n", hp->def->name,
		       hp->status == HOOK_PLANNED ? "ok" : hook_status_name(hp->status),
		       c ? mech_name(c->mech) : "-", c ? c->target : "-", note);
		if (env.verbose || hp->status == HOOK_UNAVAILABLE)
			for (int i = 0; i < MAX_CANDIDATES && hp->def->cand[i].target; i++)
				if (hp->why[i][0])
					printf("%-13s   rejected %s %s: %s\n", "",
					       mech_name(hp->def->cand[i].mech),
					       hp->def->cand[i].target, hp->why[i]);
	}
	printf("\n%d of %d hooks degraded or unavailable%s\n", degraded, HOOK__MAX,
	       degraded ? " (see NOTE; -v lists every rejected mechanism)" : "");
	return EXIT_CLEAN;
}
