// SPDX-License-Identifier: GPL-2.0
/*
 * Aggregation for the always-on agent. Every exported counter is the ledger (rows the agent
 * folded and deleted) plus the live rows, so it only grows, across agent restarts too; the
 * maps stay bounded because the rows of exited processes and freed VMAs are deleted here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <json-c/json.h>
#include "pfnscope.h"
#include "agent.h"
#include "collect.h"
#include "vmflags.h"
#include "pfn.h"
#include "gup.h"

/* ----- Prometheus text exposition ----- */

static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
	}
}

static void help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* name{k1="v1",k2="v2"} value; labels given as NULL-terminated pairs */
static void sample(FILE *f, const char *name, double v, ...)
{
	const char *k, *sep = "{";
	va_list ap;

	fputs(name, f);
	va_start(ap, v);
	while ((k = va_arg(ap, const char *))) {
		fprintf(f, "%s%s=\"", sep, k);
		label_value(f, va_arg(ap, const char *));
		fputc('"', f);
		sep = ",";
	}
	va_end(ap);
	fprintf(f, "%s %.17g\n", *sep == ',' ? "}" : "", v);
}

/* ----- per comm faults: live processes plus the ledger's exited ones ----- */

struct comm_total {
	char comm[PFNSCOPE_COMM_LEN];
	__u64 faults;
};

struct comms {
	struct comm_total *c;
	size_t n, cap;
};

static void comm_add(struct comms *cs, const char *comm, __u64 faults)
{
	for (size_t i = 0; i < cs->n; i++)
		if (!strcmp(cs->c[i].comm, comm)) {
			cs->c[i].faults += faults;
			return;
		}
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 64;
		struct comm_total *n = realloc(cs->c, cap * sizeof(*n));

		if (!n)
			return;
		cs->c = n;
		cs->cap = cap;
	}
	snprintf(cs->c[cs->n].comm, sizeof(cs->c[0].comm), "%s", comm);
	cs->c[cs->n++].faults = faults;
}

static void comm_from_ledger(void *ctx, const char *b, const char *c, __u64 v)
{
	(void)c;
	comm_add(ctx, b, v);
}

static int cmp_comm(const void *a, const void *b)
{
	const struct comm_total *x = a, *y = b;

	return x->faults > y->faults ? -1 : x->faults < y->faults;
}

static void live_comm(__u32 pid, const struct proc_val *p, char *buf, size_t n)
{
	char path[64];
	FILE *f;

	snprintf(buf, n, "%s", p->comm[0] ? p->comm : "?");
	if (p->exited)
		return;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, n, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* ----- folding and deleting the rows of what is gone ----- */

static const char *finding_module(const struct finding *f)
{
	return f->vma && f->vma->module[0] ? f->vma->module : "vmlinux";
}

/*
 * RSS carried for live address spaces. A VMA row is deleted when its vm_area_struct is freed,
 * but its pages may live on in another struct: mremap() moves the ptes to a new VMA
 * (move_page_tables(), no rmap call), a split or merge hands them over the same way. Those
 * pages then leave from a row they never entered. The mm's net at exit is the sum of its rows,
 * so what a row deleted before the exit held (its net) is carried here, keyed by mm id, and
 * added back (carry_apply) until the address space exits. Without it, a process that lived
 * across an agent tick after such a move was reported with RSS_IMBALANCE (tests/lab:
 * vmachurn, -256 anon; a busybox `sleep`, -3 on its data segment after the RELRO split).
 */
static int cmp_carry(const void *a, const void *b)
{
	__u64 x = ((const struct mm_carry *)a)->mm_id, y = ((const struct mm_carry *)b)->mm_id;

	return x < y ? -1 : x > y;
}

static struct mm_carry *carry_find(const struct agent *a, __u64 id)
{
	struct mm_carry key = { .mm_id = id };

	return a->nr_carry ? bsearch(&key, a->carry, a->nr_carry, sizeof(key), cmp_carry) : NULL;
}

/* Adds row @v's net to its address space's carry; false if there was no memory for it. */
static bool carry_add(struct agent *a, const struct vma_val *v)
{
	struct mm_carry *c = carry_find(a, v->mm);
	size_t at = 0;

	if (!c) {
		if (a->nr_carry == a->cap_carry) {
			size_t cap = a->cap_carry ? a->cap_carry * 2 : 64;
			struct mm_carry *n = realloc(a->carry, cap * sizeof(*n));

			if (!n)
				return false;
			a->carry = n;
			a->cap_carry = cap;
		}
		while (at < a->nr_carry && a->carry[at].mm_id < v->mm)
			at++;
		memmove(&a->carry[at + 1], &a->carry[at], (a->nr_carry - at) * sizeof(*c));
		c = &a->carry[at];
		memset(c, 0, sizeof(*c));
		c->mm_id = v->mm;
		a->nr_carry++;
	}
	for (int m = 0; m < RSS_MEMBERS; m++)
		c->net[m] = add_wrap(c->net[m], rss_net(v, m));
	return true;
}

static void carry_apply(const struct agent *a, struct report *r)
{
	for (size_t i = 0; i < r->nr_mms; i++) {
		const struct mm_carry *c = carry_find(a, r->mms[i].val.id);

		if (!c)
			continue;
		for (int m = 0; m < RSS_MEMBERS; m++) {
			r->mms[i].carried[m] = c->net[m];
			r->mms[i].net[m] = add_wrap(r->mms[i].net[m], c->net[m]);
		}
	}
}

/* Drops the carry of address spaces that exited (evaluated this tick) or left the map. */
static void carry_prune(struct agent *a, const struct report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nr_carry; i++) {
		const struct mm_row *mm = mm_of(r, a->carry[i].mm_id);

		if (mm && !(mm->val.flags & MM_EXITED))
			a->carry[n++] = a->carry[i];
	}
	a->nr_carry = n;
}

