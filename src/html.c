// SPDX-License-Identifier: GPL-2.0
/* Renders a struct report as one self-contained HTML5 page: no external resources, no
 * JavaScript. Every string from the report is escaped (comm and file names come from the
 * traced processes); kernel addresses appear only inside the symbolised names, which carry them
 * only with --show-kernel-addresses. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "report.h"
#include "vmflags.h"

/* Text with & < > " as entities and control characters as U+FFFD: safe in element content and
 * in double-quoted attributes. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '&' || c == '<' || c == '>' || c == '"')
			fputs(c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : "&quot;", f);
		else if (c < 0x20 || c == 0x7f)
			fputs("\xef\xbf\xbd", f);
		else
			fputc(c, f);
	}
}

/* @open, the formatted text escaped, @close. */
static void tag(FILE *f, const char *open, const char *close, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void tag(FILE *f, const char *open, const char *close, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs(open, f);
	esc(f, buf);
	fputs(close, f);
}

#define TD(f, ...)	tag(f, "<td>", "</td>", __VA_ARGS__)
#define TDN(f, ...)	tag(f, "<td class=\"n\">", "</td>", __VA_ARGS__)
#define TDM(f, ...)	tag(f, "<td class=\"mono\">", "</td>", __VA_ARGS__)

static const char css[] =
	"body{font:13px/1.4 sans-serif;color:#222;margin:16px auto;max-width:1240px;padding:0 8px}"
	"h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;width:100%;margin:6px 0}"
	"th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}"
	"th{background:#f2f2f2}td.n{text-align:right;white-space:nowrap}"
	"table.kv{width:auto}.mono{font-family:monospace}td.mono{white-space:nowrap}.note{color:#666;font-style:italic}"
	".error{color:#b00020;font-weight:bold}.warning{color:#9a5b00;font-weight:bold}"
	".info{color:#1f5fa0}svg.chart{display:block;width:100%;height:auto;margin:8px 0 18px}"
	"svg text{font:12px sans-serif;fill:#333}svg text.ttl{font-size:14px;font-weight:bold}svg text.lg{font-size:11px}"
	".grid{stroke:#e6e6e6}.axis{stroke:#444}";

static void write_head(const struct report *r, FILE *f)
{
	char ts[40];

	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S UTC", gmtime(&r->started));
	tag(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>",
	    "</title>\n", "pfnscope: %s", r->argv[0] ? r->argv : r->command ?: "");
	fprintf(f, "<style>%s</style></head><body>\n<h1>pfnscope report</h1>\n"
		"<table class=\"kv\">\n", css);
	tag(f, "<tr><th>Command</th><td class=\"mono\">", "</td></tr>\n", "%s", r->argv);
	tag(f, "<tr><th>Kernel</th><td>", "</td></tr>\n", "%s", r->kernel);
	tag(f, "<tr><th>Started</th><td>", "</td></tr>\n", "%s", ts);
	tag(f, "<tr><th>Duration</th><td>", "</td></tr>\n", "%.2f s", r->duration_s);
	tag(f, "<tr><th>pfnscope</th><td>", "</td></tr>\n</table>\n", "%s %s", PFNSCOPE_VERSION,
	    r->command ?: "");
}

/* One row per hook; the table starts open when a hook is missing or degraded. */
static void write_plan(const struct plan *p, FILE *f)
{
	int attached = 0, missing = 0, degraded = 0;

	for (int h = 0; h < HOOK__MAX; h++) {
		const struct hook_plan *hp = &p->hooks[h];

		if (hp->status == HOOK_ATTACHED)
			degraded += hp->chosen >= 0 && hp->def->cand[hp->chosen].limits;
		attached += hp->status == HOOK_ATTACHED;
		missing += hp->status != HOOK_ATTACHED && hp->status != HOOK_NOT_REQUESTED;
	}
	fprintf(f, "<h2>Attach plan</h2>\n<details%s><summary>backend %s: %d hooks attached, "
		"%d degraded, %d missing</summary>\n<table>\n<tr><th>Hook</th><th>Status</th>"
		"<th>Mechanism</th><th>Target</th><th>Note</th></tr>\n",
		missing + degraded ? " open" : "", backend_name(p->backend), attached, degraded,
		missing);
	for (int h = 0; h < HOOK__MAX; h++) {
		const struct hook_plan *hp = &p->hooks[h];
		const struct candidate *c = hp->chosen >= 0 ? &hp->def->cand[hp->chosen] : NULL;
		bool lost = hp->status != HOOK_ATTACHED && hp->status != HOOK_PLANNED &&
			    hp->status != HOOK_NOT_REQUESTED;

		tag(f, "<tr><td>", "</td>", "%s", hp->def->name);
		tag(f, lost ? "<td class=\"warning\">" : "<td>", "</td>", "%s",
		    hook_status_name(hp->status));
		TD(f, "%s", c ? mech_name(c->mech) : "none");
		TDM(f, "%s", c ? c->target : "-");
		tag(f, "<td>", "</td></tr>\n", "%s %s", lost ? hp->def->lost :
		    c && c->limits ? c->limits : "", hp->error);
	}
	fputs("</table></details>\n", f);
}

static const char *vma_text(const struct vma_row *v, char *buf, size_t n)
{
	char range[48] = "";

	if (v->val.kind != VMA_KIND_UNATTRIBUTED)
		snprintf(range, sizeof(range), "%llx-%llx ", (unsigned long long)v->val.vm_start,
			 (unsigned long long)v->val.vm_end);
	snprintf(buf, n, "pid %u (%s) %s%s, handler %s", v->key.tgid, v->val.comm, range, v->name,
		 v->fault_handler[0] != '-' ? v->fault_handler : v->mmap_handler);
	return buf;
}

/* What the generic columns do not say: the pinner, the RSS member, the caching modes. */
static const char *finding_detail(const struct finding *fd, char *buf, size_t n)
{
	const struct pin_caller_row *c = fd->caller;
	size_t len;

	buf[0] = '\0';
	if (c) {
		len = snprintf(buf, n, "Pinned by pid %u (%s), %s, oldest %.1f s, from",
			       c->key.tgid, c->val.comm, pin_kind_name(c->key.kind),
			       c->oldest_ns / 1e9);
		for (int k = 0; k < c->depth && k < 6 && len < n; k++)
			len += snprintf(buf + len, n - len, " %s%s", k ? "<- " : "", c->stack[k]);
	} else if (fd->member >= 0) {
		snprintf(buf, n, "%s RSS off by %+lld pages at exit (%s).",
			 rss_member_name(fd->member), fd->amount, fd->contributors);
	} else if (fd->rule == RULE_MMIO_CACHED) {
		snprintf(buf, n, "Requested %s, installed %s.", cache_mode_name(fd->req_cache),
			 fd->inst_cache == 0xff ? "unknown" : cache_mode_name(fd->inst_cache));
	}
	return buf;
}

static void write_findings(const struct report *r, FILE *f)
{
	size_t shown = 0, suppressed = 0;
	char b[1024];

	fputs("<h2>Findings</h2>\n", f);
	for (size_t i = 0; i < r->nr_findings; i++) {
		const struct finding *fd = &r->findings[i];

		if (fd->vma ? fd->vma->hidden : r->module_filter != NULL)
			continue;
		if (fd->severity == SEV_NONE) {
			suppressed++;
			continue;
		}
		if (!shown++)
			fputs("<table>\n<tr><th>Severity</th><th>Rule</th><th>VMA</th><th>Count</th>"
			      "<th>Example pfn</th><th>Class</th><th>Region</th><th>Explanation</th>"
			      "</tr>\n", f);
		fprintf(f, "<tr><td class=\"%s\">%s</td>", severity_name(fd->severity),
			severity_name(fd->severity));
		TDM(f, "%s", rules[fd->rule].id);
		TD(f, "%s", fd->vma ? vma_text(fd->vma, b, sizeof(b)) : "-");
		TDN(f, "%llu", (unsigned long long)fd->count);
		if (fd->src >= 0) {
			TDM(f, "0x%llx", (unsigned long long)fd->example_pfn);
			TD(f, "%s", pfn_class_name(fd->cls));
			TD(f, "%s", fd->region[0] ? fd->region : "no region");
		} else {
			fputs("<td>-</td><td>-</td><td>-</td>", f);
		}
		tag(f, "<td>", "</td></tr>\n", "%s %s", finding_detail(fd, b, sizeof(b)),
		    rules[fd->rule].explain);
	}
	fputs(shown ? "</table>\n" : "<p>No findings.</p>\n", f);
	if (!suppressed)
		return;
	fprintf(f, "<details><summary>%zu finding%s suppressed by policy (the kernel's own "
		"legitimate mappings)</summary>\n<ul>\n", suppressed, suppressed == 1 ? "" : "s");
	for (size_t i = 0; i < r->nr_findings; i++) {
		const struct finding *fd = &r->findings[i];

		if (fd->severity == SEV_NONE && (fd->vma ? !fd->vma->hidden : !r->module_filter))
			tag(f, "<li>", "</li>\n", "%s x%llu %s: %s", rules[fd->rule].id,
			    (unsigned long long)fd->count,
			    fd->vma ? vma_text(fd->vma, b, sizeof(b)) : "",
			    fd->policy ? fd->policy->reason : "");
	}
	fputs("</ul></details>\n", f);
}

/* The columns of the text table, plus the pfn classes, reserved hits and pins. */
static void write_vmas(const struct report *r, FILE *f)
{
	__u64 ndrops = 0;

	fputs("<h2>VMAs</h2>\n<table>\n<tr><th>Process</th><th>Range</th><th>Name</th>"
	      "<th>Flags</th><th>Faults</th><th>Major</th><th>RSS in</th><th>RSS net</th>"
	      "<th>Pages by class</th><th>Reserved hits</th><th>Pins out/acq</th>"
	      "<th>Fault handler</th><th>vm_ops</th><th>Module</th></tr>\n", f);
	for (size_t i = 0; i < r->nr_vmas; i++) {
		const struct vma_row *v = &r->vmas[i];
		long long in = 0, net = 0;
		__u64 pout = 0, pacq = 0;
		char b[160];
		int len = 0;

		if (v->hidden)
			continue;
		for (int m = 0; m < RSS_MEMBERS; m++) {
			in += v->val.rss_in[m];
			net = add_wrap(net, rss_net(&v->val, m));
		}
		for (int k = 0; k < PIN_KIND__MAX; k++) {
			pout += v->pins_outstanding[k];
			pacq += v->pins_acquired[k];
		}
		tag(f, "<tr><td>", "</td>", "%u (%s)", v->key.tgid, v->val.comm);
		if (v->val.kind == VMA_KIND_UNATTRIBUTED)
			fputs("<td>-</td>", f);
		else
			TDM(f, "%llx-%llx", (unsigned long long)v->val.vm_start,
			    (unsigned long long)v->val.vm_end);
		TD(f, "%s", v->name);
		TD(f, "%s", vmflags_format(v->val.vm_flags & ~0xf0ULL, b, sizeof(b))); /* no may* */
		TDN(f, "%llu", (unsigned long long)v->val.faults);
		TDN(f, "%llu", (unsigned long long)v->val.faults_major);
		TDN(f, "%lld", in);
		TDN(f, "%lld", net);
		b[0] = '\0';
		for (int c = 0; c < CLASS__MAX; c++)
			if (v->pages_by_class[c] && len < (int)sizeof(b))
				len += snprintf(b + len, sizeof(b) - len, "%s%s %llu", len ? ", " : "",
						pfn_class_name(c),
						(unsigned long long)v->pages_by_class[c]);
		TD(f, "%s", len ? b : "-");
		TDN(f, "%llu", (unsigned long long)v->reserved_hits);
		TDN(f, "%llu/%llu", (unsigned long long)pout, (unsigned long long)pacq);
		TD(f, "%s", v->fault_handler);
		TD(f, "%s", v->vm_ops);
		tag(f, "<td>", "</td></tr>\n", "%s", v->module[0] ? v->module : "vmlinux");
	}
	for (int d = 0; d < DROP__MAX; d++)
		ndrops += r->drops[d];
	fprintf(f, "</table>\n<p>%zu VMAs, %zu processes, %llu dropped events", r->nr_vmas,
		r->nr_procs, (unsigned long long)ndrops);
	for (int d = 0; d < DROP__MAX; d++)
		if (r->drops[d])
			fprintf(f, " (%s: %llu)", drop_reason_name(d), (unsigned long long)r->drops[d]);
	fputs(".</p>\n", f);
}

/* Charts: a 1200x300 viewBox scaled to the page width, the legend in the right margin. */
#define CW 1200
#define CH 300
#define ML 70
#define MR 300
#define MT 34
#define MB 44
#define PW (CW - ML - MR)
#define PH (CH - MT - MB)
#define TOP_SERIES 8
#define LABEL_LEN 96

static const char *const palette[TOP_SERIES + 1] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
	"#999999",	/* "other" */
};

