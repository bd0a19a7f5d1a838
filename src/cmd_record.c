// SPDX-License-Identifier: GPL-2.0
/*
 * pfnscope record -o FILE: events and periodic per-VMA snapshots into a recording that
 * `pfnscope report` reads later, on any machine (src/recording.h, docs/recording.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "pfnscope.h"
#include "options.h"
#include "session.h"
#include "target.h"
#include "recording.h"
#include "recmeta.h"
#include "trace_view.h"

enum { OPT_BACKEND = 0x100, OPT_NO_EVENTS, OPT_RINGBUF };

static struct record_args {
	struct target tgt;
	const char *out;
	double duration;
	double interval;
	unsigned int types;
	bool no_events;
	enum backend backend;
	unsigned long ringbuf_mb;
} args;

static const char doc[] =
	"Record events and per-VMA snapshots to FILE now; report on them later, anywhere.\n"
	"\n"
	"USAGE: pfnscope record -o FILE [OPTIONS] [-p PID | -c CMD | -- CMD [ARGS...]]\n"
	"\n"
	"EXAMPLES:\n"
	"    pfnscope record -o run.pfns -- ./driver-test     # a command, until it exits\n"
	"    pfnscope record -o inc.pfns -d 60                # every process for 60 s\n"
	"    pfnscope record -o p.pfns -p 1234 -i 0.2 --no-events   # snapshots only\n"
	"    pfnscope report run.pfns --html run.html         # later, no root needed\n"
	"\n"
	"The file is written block by block (zlib, CRC-32 each): a recording cut short by a crash "
	"or a full disk still reports up to its last whole block.\n"
	"Exit status: 0 done, 2 usage error (bad option, FILE not writable), 3 environment error, "
	"126 COMMAND cannot run, 127 COMMAND not found (FILE is then left as it was).";

static const struct argp_option options[] = {
	{ "output", 'o', "FILE", 0, "Write the recording to FILE (mode 0600); required" },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: ^C, or the command's end)" },
	{ "interval", 'i', "SECONDS", 0, "Snapshot every VMA every SECONDS (default 1, >= 0.01)" },
	{ "pid", 'p', "PID", 0, "Record this process (and the children it forks from now on)" },
	{ "command", 'c', "CMD", 0, "Run CMD with /bin/sh -c and record it" },
	{ "events", 'e', "TYPES", 0, "Event types to record (default all; see pfnscope trace)" },
	{ "no-events", OPT_NO_EVENTS, NULL, 0, "Snapshots only: no per-event ring buffer" },
	{ "backend", OPT_BACKEND, "MECH", 0, "Force function hooks to fentry, kprobe or tracepoint" },
	{ "ringbuf", OPT_RINGBUF, "MIB", 0, "Event rings in MiB, all CPUs together, a power of 2 (default 2 MiB a CPU)" },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case 'o':
		args.out = arg;
		break;
	case 'd':
	case 'i': {
		double v;

		errno = 0;
		v = strtod(arg, &end);
		if (errno || *end || v < (key == 'i' ? 0.01 : 0.001) || v > 31536000)
			return usage_error(state, "-%c: '%s' is not a number of seconds%s", key, arg,
					   key == 'i' ? " >= 0.01" : " > 0");
		*(key == 'd' ? &args.duration : &args.interval) = v;
		break;
	}
	case 'p':
		return opt_pid(state, "-p", arg, &args.tgt.pid);
	case 'c':
		args.tgt.shell_cmd = arg;
		break;
	case 'e':
		return opt_events(state, arg, &args.types);
	case OPT_NO_EVENTS:
		args.no_events = true;
		break;
	case OPT_BACKEND:
		return opt_backend(state, arg, (int *)&args.backend);
	case OPT_RINGBUF:
		return opt_ringbuf(state, arg, &args.ringbuf_mb);
	case ARGP_KEY_ARG:
		args.tgt.argv = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!args.out)
			return usage_error(state, "-o FILE is required (where to write the recording)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, NULL, doc, common_children };

static int on_event(void *ctx, const struct trace_rec *e)
{
	return rec_add_event(ctx, e);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int snapshot(struct session *s, struct rec_writer *w, __u64 *lost)
{
	struct state st = {};
	int err;

	/* the events so far go to the file first: a recorder killed later loses at most the last
	 * interval's, not a block's worth (16,384 events, hours at a quiet driver's rate) */
	rec_flush_events(w);
	err = session_read(s, &st, ST_MASK_ALL);

	if (!err)
		err = rec_write_snapshot(w, &st, session_ksyms(s));
	for (size_t i = 0; i < st.t[ST_DROPS].n; i++)
		if (*(__u32 *)st_key(&st.t[ST_DROPS], i) == DROP_RINGBUF_FULL)
			*lost = *(__u64 *)st_val(&st.t[ST_DROPS], i);
	state_free(&st);
	return err;
}

