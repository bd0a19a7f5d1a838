// SPDX-License-Identifier: GPL-2.0
/* pfnscope: what the kernel's page-fault machinery does with each VMA. Subcommand dispatch in
 * the manner of bpftool: `pfnscope COMMAND [OPTIONS]`. */
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include "pfnscope.h"

static const struct cmd cmds[] = {
	{ "check", cmd_check, "run a command and report per VMA when it exits" },
	{ "probe", cmd_probe, "show the attach plan for this kernel" },
	{ "trace", cmd_trace, "stream events live: pfns, teardowns, pins, findings as they happen" },
	{ "top", cmd_top, "a refreshing view of the busiest VMAs (faults/s, RSS, pins, findings)" },
	{ "record", cmd_record, "record events and per-VMA snapshots to a file, to report on later" },
	{ "report", cmd_report, "report on a recording: tables, findings, timeline, HTML" },
	{ "agent", cmd_agent, "always on: Prometheus metrics, NDJSON findings, state kept pinned" },
	{ "snapshot", cmd_snapshot, "what a running agent has seen so far: top VMAs, findings, pins" },
	{ "pins", cmd_pins, "list the pages still pinned, oldest first, with who pinned them" },
	{},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: pfnscope COMMAND [OPTIONS]\n\n"
		   "pfnscope traces which page frames the kernel's fault path maps into each VMA.\n\n"
		   "Commands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'pfnscope COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	const char *name;

	argp_err_exit_status = EXIT_USAGE;
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		usage(stdout);
		return EXIT_CLEAN;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("pfnscope %s\n", PFNSCOPE_VERSION);
		return EXIT_CLEAN;
	}
	for (const struct cmd *c = cmds; c->name; c++) {
		if (!strcmp(name, c->name)) {
			char prog[64];

			snprintf(prog, sizeof(prog), "pfnscope %s", c->name);
			argv[1] = prog;	/* argp prints it in usage and errors */
			return c->fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "pfnscope: unknown command '%s' (pfnscope --help lists them)\n", name);
	return EXIT_USAGE;
}