/* A round tick step (2, 5 or 10 times a power of ten) cutting @range in 3 to 5 (no libm). */
static double nice_step(double range)
{
	double raw = range / 5, mag = 1, m;

	while (mag * 10 <= raw)
		mag *= 10;
	while (mag > raw)
		mag /= 10;
	m = raw / mag;
	return (m < 2 ? 2 : m < 5 ? 5 : 10) * mag;
}

/* @v rounded to a multiple of @step, up or down. */
static double snap(double v, double step, bool up)
{
	double k = (long long)(v / step);

	if (up && k * step < v)
		k++;
	if (!up && k * step > v)
		k--;
	return k * step;
}

/* 1234567 -> "1.235M": tick labels stay short. */
static const char *si(double v, char *buf, size_t n)
{
	static const char sfx[] = " kMGT";
	int i = 0;

	for (; (v >= 1000 || v <= -1000) && i < 4; i++)
		v /= 1000;
	snprintf(buf, n, "%.4g%.*s", v, i > 0, &sfx[i]);
	return buf;
}

/*
 * One chart: series s has the @n points (t[i] s, y[s * n + i]) and the legend @labels[s];
 * x runs from 0 to @x1 seconds so that every chart shares the time axis. Fewer than two
 * points: the note @why instead of an empty chart.
 */