/* A deleted row of @tgid was counted in its live address space's net (collect_mms): keep
 * it there. */
static void carry_deleted(struct agent *a, const struct report *r, __u32 tgid,
			  const struct vma_val *v)
{
	const struct mm_row *mm = mm_of(r, v->mm);

	if (mm && !(mm->val.flags & MM_EXITED) && tgid == mm->val.tgid && !carry_add(a, v))
		ledger_add(&a->ledger, 1, "dropped", "rss_carry", NULL);
}

static bool row_dead(const struct vma_row *v, const struct report *r)
{
	if (v->key.vma_cookie & 1)	/* retired at vm_area_free (bpf/vma.bpf.h) */
		return true;
	if (v->earlier)			/* its process exited; a new one has its pid */
		return true;
	for (size_t i = 0; i < r->nr_procs; i++)
		if (r->procs[i].pid == v->key.tgid)
			return r->procs[i].val.exited;
	return false;
}

/* A CPU's VMA cache holds @pid's pending faults in both reads alike (none, or the same). */
static bool cache_steady(const struct vma_cache *c1, const struct vma_cache *c2, int n, __u32 pid,
			 __u64 *pending)
{
	for (int i = 0; i < n; i++) {
		bool was = c1[i].valid && c1[i].key.tgid == pid && c1[i].pending;
		bool is = c2[i].valid && c2[i].key.tgid == pid && c2[i].pending;

		if (was != is || (was && c1[i].pending != c2[i].pending))
			return false;
		if (was)
			*pending += c1[i].pending;
	}
	return true;
}

/*
 * Folds exited processes into the ledger ("comm") and deletes their rows. A process's faults
 * are its row plus what a CPU's VMA cache still holds pending for it (bpf/fault.bpf.c), and
 * the tick's read can miss a flush in flight (state_add_pending()): harmless for a live
 * process, read again next tick, but a folded one is final. So the caches are read, then,
 * after a settle, the rows, then the caches again: a flush that had zeroed a pending count
 * before the first read (a tracepoint program, not preemptible) has added it to the row by
 * then, and a process whose pending count moved between the two reads waits for the next
 * tick. A flush after the row's delete finds no row and adds nothing. Where the caches cannot
 * be read, the rows are folded as read.
 */
