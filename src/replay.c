// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pfnscope.h"
#include "replay.h"
#include "collect.h"
#include "pins.h"

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

void replay_read(struct replay *rp, struct rec_reader *rd)
{
	void *data;
	size_t len;
	__u32 type;
	int r;

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
			snprintf(rd->damage, sizeof(rd->damage), "block %u before byte %llu: "
				 "malformed %s block", rd->block - 1, (unsigned long long)rd->off,
				 type == REC_HEADER ? "header" : type == REC_SNAPSHOT ? "snapshot" :
				 "events");
			break;
		}
	}
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


double replay_end_double(const struct replay *rp, const char *key, double dflt)
{
	json_object *v;

	return rp->end && json_object_object_get_ex(rp->end, key, &v) ?
	       json_object_get_double(v) : dflt;
}

int replay_build(struct replay *rp, struct report *rep)
{
	const struct report *tl = &rp->timeline;
	int err;

	rp->ks = ksyms_of(rp);
	rp->io = iomem_of(rp);
	snprintf(rep->kernel, sizeof(rep->kernel), "%s", rp->meta.kernel);
	snprintf(rep->argv, sizeof(rep->argv), "%s", rp->meta.what);
	rep->plan = &rp->meta.plan;
	rep->started = rp->meta.started;
	rep->duration_s = replay_end_double(rp, "duration_s", tl->nr_samples > 1 ?
		(tl->timeline[tl->nr_samples - 1].t_ns - tl->timeline[0].t_ns) / 1e9 : 0);
	rep->timeline_ms = rp->meta.interval_ms;
	err = collect_report(&rp->last, rp->ks, rep);
	if (!err)
		err = pins_collect(&rp->last, rp->ks, rp->io, rep);
	if (err)
		return err;
	/* the timeline samples move into the report (report_free frees them) */
	rep->timeline = rp->timeline.timeline;
	rep->nr_samples = rp->timeline.nr_samples;
	rep->pin_samples = rp->timeline.pin_samples;
	rep->nr_pin_samples = rp->timeline.nr_pin_samples;
	memset(&rp->timeline, 0, sizeof(rp->timeline));
	return 0;
}

void replay_free(struct replay *rp)
{
	report_free(&rp->timeline);
	state_free(&rp->last);
	rec_meta_free(&rp->meta);
	json_object_put(rp->end);
	free(rp->syms);
	free(rp->ev);
	ksyms_free(rp->ks);
	iomem_free(rp->io);
	memset(rp, 0, sizeof(*rp));
}
