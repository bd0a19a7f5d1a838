// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope agent: always on, every process, aggregation in the kernel only; /metrics for
 * Prometheus (libmicrohttpd, loopback unless told otherwise), findings as NDJSON, state pinned
 * in bpffs so that a restarted agent continues it (docs/agent.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include "httpd.h"
#include "pfnscope.h"
#include "options.h"
#include "agent.h"
#include "agentstate.h"

enum { OPT_LISTEN = 0x100, OPT_ALLOW_REMOTE, OPT_POLICY, OPT_MAX_VMAS, OPT_STOP, OPT_KEEP,
       OPT_FINDINGS, OPT_BACKEND, OPT_STATE_DIR };

static struct agent_args {
	const char *listen;
	bool allow_remote;
	const char *policy;
	double interval;
	unsigned long max_vmas;
	bool stop;
	bool keep_state;
	const char *findings;
	enum backend backend;
	const char *state_dir;
} args;

static const char doc[] =
	"Watch every process, always: aggregate in the kernel, serve Prometheus metrics, write "
	"each new finding as an NDJSON line, keep the state pinned across restarts.\n"
	"\n"
	"USAGE: pfnscope agent [OPTIONS]\n"
	"       pfnscope agent --stop [--keep-state]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope agent                                # 127.0.0.1:9464/metrics\n"
	"    pfnscope agent --findings /var/log/pfnscope.ndjson --interval 10\n"
	"    pfnscope agent --listen 0.0.0.0:9464 --allow-remote\n"
	"    pfnscope agent --stop                         # detach, remove the pinned state\n"
	"    curl -s 127.0.0.1:9464/metrics | grep pfnscope_findings_total\n"
	"\n"
	"SIGHUP reloads the policy; SIGTERM (or --stop) detaches and removes the state unless "
	"--keep-state (SIGUSR2: detach and keep it). While it runs, pfnscope snapshot and pfnscope pins read its state.\n"
	"Exit status: 0 stopped cleanly, 2 usage error, 3 environment error (not root, port "
	"taken, an agent already running).";

static const struct argp_option options[] = {
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Serve /metrics here (default 127.0.0.1:9464)" },
	{ "allow-remote", OPT_ALLOW_REMOTE, NULL, 0, "Allow a --listen address other than loopback" },
	{ "interval", 'i', "SECONDS", 0, "Aggregate every SECONDS (default 5, 0.2..3600)" },
	{ "policy", OPT_POLICY, "FILE", 0, "Policy file (SIGHUP reloads it)" },
	{ "max-vmas", OPT_MAX_VMAS, "N", 0, "Size of the in-kernel VMA table (default 65536)" },
	{ "findings", OPT_FINDINGS, "FILE", 0, "Append each new finding as a JSON line ('-': stdout)" },
	{ "stop", OPT_STOP, NULL, 0, "Stop the running agent (and remove its state)" },
	{ "keep-state", OPT_KEEP, NULL, 0, "On stop, keep the pinned maps for the next agent" },
	{ "backend", OPT_BACKEND, "MECH", 0, "Force function hooks to fentry, kprobe or tracepoint" },
	{ "state-dir", OPT_STATE_DIR, "DIR", 0, "bpffs directory of the state (default "
	  AGENT_STATE_DIR ")" },
	{},
};

static struct sockaddr_in6 listen_addr6;
static struct sockaddr_in listen_addr4;
static bool listen_v6;

/* "127.0.0.1:9464", "[::1]:9464", ":9464" (loopback). 0, or -1 if malformed. */
static int parse_listen(const char *s, bool *loopback)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (!host[0])
		snprintf(host, sizeof(host), "127.0.0.1");
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (host[n - 1] != ']')
			return -1;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (inet_pton(AF_INET, host, &listen_addr4.sin_addr) == 1) {
		listen_addr4.sin_family = AF_INET;
		listen_addr4.sin_port = htons(port);
		*loopback = (ntohl(listen_addr4.sin_addr.s_addr) >> 24) == 127;
		listen_v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &listen_addr6.sin6_addr) == 1) {
		listen_addr6.sin6_family = AF_INET6;
		listen_addr6.sin6_port = htons(port);
		*loopback = IN6_IS_ADDR_LOOPBACK(&listen_addr6.sin6_addr);
		listen_v6 = true;
		return 0;
	}
	return -1;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	bool loopback;
	char *end;

	switch (key) {
	case OPT_LISTEN:
		args.listen = arg;
		break;
	case OPT_ALLOW_REMOTE:
		args.allow_remote = true;
		break;
	case 'i':
		errno = 0;
		args.interval = strtod(arg, &end);
		if (errno || *end || args.interval < 0.2 || args.interval > 3600)
			return usage_error(state, "-i: '%s' is not a number of seconds in 0.2..3600",
					   arg);
		break;
	case OPT_POLICY:
		args.policy = arg;
		break;
	case OPT_MAX_VMAS:
		return opt_max_vmas(state, arg, &args.max_vmas);
	case OPT_FINDINGS:
		args.findings = arg;
		break;
	case OPT_STOP:
		args.stop = true;
		break;
	case OPT_KEEP:
		args.keep_state = true;
		break;
	case OPT_BACKEND:
		return opt_backend(state, arg, (int *)&args.backend);
	case OPT_STATE_DIR:
		args.state_dir = arg;
		break;
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
	case ARGP_KEY_END:
		if (parse_listen(args.listen, &loopback))
			return usage_error(state, "--listen: '%s' is not ADDR:PORT (127.0.0.1:9464, "
					   "[::1]:9464)", args.listen);
		if (!loopback && !args.allow_remote)
			return usage_error(state, "--listen %s is not a loopback address: metrics "
					   "would be readable from the network; add --allow-remote",
					   args.listen);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };

/* ----- /metrics: the page the main loop rendered last ----- */

static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;
static char *page;
static size_t page_len;
static struct agent ag;
static const struct httpd_lib *mhd;	/* loaded before listening */

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *data_len, void **state)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	const char *body;
	char *copy = NULL;
	size_t len;

	(void)cls; (void)version; (void)data; (void)data_len; (void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		body = "only GET\n";
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!strcmp(url, "/metrics")) {
		pthread_mutex_lock(&page_lock);
		copy = page ? malloc(page_len) : NULL;
		len = page_len;
		if (copy)
			memcpy(copy, page, len);
		__atomic_add_fetch(&ag.scrapes, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&page_lock);
		if (!copy) {
			body = "# no data yet\n";
		} else {
			resp = mhd->create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
			goto send;
		}
	} else if (!strcmp(url, "/")) {
		body = "pfnscope agent: see /metrics\n";
	} else {
		body = "not found: /metrics\n";
		status = MHD_HTTP_NOT_FOUND;
	}
	resp = mhd->create_response_from_buffer(strlen(body), (void *)body,
					       MHD_RESPMEM_PERSISTENT);
send:
	if (!resp)
		return MHD_NO;
	mhd->add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = mhd->queue_response(c, status, resp);
	mhd->destroy_response(resp);
	return ret;
}

/* libmicrohttpd's own messages: with -v only (a taken port is reported once, by us) */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (env.verbose) {
		fputs("pfnscope: microhttpd: ", stderr);
		vfprintf(stderr, fmt, ap);
	}
}

static volatile sig_atomic_t hup, keep_on_stop;

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

/* SIGUSR2: stop and keep the state (what `agent --stop --keep-state` sends) */
static void on_usr2(int sig)
{
	(void)sig;
	keep_on_stop = 1;
	stop_requested = 1;
}

/* After attaching, keep only what the loop needs: CAP_BPF to read and delete map rows (6.1's
 * bpf() checks it for every command while unprivileged BPF is disabled) and to run the
 * symbol program (src/kaddr.c: BPF_PROG_TEST_RUN; bpf_snprintf()'s "%pS" is sprint_symbol(),
 * which kptr_restrict does not touch). Not CAP_SYSLOG: where the kernel cannot name addresses
 * and /proc/kallsyms is read instead, the kallsyms thread opened it with its own credentials,
 * copied at pthread_create() (capset() and PR_CAPBSET_DROP change the calling thread only),
 * and kallsyms_show_value() judges the opener's. The bounding set loses the rest, and
 * no_new_privs is set. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	const int keep[] = { CAP_BPF };

	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		bool k = false;

		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			k |= keep[i] == cap;
		if (!k)
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		data[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		data[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

static int stop_agent(const char *dir)
{
	pid_t pid = agent_running();
	int n;

	if (pid) {
		kill(pid, args.keep_state ? SIGUSR2 : SIGTERM);
		for (int i = 0; i < 100 && agent_running(); i++)
			usleep(100 * 1000);
		if (agent_running()) {
			pr_err("agent pid %d did not stop within 10 s", pid);
			return EXIT_ENV;
		}
		printf("pfnscope: stopped agent pid %d\n", pid);
	}
	if (args.keep_state) {
		printf("pfnscope: state kept in %s\n", dir);
		return EXIT_CLEAN;
	}
	n = agent_state_remove(dir);
	if (n)
		printf("pfnscope: removed %d pinned objects from %s\n", n, dir);
	if (!pid && !n)
		printf("pfnscope: no agent running, no state in %s\n", dir);
	return EXIT_CLEAN;
}

static void log_plan(const struct session *s)
{
	for (int h = 0; h < HOOK__MAX; h++) {
		const struct hook_plan *hp = &s->plan.hooks[h];
		const struct candidate *c = hp->chosen >= 0 ? &hp->def->cand[hp->chosen] : NULL;

		fprintf(stderr, "pfnscope: hook %-13s %-12s %s %s\n", hp->def->name,
			hook_status_name(hp->status), c ? mech_name(c->mech) : "-",
			c ? c->target : "");
	}
}

static int write_pidfile(void)
{
	FILE *f;

	mkdir("/run", 0755);	/* a minimal system (the lab's initramfs) may lack it */
	f = fopen(AGENT_PID_FILE, "w");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", getpid());
	return fclose(f) ? -errno : 0;
}