static __u64 fold_procs(struct agent *a, struct report *r)
{
	const struct timespec settle = { 0, 200 * 1000 };
	struct session *s = a->ses;
	struct vma_cache *c1 = NULL, *c2 = NULL;
	struct proc_val *now;
	int n1 = 0, n2 = 0;
	__u64 deleted = 0;
	size_t dead = 0;

	for (size_t i = 0; i < r->nr_procs; i++)
		dead += r->procs[i].val.exited;
	if (!dead || !(now = calloc(r->nr_procs, sizeof(*now))))
		return 0;
	c1 = state_vma_caches(s->fds.vma_cache, &n1);
	if (c1)
		nanosleep(&settle, NULL);
	for (size_t i = 0; i < r->nr_procs; i++)
		if (r->procs[i].val.exited &&
		    bpf_map_lookup_elem(s->fds.fd[ST_PROCS], &r->procs[i].pid, &now[i]))
			now[i].exited = 0;	/* gone meanwhile */
	c2 = c1 ? state_vma_caches(s->fds.vma_cache, &n2) : NULL;
	for (size_t i = 0; i < r->nr_procs; i++) {
		struct proc_row *p = &r->procs[i];
		char comm[PFNSCOPE_COMM_LEN];
		__u64 pending = 0;

		if (!p->val.exited || !now[i].exited)
			continue;
		if (c1 && c2 && (n1 != n2 || !cache_steady(c1, c2, n1, p->pid, &pending)))
			continue;	/* a flush in flight: next tick */
		live_comm(p->pid, &p->val, comm, sizeof(comm));
		ledger_add(&a->ledger, now[i].faults + pending, "comm", comm, NULL);
		if (!bpf_map_delete_elem(s->fds.fd[ST_PROCS], &p->pid))
			deleted++;
	}
	free(c1);
	free(c2);
	free(now);
	return deleted;
}

/* Returns the number of VMA rows deleted. */
static size_t fold_and_delete(struct agent *a, struct report *r, const struct state *st)
{
	struct session *s = a->ses;
	size_t vmas_deleted = 0;
	__u64 deleted = 0;

	for (size_t i = 0; i < r->nr_vmas; i++) {
		struct vma_row *v = &r->vmas[i];

		if (!row_dead(v, r))
			continue;
		for (size_t p = 0; p < r->nr_pfns; p++) {
			struct pfn_row *pr = &r->pfns[p];

			if (pr->key.vma_id != v->val.id)
				continue;
			ledger_add(&a->ledger, pr->val.count, "installed", pfn_class_name(pr->cls), NULL);
			if (!bpf_map_delete_elem(s->fds.fd[ST_PFNS], &pr->key))
				ledger_add(&a->ledger, 1, "deleted", "pfn_hits", NULL);
		}
		for (size_t f = 0; f < r->nr_findings; f++) {
			const struct finding *fi = &r->findings[f];
			char sm[96];

			if (fi->vma != v || fi->severity == SEV_NONE)
				continue;
			snprintf(sm, sizeof(sm), "%s/%s", severity_name(fi->severity),
				 finding_module(fi));
			ledger_add(&a->ledger, 1, "findings", rules[fi->rule].id, sm);
		}
		if (!bpf_map_delete_elem(s->fds.fd[ST_VMAS], &v->key)) {
			ledger_add(&a->ledger, 1, "deleted", "vmas", NULL);
			deleted++;
			vmas_deleted++;
			if (!v->merged)
				carry_deleted(a, r, v->key.tgid, &v->val);
		}
	}
	deleted += fold_procs(a, r);
	/* address spaces whose exit_mmap() ran: the rss_stat and mm rows */
	for (size_t i = 0; i < st->t[ST_RSS].n; i++) {
		const struct rss_mm_val *rv = st_val(&st->t[ST_RSS], i);

		if (rv->exited && !bpf_map_delete_elem(s->fds.fd[ST_RSS], st_key(&st->t[ST_RSS], i)))
			deleted++;
	}
	for (size_t i = 0; i < st->t[ST_MMS].n; i++) {
		const struct mm_val *mv = st_val(&st->t[ST_MMS], i);

		if ((mv->flags & MM_EXITED) &&
		    !bpf_map_delete_elem(s->fds.fd[ST_MMS], st_key(&st->t[ST_MMS], i)))
			deleted++;
	}
	a->rows_deleted = deleted;
	carry_prune(a, r);
	return vmas_deleted;
}

/* The row ids the per-CPU VMA caches hold now (bpf/fault.bpf.c): their pending faults go
 * with their row, so those are not evicted. Returns how many are in @ids (nr_cpus room). */
