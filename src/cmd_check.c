// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope check -- CMD: attach, fork, exec, follow the children, and report per VMA when the
 * command exits. The child is traced from its first instruction: the fork tracepoint adds it
 * to the filter while the loader's follow_next_fork flag is set, before the child can run.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pfnscope.h"
#include "options.h"
#include "session.h"
#include "target.h"
#include "collect.h"
#include "report.h"
#include "rules.h"

#define SNAPSHOT_MS 50

enum { OPT_JSON = 0x100, OPT_FAIL_ON, OPT_BACKEND, OPT_MAX_VMAS, OPT_POLICY, OPT_TIMELINE,
       OPT_MODULE = 'm' };

static struct check_args {
	const char *json;
	enum severity fail_on;
	enum backend backend;
	unsigned long max_vmas;
	const char *policy;
	const char *module;
	unsigned long timeline_ms;
	char **cmd;
} args;

static const char doc[] =
	"Run COMMAND under pfnscope and report what the page-fault machinery did with each VMA.\n"
	"\n"
	"USAGE: pfnscope check [OPTIONS] -- COMMAND [ARGS...]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope check -- ./driver-test          # per-VMA table when it exits\n"
	"    pfnscope check --json out.json -- ./t    # also write the JSON document\n"
	"    pfnscope check --json - -- ./t           # JSON on stdout, table on stderr\n"
	"    pfnscope check --backend kprobe -- ./t   # force kprobes instead of fentry\n"
	"    pfnscope check -m mydrv -- ./t           # only mydrv.ko's VMAs\n"
	"    pfnscope check --policy p.txt -- ./t     # lower or silence rules\n"
	"    pfnscope check --timeline 100 --json o.json -- ./t   # RSS every 100 ms\n"
	"\n"
	"Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage error, "
	"3 environment error (not root, no BTF, nothing could attach), 126 COMMAND cannot run, "
	"127 COMMAND not found.";

static const struct argp_option options[] = {
	{ "json", OPT_JSON, "FILE", 0, "Write the JSON report to FILE ('-' for stdout)" },
	{ "fail-on", OPT_FAIL_ON, "SEVERITY", 0,
	  "Exit 1 if a finding is at least SEVERITY: info, warning, error (default), none" },
	{ "backend", OPT_BACKEND, "MECH", 0,
	  "Force function hooks to one mechanism: fentry, kprobe or tracepoint (default: auto)" },
	{ "max-vmas", OPT_MAX_VMAS, "N", 0, "Size of the in-kernel VMA table (default 65536)" },
	{ "policy", OPT_POLICY, "FILE", 0, "Policy file: lower or silence rules for named vm_ops, "
	  "handlers, modules or files" },
	{ "module", OPT_MODULE, "NAME", 0, "Only VMAs whose driver (fault handler, mmap or vm_ops) "
	  "is module NAME" },
	{ "timeline", OPT_TIMELINE, "MS", 0, "Sample every VMA's RSS and faults every MS "
	  "milliseconds into the JSON timeline (10..60000)" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case OPT_JSON:
		args.json = arg;
		break;
	case OPT_FAIL_ON:
		if (parse_severity(arg, &args.fail_on))
			return usage_error(state, "--fail-on: unknown severity '%s' (info, warning, error, none)",
				   arg);
		break;
	case OPT_BACKEND:
		return opt_backend(state, arg, (int *)&args.backend);
	case OPT_MAX_VMAS:
		return opt_max_vmas(state, arg, &args.max_vmas);
	case OPT_POLICY:
		args.policy = arg;
		break;
	case OPT_MODULE:
		args.module = arg;
		break;
	case OPT_TIMELINE:
		errno = 0;
		args.timeline_ms = strtoul(arg, &end, 0);
		if (errno || *end || args.timeline_ms < 10 || args.timeline_ms > 60000)
			return usage_error(state, "--timeline: '%s' is not a number of ms in 10..60000",
					   arg);
		break;
	case ARGP_KEY_ARG:
		/* the first non-option starts COMMAND: everything after it is its own */
		args.cmd = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!args.cmd)
			return usage_error(state, "no COMMAND given (pfnscope check -- COMMAND [ARGS...])");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };

/* minflt and majflt from /proc/PID/stat (fields 10 and 12). Works on a zombie: the counters
 * live in the task and signal structs until the process is reaped. */
static int read_stat_faults(pid_t pid, long *minflt, long *majflt)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %ld %*u %ld", minflt, majflt) != 2)
		return -EINVAL;
	return 0;
}

struct zombie_stat {
	pid_t pid;
	long minflt, majflt;
};

static void join_cmdline(char **cmd, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (; *cmd && len < n; cmd++)
		len += snprintf(buf + len, n - len, "%s%s", len ? " " : "", *cmd);
}