/* The listening socket of --listen, bound (SO_REUSEADDR, IPv6-only for an IPv6 address, as
 * libmicrohttpd binds its own) and listening; -errno where the port is taken. */
static int listen_socket(void)
{
	const struct sockaddr *sa = listen_v6 ? (struct sockaddr *)&listen_addr6 :
						(struct sockaddr *)&listen_addr4;
	socklen_t len = listen_v6 ? sizeof(listen_addr6) : sizeof(listen_addr4);
	int one = 1, err, fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (listen_v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, sa, len) || listen(fd, SOMAXCONN)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int cmd_agent(int argc, char **argv)
{
	struct session_opts so = { .rss_sampled = true };
	static struct session ses;
	struct policy pol = {}, newpol = {};
	struct MHD_Daemon *httpd = NULL;
	char perr[512], path[512];
	int ret = EXIT_ENV, err, lfd = -1;
	pid_t other;

	mallopt(M_ARENA_MAX, 2);	/* one arena for the HTTP thread */
	args.listen = "127.0.0.1:9464";
	args.interval = 5;
	args.state_dir = AGENT_STATE_DIR;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (args.stop)
		return stop_agent(args.state_dir);
	if ((other = agent_running())) {
		pr_err("an agent is already running (pid %d): pfnscope agent --stop first", other);
		return EXIT_ENV;
	}
	if (policy_add_builtin(&pol) ||
	    (args.policy && policy_load(&pol, args.policy, perr, sizeof(perr)))) {
		pr_err("policy: %s", args.policy ? perr : "out of memory");
		policy_free(&pol);
		return EXIT_USAGE;
	}
	if (args.findings) {
		if (!strcmp(args.findings, "-")) {
			ag.findings_out = stdout;
		} else {
			int fd = open(args.findings, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

			ag.findings_out = fd >= 0 ? fdopen(fd, "a") : NULL;
			if (!ag.findings_out) {
				pr_err("cannot open %s: %s", args.findings, strerror(errno));
				policy_free(&pol);
				return EXIT_USAGE;
			}
		}
	}
	/*
	 * The stop signals are caught from here on: one that comes while the state is being
	 * pinned and attached (a service manager's stop right after start, a bench's ^C right
	 * after the "serving" line) must still remove the state, not kill the agent with it left
	 * behind for the next one to "continue". The start-up finishes, the loop is skipped.
	 * A BPF_PROG_LOAD the signal interrupts (the verifier's signal_pending() check, -EAGAIN)
	 * is retried by libbpf.
	 */
	stop_on_signals();
	signal(SIGHUP, on_hup);
	signal(SIGUSR2, on_usr2);
	/* listen first: a taken port fails before anything is attached; libmicrohttpd, which
	 * takes the socket once all is attached, loads on a thread meanwhile (httpd.c) */
	if ((lfd = listen_socket()) < 0) {
		pr_err("cannot listen on %s: %s (another exporter on that port? --listen elsewhere)",
		       args.listen, strerror(-lfd));
		goto out;
	}
	httpd_preload();
	if ((err = bpffs_ensure())) {
		pr_err("bpffs is not mounted on /sys/fs/bpf and cannot be: %s", strerror(-err));
		goto out;
	}
	if (!on_bpffs(args.state_dir)) {
		pr_err("--state-dir %s is not on a BPF filesystem (bpffs): use a directory under "
		       "/sys/fs/bpf", args.state_dir);
		ret = EXIT_USAGE;
		goto out;
	}
	so.backend = args.backend;
	so.max_vmas = args.max_vmas;
	so.pin_dir = args.state_dir;
	if (session_start(&ses, &so)) {
		/* most likely pinned maps of another build or --max-vmas: start over once */
		if (!access(args.state_dir, F_OK)) {
			pr_warn("the pinned state in %s does not fit this agent (another version or "
				"--max-vmas): discarding it and starting over", args.state_dir);
			agent_state_remove(args.state_dir);
			ret = session_start(&ses, &so);
		}
		if (!ses.started || !plan_hook_active(&ses.plan, HOOK_FAULT_COUNT))
			goto out;
	}
	/* Flat RSS: a fixed mmap threshold keeps each tick's large buffers out of the heap, which
	 * glibc's dynamic threshold would otherwise grow once and never give back (after
	 * session_start(), whose start-up heap settings are its own). */
	mallopt(M_MMAP_THRESHOLD, 64 << 10);
	mallopt(M_TRIM_THRESHOLD, 256 << 10);
	/* and 4 KiB pages only, whatever the THP mode ("always" in Debian's kernels): a huge page
	 * under the heap or the HTTP thread's arena grows the RSS 2 MiB at a time for small
	 * allocations (the lab soak saw 14.6 -> 17.2 MiB). The agent spawns no process that
	 * would inherit this. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	ret = EXIT_ENV;
	snprintf(path, sizeof(path), "%s/ledger", args.state_dir);
	if ((err = ledger_open(&ag.ledger, path))) {
		pr_err("cannot create the ledger map %s: %s", path, strerror(-err));
		goto out_stop;
	}
	snprintf(path, sizeof(path), "%s/%s", args.state_dir, AGENT_RSS_ITER);
	if ((err = zap_rss_pin(&ses.zc, path)) && err != -ENOENT)
		pr_warn("cannot pin the RSS iterator as %s (snapshot then shows no per-process "
			"RSS): %s", path, strerror(-err));
	ag.ses = &ses;
	ag.pol = &pol;
	ag.started = time(NULL);
	if (!(mhd = httpd_lib(perr, sizeof(perr)))) {
		pr_err("%s", perr);
		goto out_stop;
	}
	httpd = mhd->start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				 (listen_v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, serve, NULL,
				 MHD_OPTION_LISTEN_SOCKET, lfd,
				 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!httpd) {
		pr_err("cannot serve http on %s: %s", args.listen, strerror(errno ? errno : EIO));
		goto out_stop;
	}
	lfd = -1;	/* the daemon's now */
	log_plan(&ses);
	session_warn_failed(&ses);
	fprintf(stderr, "pfnscope: agent pid %d serving http://%s/metrics every %.1f s; state in "
		"%s (%s)\n", getpid(), args.listen, args.interval, args.state_dir,
		ag.ledger.reused ? "continued from the previous agent" : "new");
	if ((err = write_pidfile()))
		pr_warn("cannot write %s: %s", AGENT_PID_FILE, strerror(-err));
	if ((err = drop_capabilities()))
		pr_warn("cannot drop capabilities: %s", strerror(-err));
	ret = EXIT_CLEAN;
	while (!stop_requested) {
		char *text = NULL;
		size_t len = 0;

		err = agent_tick(&ag, &text, &len);
		if (err) {
			pr_warn("aggregation failed: %s", strerror(-err));
		} else {
			pthread_mutex_lock(&page_lock);
			free(page);
			page = text;
			page_len = len;
			pthread_mutex_unlock(&page_lock);
		}
		/* Start-up's freed BTF copies leave a hole of megabytes in the heap below blocks
		 * that stay (objects, plan); glibc hands each tick's blocks out of it at moving
		 * addresses, faulting in more of it tick after tick (the lab soak: +130 KiB a
		 * tick). Giving the free pages back after each tick keeps the RSS flat. */
		malloc_trim(0);
		for (double t = 0; t < args.interval && !stop_requested && !hup; t += 0.05)
			usleep(50 * 1000);
		if (hup) {
			hup = 0;
			if (!policy_add_builtin(&newpol) &&
			    (!args.policy || !policy_load(&newpol, args.policy, perr, sizeof(perr)))) {
				policy_free(&pol);
				pol = newpol;
				fprintf(stderr, "pfnscope: policy reloaded (%zu entries)\n", pol.n);
			} else {
				pr_warn("policy not reloaded, keeping the old one: %s", perr);
				policy_free(&newpol);
			}
			memset(&newpol, 0, sizeof(newpol));
		}
	}
	args.keep_state |= keep_on_stop;
	fprintf(stderr, "pfnscope: agent stopping: %s\n", args.keep_state ? "state kept" :
		"removing the pinned state");
out_stop:
	ledger_close(&ag.ledger);
	agent_free(&ag);
	session_stop(&ses);
	if (!args.keep_state)
		agent_state_remove(args.state_dir);
	unlink(AGENT_PID_FILE);
out:
	if (httpd)
		mhd->stop_daemon(httpd);
	if (lfd >= 0)
		close(lfd);
	if (ag.findings_out && ag.findings_out != stdout)
		fclose(ag.findings_out);
	free(page);
	policy_free(&pol);
	return ret;
}