static size_t cached_rows(const struct session *s, __u64 **ids)
{
	int ncpus;
	struct vma_cache *c = state_vma_caches(s->fds.vma_cache, &ncpus);
	size_t n = 0;

	*ids = c ? calloc(ncpus, sizeof(**ids)) : NULL;
	for (int i = 0; *ids && i < ncpus; i++)
		if (c[i].valid)
			(*ids)[n++] = c[i].row_id;
	free(c);
	return n;
}

/*
 * Makes room in the VMA table (src/vmaevict.h says which rows): each victim is read and
 * deleted in one call, its net RSS carried for its address space like a freed VMA's
 * (fold_and_delete), and counted in the ledger ("evicted": pfnscope_map_evictions_total).
 */
static void evict_rows(struct agent *a, const struct report *r, const struct state *st,
		       size_t present)
{
	struct session *s = a->ses;
	__u32 max = st->t[ST_VMAS].max_entries;
	__u64 *busy;
	size_t nbusy = cached_rows(s, &busy), n, done = 0;

	n = vma_evict_pick(&a->evict, present, max, busy, nbusy);
	free(busy);
	for (size_t i = 0; i < n; i++) {
		const struct evict_row *e = &a->evict.cand[i];
		struct vma_val v;

		if (bpf_map_lookup_and_delete_elem(s->fds.fd[ST_VMAS], &e->key, &v))
			continue;	/* gone meanwhile (freed, merged) */
		done++;
		ledger_add(&a->ledger, 1, "evicted", "vmas", NULL);
		carry_deleted(a, r, e->key.tgid, &v);
	}
	vma_evict_end(&a->evict, present - done, max);
}

void agent_free(struct agent *a)
{
	free(a->carry);
	a->carry = NULL;
	vma_evict_free(&a->evict);
}

/* ----- NDJSON: each finding once, remembered in the ledger ----- */

static void write_new_findings(struct agent *a, const struct report *r)
{
	for (size_t i = 0; i < r->nr_findings && a->findings_out; i++) {
		const struct finding *f = &r->findings[i];
		char id[64];
		json_object *o;

		if (f->severity == SEV_NONE)
			continue;
		snprintf(id, sizeof(id), "%llu/%d/%d/%u",
			 (unsigned long long)(f->vma ? f->vma->val.id : 0), f->src, f->member,
			 f->caller ? f->caller->key.tgid : 0);
		if (ledger_get(&a->ledger, "emitted", rules[f->rule].id, id))
			continue;
		ledger_add(&a->ledger, 1, "emitted", rules[f->rule].id, id);
		o = finding_json(f);
		json_object_object_add(o, "time", json_object_new_int64(time(NULL)));
		fprintf(a->findings_out, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		a->findings_written++;
	}
	if (a->findings_out)
		fflush(a->findings_out);
}

/* ----- the agent's own cost ----- */

static void self_usage(double *cpu_s, double *rss_b, double *hwm_b)
{
	char line[256];
	FILE *f = fopen("/proc/self/stat", "r");
	unsigned long ut = 0, st = 0;

	*cpu_s = *rss_b = *hwm_b = 0;
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			char *p = strrchr(line, ')');

			if (p)
				sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				       &ut, &st);
		}
		fclose(f);
	}
	*cpu_s = (double)(ut + st) / sysconf(_SC_CLK_TCK);
	f = fopen("/proc/self/status", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;

		if (sscanf(line, "VmRSS: %lu", &kb) == 1)
			*rss_b = kb * 1024.0;
		if (sscanf(line, "VmHWM: %lu", &kb) == 1)
			*hwm_b = kb * 1024.0;
	}
	fclose(f);
}

/* ----- the page ----- */

/* findings_total samples: live findings plus the ledger's, by (rule, severity, module) */
struct fcount {
	char rule[32], sev[16], module[64];
	__u64 n;
};

struct fcounts {
	struct fcount *c;
	size_t n, cap;
};

static void fcount_add(struct fcounts *fc, const char *rule, const char *sev, const char *mod,
		       __u64 n)
{
	for (size_t i = 0; i < fc->n; i++)
		if (!strcmp(fc->c[i].rule, rule) && !strcmp(fc->c[i].sev, sev) &&
		    !strcmp(fc->c[i].module, mod)) {
			fc->c[i].n += n;
			return;
		}
	if (fc->n == fc->cap) {
		size_t cap = fc->cap ? fc->cap * 2 : 16;
		struct fcount *nc = realloc(fc->c, cap * sizeof(*nc));

		if (!nc)
			return;
		fc->c = nc;
		fc->cap = cap;
	}
	snprintf(fc->c[fc->n].rule, sizeof(fc->c[0].rule), "%s", rule);
	snprintf(fc->c[fc->n].sev, sizeof(fc->c[0].sev), "%s", sev);
	snprintf(fc->c[fc->n].module, sizeof(fc->c[0].module), "%s", mod);
	fc->c[fc->n++].n = n;
}