int cmd_check(int argc, char **argv)
{
	struct session_opts so = { .filter_tgids = true };
	struct zombie_stat *zs = NULL;
	size_t nzs = 0, zcap = 0;
	struct report rep = { .command = "check" };
	long long pin_acq0 = -1, pin_rel0 = -1;
	struct output out = {};
	struct timespec t0, t1;
	struct policy pol = {};
	struct state st = {};
	char perr[512];
	struct utsname uts;
	static struct session ses;
	int ret = EXIT_ENV, err;
	unsigned long poll_ms;
	bool snapshot, exec_failed;
	pid_t child;

	args.fail_on = SEV_ERROR;
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, NULL))
		return EXIT_USAGE;
	ret = command_check("pfnscope check", args.cmd[0]);
	if (ret)
		return ret;
	if (policy_add_builtin(&pol) ||
	    (args.policy && policy_load(&pol, args.policy, perr, sizeof(perr)))) {
		pr_err("policy: %s", args.policy ? perr : "out of memory");
		policy_free(&pol);
		return EXIT_USAGE;
	}
	if (args.json) {
		err = output_open(&out, args.json);
		if (err) {
			pr_err("cannot create %s: %s", args.json, strerror(-err));
			policy_free(&pol);
			return EXIT_USAGE;
		}
	}
	so.backend = args.backend;
	so.max_vmas = args.max_vmas;
	ret = session_start(&ses, &so);
	if (ret)
		goto out_abort;
	ret = EXIT_ENV;
	if (!plan_hook_active(&ses.plan, HOOK_TASK_FORK))
		pr_warn("children of the command will not be followed (task-fork hook not attached)");
	session_warn_failed(&ses);

	/* orphaned grandchildren are re-parented to us: their zombies are read and reaped here */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	uname(&uts);
	snprintf(rep.kernel, sizeof(rep.kernel), "%s", uts.release);
	join_cmdline(args.cmd, rep.argv, sizeof(rep.argv));
	rep.started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	vmstat_pins(&pin_acq0, &pin_rel0);
	fault_follow_next_fork(&ses.fc, true);
	child = spawn_command(args.cmd, NULL, &exec_failed);
	fault_follow_next_fork(&ses.fc, false);
	if (child < 0) {
		ret = spawn_error("pfnscope check", args.cmd[0], -errno, exec_failed);
		goto out_stop;
	}
	if (!plan_hook_active(&ses.plan, HOOK_TASK_FORK))
		fault_trace_pid(&ses.fc, child);	/* best effort: faults before this are missed */
	signal(SIGINT, SIG_IGN);	/* ^C goes to the command; we report when it is gone */

	/* Without the pfn hooks, VM_PFNMAP/MIXEDMAP/IO VMAs are found by a vma-iter snapshot
	 * every SNAPSHOT_MS while the command runs (a VMA that lives shorter may be missed). */
	snapshot = plan_hook_active(&ses.plan, HOOK_VMA_ITER) &&
		   !plan_hook_active(&ses.plan, HOOK_PFN_REMAP);
	rep.timeline_ms = args.timeline_ms;
	poll_ms = snapshot ? SNAPSHOT_MS : 0;
	if (args.timeline_ms && (!poll_ms || args.timeline_ms < poll_ms))
		poll_ms = args.timeline_ms;
	for (;;) {
		siginfo_t si = {};
		pid_t pid;

		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT | (poll_ms ? WNOHANG : 0))) {
			if (errno == EINTR)
				continue;
			break;	/* ECHILD: the command and every orphan are gone */
		}
		if (poll_ms && !si.si_pid) {
			if (snapshot && fault_snapshot_vmas(&ses.fc)) {
				pr_warn("vma-iter snapshot failed: %s", strerror(errno));
				snapshot = false;
			}
			if (args.timeline_ms &&
			    (session_read(&ses, &st, ST_MASK_TIMELINE) ||
			     collect_timeline_sample(&st, &rep))) {
				pr_err("out of memory");
				goto out_stop;
			}
			usleep(poll_ms * 1000);
			continue;
		}
		pid = si.si_pid;
		if (nzs == zcap) {
			zcap = zcap ? zcap * 2 : 16;
			zs = realloc(zs, zcap * sizeof(*zs));
			if (!zs) {
				pr_err("out of memory");
				goto out_stop;
			}
		}
		zs[nzs].pid = pid;
		if (read_stat_faults(pid, &zs[nzs].minflt, &zs[nzs].majflt))
			zs[nzs].minflt = zs[nzs].majflt = -1;
		nzs++;
		waitpid(pid, NULL, 0);
	}
	signal(SIGINT, SIG_DFL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rep.duration_s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	rep.plan = &ses.plan;
	{
		long long a, rl;

		rep.pins.vmstat_acquired = rep.pins.vmstat_released = -1;
		if (pin_acq0 >= 0 && !vmstat_pins(&a, &rl)) {
			rep.pins.vmstat_acquired = a - pin_acq0;
			rep.pins.vmstat_released = rl - pin_rel0;
		}
	}
	err = session_judge(&ses, &st, &rep, args.module, &pol);
	if (err) {
		pr_err("cannot read and judge the BPF maps: %s", strerror(-err));
		ret = EXIT_INTERNAL;
		goto out_stop;
	}
	for (size_t i = 0; i < rep.nr_procs; i++)
		for (size_t z = 0; z < nzs; z++)
			if (zs[z].pid == (pid_t)rep.procs[i].pid) {
				rep.procs[i].stat_minflt = zs[z].minflt;
				rep.procs[i].stat_majflt = zs[z].majflt;
			}

	report_print_table(&rep, out.f == stdout ? stderr : stdout);
	if (out.f) {
		if (report_write_json(&rep, out.f) || (err = output_commit(&out))) {
			pr_err("cannot write %s: %s", args.json, strerror(err ? -err : errno));
			ret = EXIT_ENV;
			goto out_stop;
		}
	}
	{
		enum severity worst = findings_worst(&rep);

		ret = worst != SEV_NONE && args.fail_on != SEV_NONE && worst >= args.fail_on ?
		      EXIT_FINDINGS : EXIT_CLEAN;
	}
out_stop:
	session_stop(&ses);
out_abort:
	if (ret != EXIT_CLEAN && ret != EXIT_FINDINGS)
		output_abort(&out);
	policy_free(&pol);
	report_free(&rep);
	state_free(&st);
	free(zs);
	return ret;
}