static void chart(FILE *f, const char *id, const char *title, const char *yunit, double x1,
		  const double *t, const double *y, size_t n, int ns,
		  const char (*labels)[LABEL_LEN], const char *why)
{
	double y0 = 0, y1 = 0, xs, ys;
	char b[32];

	if (n < 2) {
		fprintf(f, "<p class=\"note\">%s: %s</p>\n", title, why);
		return;
	}
	for (size_t i = 0; i < ns * n; i++) {
		y0 = y[i] < y0 ? y[i] : y0;
		y1 = y[i] > y1 ? y[i] : y1;
	}
	if (y1 <= y0)
		y1 = y0 + 1;
	xs = nice_step(x1 > 0 ? x1 : 1);
	ys = nice_step(y1 - y0);
	x1 = snap(x1 > 0 ? x1 : 1, xs, true);
	y0 = snap(y0, ys, false);
	y1 = snap(y1, ys, true);
#define PX(x) (ML + (x) / x1 * PW)
#define PY(y) (MT + PH - ((y) - y0) / (y1 - y0) * PH)
	fprintf(f, "<svg class=\"chart\" id=\"%s\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n<title>%s</title>\n"
		"<text class=\"ttl\" x=\"%d\" y=\"20\">%s</text>\n", id, CW, CH, title, ML, title);
	for (int k = 0; k <= (int)((y1 - y0) / ys + 0.5); k++)
		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", ML, ML + PW,
			PY(y0 + k * ys), PY(y0 + k * ys), ML - 6, PY(y0 + k * ys) + 4,
			si(y0 + k * ys, b, sizeof(b)));
	for (int k = 0; k <= (int)(x1 / xs + 0.5); k++)
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.4g</text>\n", PX(k * xs),
			PX(k * xs), MT, MT + PH + 5, PX(k * xs), MT + PH + 18, k * xs);
	fprintf(f, "<path class=\"axis\" fill=\"none\" d=\"M%d %dV%dH%d\"/>\n<text x=\"%d\" y=\"%d\" "
		"text-anchor=\"middle\">time since the first sample (s)</text>\n<text transform="
		"\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n", ML, MT,
		MT + PH, ML + PW, ML + PW / 2, CH - 8, MT + PH / 2, yunit);
	for (int s = 0; s < ns; s++) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			palette[s]);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s%.1f,%.1f", i ? " " : "", PX(t[i]), PY(y[s * n + i]));
		tag(f, "\"><title>", "</title></polyline>\n", "%s", labels[s]);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"4\" fill=\"%s\"/>"
			"<text class=\"lg\" x=\"%d\" y=\"%d\">", CW - MR + 14, MT + 2 + 18 * s, palette[s],
			CW - MR + 36, MT + 6 + 18 * s);
		tag(f, "", "</text>\n", "%s", labels[s]);
	}