/* ledger key: "findings", RULE, "SEVERITY/MODULE" */
static void findings_from_ledger(void *ctx, const char *b, const char *c, __u64 v)
{
	char sev[16];
	const char *slash = strchr(c, '/');

	if (!slash || (size_t)(slash - c) >= sizeof(sev))
		return;
	snprintf(sev, sizeof(sev), "%.*s", (int)(slash - c), c);
	fcount_add(ctx, b, sev, slash + 1, v);
}

/* The traced processes' mm counters now, summed (rss-iter: one pass over the tasks, no
 * program on the fault path). -errno where the iterator is not loaded: no gauge then. */
static int rss_now(struct session *s, long long *rss)
{
	struct rss_sample *v;
	size_t n;
	int err = zap_rss_sample(&s->zc, &v, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		for (int m = 0; m < RSS_MEMBERS; m++)
			rss[m] += v[i].pages[m];
	free(v);
	return 0;
}

/*
 * The pin-site LRU's evictions are computed, not counted: rows inserted (a BPF counter) -
 * present. One tick's figure can be off by a row that moved between buckets while the table
 * was walked, and a counter never goes back. So the exported count only rises to what two
 * ticks in a row agree on: a real eviction stays, a glitch of one walk does not (a lab agent
 * showed 2 "evictions" of a 47-row table, when the VMA table was an LRU counted this way).
 * The VMA table's evictions are the agent's own, counted (evict_rows()).
 */
static void evicted_update(struct agent *a, long long ev)
{
	long long sure = ev < a->sites_evicted_last ? ev : a->sites_evicted_last;

	a->sites_evicted_last = ev;
	if (sure > (long long)a->sites_evicted)
		a->sites_evicted = sure;
}

static void render(struct agent *a, const struct report *r, const struct state *st, FILE *f)
{
	static const char *const pin_kinds[PIN_KIND__MAX] = { "pin", "longterm", "get" };
	struct session *s = a->ses;
	struct comms cs = {};
	__u64 installed[CLASS__MAX] = {}, pins_out[PIN_KIND__MAX] = {}, other = 0;
	long long rss[RSS_MEMBERS] = {};
	double cpu, mem, hwm;

	help(f, "pfnscope_page_faults_total", "counter",
	     "Page faults counted by pfnscope (minflt+majflt semantics where the hooks allow).");
	sample(f, "pfnscope_page_faults_total", state_sum(st, ST_COUNTERS, CNT_FAULTS), NULL);

	for (size_t i = 0; i < r->nr_procs; i++) {
		char comm[PFNSCOPE_COMM_LEN];

		live_comm(r->procs[i].pid, &r->procs[i].val, comm, sizeof(comm));
		comm_add(&cs, comm, r->procs[i].val.faults);
	}
	ledger_each(&a->ledger, "comm", comm_from_ledger, &cs);
	if (cs.n)
		sort_n(cs.c, cs.n, sizeof(*cs.c), cmp_comm);
	help(f, "pfnscope_page_faults_by_comm_total", "counter",
	     "Page faults by process name: the top " "10" " names, the rest as comm=\"_other\".");
	for (size_t i = 0; i < cs.n; i++) {
		if (i < AGENT_TOP_COMMS)
			sample(f, "pfnscope_page_faults_by_comm_total", cs.c[i].faults, "comm",
			       cs.c[i].comm, NULL);
		else
			other += cs.c[i].faults;
	}
	sample(f, "pfnscope_page_faults_by_comm_total", other, "comm", "_other", NULL);
	free(cs.c);

	for (size_t i = 0; i < r->nr_pfns; i++)
		if (r->pfns[i].cls < CLASS__MAX)
			installed[r->pfns[i].cls] += r->pfns[i].val.count;
	help(f, "pfnscope_pages_installed_total", "counter",
	     "Pages handed to the VM by fault handlers or inserted/remapped by drivers, by class.");
	for (int c = 0; c < CLASS__MAX; c++)
		sample(f, "pfnscope_pages_installed_total", installed[c] +
		       ledger_get(&a->ledger, "installed", pfn_class_name(c), NULL),
		       "class", pfn_class_name(c), NULL);

	help(f, "pfnscope_findings_total", "counter",
	     "Findings raised (one per rule, VMA and source), by rule, severity and module.");
	{
		struct fcounts fc = {};

		for (size_t i = 0; i < r->nr_findings; i++)
			if (r->findings[i].severity != SEV_NONE)
				fcount_add(&fc, rules[r->findings[i].rule].id,
					   severity_name(r->findings[i].severity),
					   finding_module(&r->findings[i]), 1);
		ledger_each(&a->ledger, "findings", findings_from_ledger, &fc);
		for (size_t i = 0; i < fc.n; i++)
			sample(f, "pfnscope_findings_total", fc.c[i].n, "rule", fc.c[i].rule,
			       "severity", fc.c[i].sev, "module", fc.c[i].module, NULL);
		free(fc.c);
	}

	for (size_t i = 0; i < r->pins.nr_pins; i++)
		if (r->pins.pins[i].val.caller.kind < PIN_KIND__MAX)
			pins_out[r->pins.pins[i].val.caller.kind] += r->pins.pins[i].val.refs;
	help(f, "pfnscope_pins_outstanding", "gauge", "Pages pinned (FOLL_PIN refs) now, by kind.");
	for (int k = 0; k < PIN_KIND_GET; k++)
		sample(f, "pfnscope_pins_outstanding", pins_out[k], "kind", pin_kinds[k], NULL);
	help(f, "pfnscope_pin_acquired_total", "counter", "Pin and reference acquisitions (pages).");
	sample(f, "pfnscope_pin_acquired_total", state_sum(st, ST_PIN_TOTALS, PT_PIN_ACQUIRED) -
	       state_sum(st, ST_PIN_TOTALS, PT_LONGTERM), "kind", "pin", NULL);
	sample(f, "pfnscope_pin_acquired_total", state_sum(st, ST_PIN_TOTALS, PT_LONGTERM),
	       "kind", "longterm", NULL);
	sample(f, "pfnscope_pin_acquired_total", state_sum(st, ST_PIN_TOTALS, PT_GET_ACQUIRED),
	       "kind", "get", NULL);
	help(f, "pfnscope_pin_released_total", "counter", "FOLL_PIN releases (pages).");
	sample(f, "pfnscope_pin_released_total", state_sum(st, ST_PIN_TOTALS, PT_PIN_RELEASED),
	       NULL);

	if (rss_now(s, rss) == 0) {
		help(f, "pfnscope_rss_pages", "gauge",
		     "Resident pages of the traced processes, by mm counter (the kernel's "
		     "counters, read each interval).");
		for (int m = 0; m < RSS_MEMBERS; m++)
			sample(f, "pfnscope_rss_pages", rss[m], "member", rss_member_name(m),
			       NULL);
	}

	help(f, "pfnscope_dropped_events_total", "counter", "Events pfnscope lost, by reason.");
	for (int d = 0; d < DROP__MAX; d++)
		sample(f, "pfnscope_dropped_events_total", r->drops[d], "reason", drop_reason_name(d),
		       NULL);
	/* a deleted row's RSS that found no memory to be carried in (fold_and_delete) */
	sample(f, "pfnscope_dropped_events_total", ledger_get(&a->ledger, "dropped", "rss_carry", NULL),
	       "reason", "rss_carry_no_memory", NULL);

	help(f, "pfnscope_map_entries", "gauge", "Rows in each aggregate map now.");
	for (int t = 0; t < ST__MAX; t++)
		if (st->t[t].present && t != ST_DROPS && t != ST_PIN_TOTALS && t != ST_COUNTERS)
			sample(f, "pfnscope_map_entries", st->t[t].seen, "map", state_table_name(t),
			       NULL);
	help(f, "pfnscope_map_capacity", "gauge", "Capacity of each aggregate map.");
	for (int t = 0; t < ST__MAX; t++)
		if (st->t[t].present && t != ST_DROPS && t != ST_PIN_TOTALS && t != ST_COUNTERS)
			sample(f, "pfnscope_map_capacity", st->t[t].max_entries, "map",
			       state_table_name(t), NULL);
	help(f, "pfnscope_map_evictions_total", "counter",
	     "Rows deleted to make room: idle VMA rows by the agent (counted), pin sites by their "
	     "LRU map (inserted - present).");
	{
		long long ev = (long long)state_sum(st, ST_COUNTERS, CNT_PIN_SITES) -
			       (long long)st->t[ST_PIN_SITES].seen;

		sample(f, "pfnscope_map_evictions_total",
		       ledger_get(&a->ledger, "evicted", "vmas", NULL), "map", "vmas", NULL);
		evicted_update(a, ev);
		sample(f, "pfnscope_map_evictions_total", a->sites_evicted, "map", "pin_sites", NULL);
	}

	help(f, "pfnscope_hook_attached", "gauge", "1 if the hook is attached, by mechanism.");
	for (int h = 0; h < HOOK__MAX; h++) {
		const struct hook_plan *hp = &s->plan.hooks[h];
		const struct candidate *c = hp->chosen >= 0 ? &hp->def->cand[hp->chosen] : NULL;

		sample(f, "pfnscope_hook_attached", hp->status == HOOK_ATTACHED, "hook",
		       hp->def->name, "mechanism", c ? mech_name(c->mech) : "none", NULL);
	}

	/* sampled before this tick allocated anything: the agent's steady size */
	cpu = a->self_cpu;
	mem = a->self_rss;
	hwm = a->self_hwm;
	help(f, "pfnscope_agent_cpu_seconds_total", "counter", "CPU time of the agent process.");
	sample(f, "pfnscope_agent_cpu_seconds_total", cpu, NULL);
	help(f, "pfnscope_agent_resident_memory_bytes", "gauge", "Resident memory of the agent.");
	sample(f, "pfnscope_agent_resident_memory_bytes", mem, NULL);
	help(f, "pfnscope_agent_peak_resident_memory_bytes", "gauge", "Peak resident memory.");
	sample(f, "pfnscope_agent_peak_resident_memory_bytes", hwm, NULL);
	help(f, "pfnscope_agent_start_time_seconds", "gauge", "When this agent started (Unix time).");
	sample(f, "pfnscope_agent_start_time_seconds", a->started, NULL);
	help(f, "pfnscope_agent_state_reused", "gauge",
	     "1 if this agent continued the pinned state of a previous one.");
	sample(f, "pfnscope_agent_state_reused", a->ledger.reused, NULL);
	help(f, "pfnscope_agent_ticks_total", "counter", "Aggregations done (pages rendered).");
	sample(f, "pfnscope_agent_ticks_total", a->ticks + 1, NULL);
	help(f, "pfnscope_agent_tick_seconds", "gauge", "Time the last aggregation took.");
	sample(f, "pfnscope_agent_tick_seconds", a->tick_seconds, NULL);
	help(f, "pfnscope_agent_ledger_full_total", "counter", "Ledger additions refused (full).");
	sample(f, "pfnscope_agent_ledger_full_total", a->ledger.full, NULL);
	help(f, "pfnscope_findings_written_total", "counter", "NDJSON finding lines written.");
	sample(f, "pfnscope_findings_written_total", a->findings_written, NULL);
	help(f, "pfnscope_vmas_tracked", "gauge", "VMA rows in the kernel table now.");
	sample(f, "pfnscope_vmas_tracked", st->t[ST_VMAS].seen, NULL);
	help(f, "pfnscope_processes_tracked", "gauge", "Process rows in the kernel table now.");
	sample(f, "pfnscope_processes_tracked", r->nr_procs, NULL);
}

/* ----- which VMA rows the agent reads: only those that matter ----- */

struct u64set {
	__u64 *v;
	size_t n, cap;
};

static void set_add(struct u64set *s, __u64 x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		__u64 *n = realloc(s->v, cap * sizeof(*n));

		if (!n)
			return;
		s->v = n;
		s->cap = cap;
	}
	s->v[s->n++] = x;
}