int cmd_record(int argc, char **argv)
{
	struct session_opts so = {};
	static struct session ses;
	struct evring *rb = NULL;
	struct rec_writer w = {};
	json_object *meta, *end;
	char what[512];
	double t0, next_snap;
	__u64 lost = 0, snaps = 0;
	const char *js;
	int ret, err;

	args.interval = 1;
	args.types = TRACE_ALL_TYPES;
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, NULL))
		return EXIT_USAGE;
	ret = target_check(&args.tgt, "pfnscope record");
	if (ret)
		return ret;
	if (!have_bpf_privileges())	/* before the file is created: none is left behind */
		return EXIT_ENV;
	err = rec_create(&w, args.out);
	if (err) {
		pr_err("cannot create %s: %s", args.out, strerror(-err));
		return EXIT_USAGE;
	}
	so.backend = args.backend;
	so.filter_tgids = target_filters(&args.tgt);
	so.ignore_self = true;
	so.trace_mask = args.no_events ? 0 : args.types;
	so.ringbuf_bytes = (__u64)args.ringbuf_mb << 20;	/* 0: EVRING_DEFAULT_SLOTS a CPU */
	ret = session_start(&ses, &so);
	if (ret) {
		rec_close(&w, true);
		return ret;
	}
	session_warn_failed(&ses);
	target_describe(&args.tgt, what, sizeof(what));
	meta = rec_meta_json(&ses.plan, what, args.interval * 1000, so.trace_mask);
	js = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN);
	rec_write_block(&w, REC_HEADER, js, strlen(js));
	json_object_put(meta);
	if (so.trace_mask) {
		rb = session_events(&ses, on_event, &w);
		if (!rb) {
			pr_err("cannot map the event rings: %s", strerror(errno));
			ret = EXIT_INTERNAL;
			goto out;
		}
	}
	stop_on_signals();
	err = target_start(&args.tgt, &ses);
	if (err) {
		ret = target_start_error(&args.tgt, "pfnscope record", err);
		goto out;
	}
	/* under way: from here a killed recorder leaves its blocks at FILE */
	err = rec_publish(&w);
	if (err) {
		pr_err("cannot rename the recording to %s: %s", args.out, strerror(-err));
		ret = EXIT_ENV;
		goto out;
	}
	fprintf(stderr, "pfnscope: recording %s to %s (^C to stop)\n", what, args.out);
	t0 = now_s();
	next_snap = t0 + args.interval;
	while (!stop_requested && !w.err) {
		/* no wakeups: the rings are read on a timer (bpf/common.bpf.h) */
		usleep(args.interval * 1e6 < evring_poll_us(rb) ? (useconds_t)(args.interval * 1e6) :
								  evring_poll_us(rb));
		if (rb && (err = evring_drain(rb, false)) < 0)
			break;
		if (now_s() >= next_snap) {
			snapshot(&ses, &w, &lost);
			snaps++;
			next_snap += args.interval;
			if (next_snap < now_s())
				next_snap = now_s() + args.interval;
		}
		if (target_filters(&args.tgt) && target_gone(&args.tgt))
			break;
		if (args.duration && now_s() - t0 >= args.duration)
			break;
	}
	if (rb)
		evring_drain(rb, true);
	target_stop(&args.tgt);
	rec_flush_events(&w);
	snapshot(&ses, &w, &lost);
	snaps++;
	lost += evring_abandoned(rb);
	end = json_object_new_object();
	json_object_object_add(end, "duration_s", json_object_new_double(now_s() - t0));
	json_object_object_add(end, "events", json_object_new_int64(w.events));
	json_object_object_add(end, "lost", json_object_new_int64(lost));
	json_object_object_add(end, "snapshots", json_object_new_int64(snaps));
	if (args.tgt.child > 0)
		json_object_object_add(end, "status", json_object_new_int(args.tgt.child_status));
	js = json_object_to_json_string_ext(end, JSON_C_TO_STRING_PLAIN);
	rec_write_block(&w, REC_END, js, strlen(js));
	json_object_put(end);
	if (w.err) {
		pr_err("%s: write failed after %llu blocks: %s (the recording holds everything "
		       "before)", args.out, (unsigned long long)w.blocks, strerror(-w.err));
		ret = EXIT_ENV;
	} else {
		fprintf(stderr, "pfnscope: recorded %llu events (%llu lost), %llu snapshots in "
			"%.1f s: %llu bytes, %.1f bytes/event, %s\n",
			(unsigned long long)w.events, (unsigned long long)lost,
			(unsigned long long)snaps, now_s() - t0, (unsigned long long)w.file_bytes,
			w.events ? (double)w.file_bytes / w.events : 0.0, args.out);
		ret = EXIT_CLEAN;
	}
out:
	evring_free(rb);
	target_stop(&args.tgt);
	err = rec_close(&w, snaps == 0);	/* nothing worth keeping before the first snapshot */
	if (err && ret == EXIT_CLEAN) {
		pr_err("%s: %s", args.out, strerror(-err));
		ret = EXIT_ENV;
	}
	session_stop(&ses);
	return ret;
}