#undef PX
#undef PY
	fputs("</svg>\n", f);
}
/* A VMA of the timeline: samples name VMAs by (pid, vm_start) only. */
struct tkey {
	__u32 pid;
	__u64 start;
	long long peak;		/* resident pages */
	__u64 last_faults;	/* its cumulative count in the latest sample that had it */
	int series;		/* 0..TOP_SERIES-1, or TOP_SERIES: "other" */
};

static int cmp_tkey(const void *a, const void *b)
{
	const struct tkey *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static struct tkey *tkey_find(struct tkey *k, size_t n, const struct timeline_vma *v)
{
	struct tkey want = { .pid = v->pid, .start = v->vm_start };

	return bsearch(&want, k, n, sizeof(*k), cmp_tkey);	/* every row has its key */
}

/* Resident pages as get_mm_rss() counts them: swap entries are not resident. */
static long long tl_rss(const struct timeline_vma *v)
{
	return add_wrap(add_wrap(v->rss[RSS_FILE], v->rss[RSS_ANON]), v->rss[RSS_SHMEM]);
}

/* "pid 42 7f0000001000 libfoo.so", the name cut at 14 bytes on a UTF-8 boundary. */
static void vma_label(const struct report *r, const struct tkey *k, char *buf)
{
	const char *name = "";
	size_t len;

	for (size_t i = 0; i < r->nr_vmas; i++)
		if (r->vmas[i].key.tgid == k->pid && (r->vmas[i].key.vm_start == k->start ||
						      r->vmas[i].val.vm_start == k->start))
			name = r->vmas[i].name;
	len = strlen(name);
	if (len > 14)
		for (len = 14; ((unsigned char)name[len] & 0xc0) == 0x80; len--)
			;
	snprintf(buf, LABEL_LEN, "pid %u %llx %.*s%s", k->pid, (unsigned long long)k->start,
		 (int)len, name, name[len] ? "\xe2\x80\xa6" : "");
}

static bool rss_all_zero(const struct tkey *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (k[i].peak)
			return false;
	return true;
}

/* Fills @y with the resident pages of up to TOP_SERIES processes per sample, from the per-mm
 * kmem:rss_stat rows; returns the number of series (0: none). */
static int rss_by_process(const struct report *r, __u64 t0, double *t, double *y,
			  char labels[][LABEL_LEN])
{
	size_t n = r->nr_samples;
	__u32 pids[TOP_SERIES];
	int np = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < r->timeline[i].nr_mms; j++) {
			__u32 pid = r->timeline[i].mms[j].val.tgid;
			int k;

			for (k = 0; k < np && pids[k] != pid; k++)
				;
			if (pid && k == np && np < TOP_SERIES) {
				pids[np] = pid;
				snprintf(labels[np++], LABEL_LEN, "pid %u", pid);
			}
		}
	memset(y, 0, TOP_SERIES * (n + 1) * sizeof(*y));
	for (size_t i = 0; i < n; i++) {
		t[i] = (r->timeline[i].t_ns - t0) / 1e9;
		for (size_t j = 0; j < r->timeline[i].nr_mms; j++) {
			const struct rss_row *m = &r->timeline[i].mms[j];

			for (int k = 0; k < np; k++)
				if (pids[k] == m->val.tgid && !m->val.exited)
					y[k * n + i] += (double)m->val.pages[RSS_FILE] +
						       m->val.pages[RSS_ANON] + m->val.pages[RSS_SHMEM];
		}
	}
	return np;
}