static bool set_has(const struct u64set *s, __u64 x)
{
	return s->n && bsearch(&x, s->v, s->n, sizeof(x), cmp_u64);
}

struct vma_filter {
	struct vma_evict *evict;	/* the rows that do not matter are its candidates */
	struct u64set pfn_rows;		/* vma ids with pfn rows */
	struct u64set mms;		/* mm ids exited or pinned: their rows make findings */
	struct u64set dead;		/* tgids that exited: their rows are folded and deleted */
};

/*
 * A row matters if a finding or a metric can come from it: it has pfn rows or bad ptes, its
 * address space exited (RSS balance) or holds pins, or it is dead (folded into the ledger).
 * An ordinary live anonymous or file VMA is only counted: with 100k VMAs the agent then holds
 * a few hundred rows, not 100k (docs/agent.md, memory budget).
 */
static bool vma_matters(void *ctx, const void *key, const void *val)
{
	const struct vma_filter *vf = ctx;
	const struct vma_key *k = key;
	const struct vma_val *v = val;
	bool matters = v->bad_ptes || (k->vma_cookie & 1) || set_has(&vf->pfn_rows, v->id) ||
		       set_has(&vf->mms, v->mm) || set_has(&vf->dead, k->tgid);

	if (!matters)
		vma_evict_add(vf->evict, k, v);
	return matters;
}