static int write_charts(const struct report *r, FILE *f)
{
	static const char nodata[] = "no timeline in this recording (see --timeline)";
	size_t n = r->nr_samples, np = r->nr_pin_samples, nk = 0, rows = 0, m = 0;
	char labels[TOP_SERIES + 1][LABEL_LEN] = { "all traced VMAs" };
	__u64 t0 = ~0ULL, t1 = 0;
	struct tkey *keys;
	double *t, *y, x1;
	int ns = 0;

	/* one time base for the three charts, so that they line up */
	for (size_t i = 0; i < n + np; i++) {
		__u64 ts = i < n ? r->timeline[i].t_ns : r->pin_samples[i - n].t_ns;

		t0 = ts < t0 ? ts : t0;
		t1 = ts > t1 ? ts : t1;
		rows += i < n ? r->timeline[i].nr : 0;
	}
	x1 = t1 > t0 ? (t1 - t0) / 1e9 : 0;
	t = calloc(n + np + 1, sizeof(*t));
	y = calloc((TOP_SERIES + 1) * (n + np + 1), sizeof(*y));
	keys = calloc(rows + 1, sizeof(*keys));
	if (!t || !y || !keys) {
		free(t);
		free(y);
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < r->timeline[i].nr; j++)
			keys[nk++] = (struct tkey){ r->timeline[i].vmas[j].pid,
						    r->timeline[i].vmas[j].vm_start };
	sort_n(keys, nk, sizeof(*keys), cmp_tkey);
	for (size_t i = 0; i < nk; i++)		/* dedupe */
		if (!m || cmp_tkey(&keys[m - 1], &keys[i]))
			keys[m++] = keys[i];
	nk = m;

	/* (1) per VMA, the growth of its cumulative fault count since the previous sample that
	 * had it (a count that went down is a new VMA at the same address), over the interval */
	m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct timeline_sample *s = &r->timeline[i];
		double d = 0;

		for (size_t j = 0; j < s->nr; j++) {
			struct tkey *k = tkey_find(keys, nk, &s->vmas[j]);
			__u64 v = s->vmas[j].faults;

			d += v >= k->last_faults ? v - k->last_faults : v;
			k->last_faults = v;
			if (tl_rss(&s->vmas[j]) > k->peak)
				k->peak = tl_rss(&s->vmas[j]);
		}
		if (i && s->t_ns > s[-1].t_ns) {
			t[m] = (s->t_ns - t0) / 1e9;
			y[m++] = d / ((s->t_ns - s[-1].t_ns) / 1e9);
		}
	}
	fputs("<h2>Timeline</h2>\n", f);
	chart(f, "chart-faults", "Faults per second", "faults/s", x1, t, y, m, 1, labels,
	      n ? "too few samples for a rate" : nodata);

	/* (2) the TOP_SERIES VMAs of highest peak RSS, one line each, the others summed */
	for (size_t i = 0; i < nk; i++)
		keys[i].series = TOP_SERIES;
	for (; ns < TOP_SERIES && (size_t)ns < nk; ns++) {
		struct tkey *best = NULL;

		for (size_t i = 0; i < nk; i++)
			if (keys[i].series == TOP_SERIES && (!best || keys[i].peak > best->peak))
				best = &keys[i];
		best->series = ns;
		vma_label(r, best, labels[ns]);
	}
	if (nk > TOP_SERIES)
		snprintf(labels[ns++], LABEL_LEN, "other (%zu VMAs)", nk - TOP_SERIES);
	memset(y, 0, (TOP_SERIES + 1) * (n + np + 1) * sizeof(*y));
	for (size_t i = 0; i < n; i++) {
		t[i] = (r->timeline[i].t_ns - t0) / 1e9;
		for (size_t j = 0; j < r->timeline[i].nr; j++)
			y[tkey_find(keys, nk, &r->timeline[i].vmas[j])->series * n + i] +=
				tl_rss(&r->timeline[i].vmas[j]);
	}
	if (rss_all_zero(keys, nk) && (ns = rss_by_process(r, t0, t, y, labels))) {
		/* tracepoint-only kernels: no rmap hooks, but kmem:rss_stat per address space */
		chart(f, "chart-rss", "RSS per process (kmem:rss_stat; per-VMA RSS needs the rmap "
		      "hooks)", "resident pages", x1, t, y, n, ns, labels, "no RSS samples");
	} else {
		chart(f, "chart-rss", "RSS per VMA", "resident pages", x1, t, y, ns ? n : 0, ns,
		      labels, !n ? nodata : n < 2 ? "fewer than two samples" :
		      "no VMA in the samples");
	}

	/* (3) outstanding pins, sampled by the recorder */
	for (size_t i = 0; i < np; i++) {
		t[i] = (r->pin_samples[i].t_ns - t0) / 1e9;
		y[i] = r->pin_samples[i].outstanding;
	}
	snprintf(labels[0], LABEL_LEN, "FOLL_PIN pages not yet unpinned");
	chart(f, "chart-pins", "Outstanding pins", "pinned pages", x1, t, y, np, 1, labels,
	      np ? "fewer than two samples" : n ? "no pin samples in this recording" : nodata);
	free(t);
	free(y);
	free(keys);
	return 0;
}

int report_write_html(const struct report *r, FILE *f)
{
	int err;

	/* what a reader wants first: findings, then the charts, then the detail */
	write_head(r, f);
	write_findings(r, f);
	err = write_charts(r, f);
	write_vmas(r, f);
	if (r->plan)
		write_plan(r->plan, f);
	fputs("<p><small>Generated by pfnscope " PFNSCOPE_VERSION ". User-space addresses and pfns "
	      "are shown; kernel addresses only with --show-kernel-addresses.</small></p>\n"
	      "</body></html>\n", f);
	if (err)
		return err;
	if (fflush(f))
		return -errno;
	return ferror(f) ? -EIO : 0;
}