static int read_state(struct agent *a, struct state *st)
{
	struct vma_filter vf = { .evict = &a->evict };
	const struct state_table *t;
	int err;

	err = session_read(a->ses, st, ST_MASK_ALL & ~(1u << ST_VMAS));
	if (err)
		return err;
	t = &st->t[ST_PFNS];
	for (size_t i = 0; i < t->n; i++)
		set_add(&vf.pfn_rows, ((const struct pfn_key *)st_key(t, i))->vma_id);
	t = &st->t[ST_MMS];
	for (size_t i = 0; i < t->n; i++)
		if (((const struct mm_val *)st_val(t, i))->flags & MM_EXITED)
			set_add(&vf.mms, ((const struct mm_val *)st_val(t, i))->id);
	t = &st->t[ST_PINS];
	for (size_t i = 0; i < t->n; i++)
		set_add(&vf.mms, ((const struct pin_val *)st_val(t, i))->mm_id);
	t = &st->t[ST_PIN_SITES];
	for (size_t i = 0; i < t->n; i++)
		set_add(&vf.mms, ((const struct pin_site_key *)st_key(t, i))->mm_id);
	t = &st->t[ST_PROCS];
	for (size_t i = 0; i < t->n; i++)
		if (((const struct proc_val *)st_val(t, i))->exited)
			set_add(&vf.dead, *(const __u32 *)st_key(t, i));
	sort_n(vf.pfn_rows.v, vf.pfn_rows.n, sizeof(__u64), cmp_u64);
	sort_n(vf.mms.v, vf.mms.n, sizeof(__u64), cmp_u64);
	sort_n(vf.dead.v, vf.dead.n, sizeof(__u64), cmp_u64);
	vma_evict_begin(&a->evict);
	err = state_read_filtered(st, ST_VMAS, a->ses->fds.fd[ST_VMAS], vma_matters, &vf) ?:
	      state_add_pending(st, a->ses->fds.vma_cache, 1u << ST_VMAS);
	free(vf.pfn_rows.v);
	free(vf.mms.v);
	free(vf.dead.v);
	return err;
}

int agent_tick(struct agent *a, char **text, size_t *len)
{
	struct report r = { .command = "agent" };
	struct state st = {};
	struct timespec t0, t1;
	FILE *f;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	self_usage(&a->self_cpu, &a->self_rss, &a->self_hwm);
	err = read_state(a, &st);
	if (!err)
		err = collect_report(&st, session_ksyms(a->ses), &r);
	if (!err)
		err = pins_collect(&st, session_ksyms(a->ses), a->ses->io, &r);
	if (err)
		goto out;
	carry_apply(a, &r);
	err = findings_evaluate(&r, a->ses->io, a->pol);
	if (err)
		goto out;
	write_new_findings(a, &r);
	f = open_memstream(text, len);
	if (!f) {
		err = -errno;
		goto out;
	}
	render(a, &r, &st, f);
	/* after rendering: a deleted row's counts are in the ledger from the next page on */
	evict_rows(a, &r, &st, st.t[ST_VMAS].seen - fold_and_delete(a, &r, &st));
	a->ticks++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	a->tick_seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (fclose(f))
		err = -errno;
out:
	report_free(&r);
	state_free(&st);
	return err;
}
