// SPDX-License-Identifier: GPL-2.0
/* One line (or one NDJSON object) per event, findings as they happen (src/trace.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include <bpf/bpf.h>
#include "pfnscope.h"
#include "session.h"
#include "collect.h"
#include "vmflags.h"
#include "trace_view.h"

static const char *const type_names[TE__MAX] = {
	[TE_FAULT] = "fault", [TE_PFN] = "pfn", [TE_TEARDOWN] = "teardown", [TE_PIN] = "pin",
	[TE_UNPIN] = "unpin", [TE_RSS] = "rss", [TE_BAD_PTE] = "bad-pte", [TE_EXIT] = "exit",
};

const char *trace_type_name(int type)
{
	return type > 0 && type < TE__MAX ? type_names[type] : "?";
}

int trace_parse_types(const char *list, unsigned int *mask)
{
	char buf[256], *save, *tok;

	*mask = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int t;

		if (!strcmp(tok, "all")) {
			*mask |= TRACE_ALL_TYPES;
			continue;
		}
		for (t = 1; t < TE__MAX && strcmp(tok, type_names[t]); t++)
			;
		if (t == TE__MAX)
			return -1;
		*mask |= 1u << t;
	}
	return *mask ? 0 : -1;
}

static int cmp_id(const void *a, const void *b)
{
	const struct vma_row *x = *(struct vma_row *const *)a, *y = *(struct vma_row *const *)b;

	return x->val.id < y->val.id ? -1 : x->val.id > y->val.id;
}

static struct vma_row *find_id(struct trace_view *tv, __u64 id)
{
	size_t lo = 0, hi = tv->nr_by_id;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tv->by_id[mid]->val.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tv->nr_by_id && tv->by_id[lo]->val.id == id ? tv->by_id[lo] : NULL;
}

/* A block of rows added by one trace_view_index(): rows never move, by_id points at them. */
struct tv_chunk {
	struct tv_chunk *next;
	size_t n;
	struct vma_row rows[];
};

static void drop_index(struct trace_view *tv)
{
	while (tv->chunks) {
		struct tv_chunk *c = tv->chunks;

		tv->chunks = c->next;
		free(c);
	}
	tv->nr_by_id = 0;
}

/* A known row read again: its counts and flags are the newest; names are made again only
 * where what they come from changed. */
static void update_row(struct trace_view *tv, struct vma_row *v, const struct vma_key *key,
		       const struct vma_val *val)
{
	bool rename = v->val.kind != val->kind || strcmp(v->val.name, val->name) ||
		      v->val.vm_ops != val->vm_ops || v->val.fault_fn != val->fault_fn ||
		      v->val.mmap_fn != val->mmap_fn;

	v->key = *key;
	v->val = *val;
	if (rename)
		collect_vma_names(v, tv->ks);
}

/* @pid's entry of the per-process table (open addressing); a new one with @add, NULL where
 * there is none or it cannot grow */
static struct tv_proc *proc_of(struct trace_view *tv, __u32 pid, bool add)
{
	size_t i;

	if (add && 2 * (tv->nr_procs + 1) > tv->cap_procs) {
		size_t cap = tv->cap_procs ? 2 * tv->cap_procs : 1024, old = tv->cap_procs;
		struct tv_proc *prev = tv->procs;

		tv->procs = calloc(cap, sizeof(*tv->procs));
		if (!tv->procs) {
			tv->procs = prev;
			return NULL;
		}
		tv->cap_procs = cap;
		tv->nr_procs = 0;
		for (size_t k = 0; k < old; k++)
			if (prev[k].pid)
				*proc_of(tv, prev[k].pid, true) = prev[k];
		free(prev);
	}
	if (!pid || !tv->cap_procs)
		return NULL;
	for (i = (pid * 0x9E3779B1u) & (tv->cap_procs - 1); tv->procs[i].pid != pid;
	     i = (i + 1) & (tv->cap_procs - 1))
		if (!tv->procs[i].pid) {
			if (!add)
				return NULL;
			tv->procs[i].pid = pid;
			tv->nr_procs++;
			break;
		}
	return &tv->procs[i];
}

/* A new row: its process's newest address space among the rows (ids grow: an exec's new mm
 * is seen after the one it replaces) and a comm a row of it was made under */
static int note_mm(struct trace_view *tv, const struct vma_row *v)
{
	struct tv_proc *p;

	if (!v->key.tgid || !v->val.mm)
		return 0;
	p = proc_of(tv, v->key.tgid, true);
	if (!p)
		return -ENOMEM;
	if (v->val.mm > p->mm || (v->val.mm == p->mm && !p->comm[0])) {
		p->mm = v->val.mm;
		snprintf(p->comm, sizeof(p->comm), "%.*s", (int)sizeof(p->comm) - 1, v->val.comm);
	}
	return 0;
}

/* @pid's newest address space among the rows (0 if none), and a row's comm in it */
static __u64 newest_mm(struct trace_view *tv, __u32 pid, const char **comm)
{
	struct tv_proc *p = proc_of(tv, pid, false);

	if (!p)
		return 0;
	if (comm)
		*comm = p->comm;
	return p->mm;
}

/*
 * Adds the VMA rows of @st to the index: a row already known is updated, a new one named
 * (handler, vm_ops and module from the symbols) once. A live trace re-reads the rows often
 * (reread()); building a whole report each time (40 MB memset for 30,000 rows, every name
 * formatted again) kept it busy on a CPU of its own while processes came and went. Rows
 * deleted from the map stay known, so a late record still has its name, until the index
 * holds more than twice the map's rows, when it starts over from this read.
 */
int trace_view_index(struct trace_view *tv, const struct state *st)
{
	const struct state_table *t = &st->t[ST_VMAS];
	size_t nnew = 0, *fresh;
	struct vma_row **by;
	struct tv_chunk *c;
	int err = 0;

	/* a replay's process rows: the comm each exited with (bpf/fault.bpf.c task_exit) */
	for (size_t i = 0; !tv->ses && i < st->t[ST_PROCS].n &&
	     st->t[ST_PROCS].ksz == sizeof(__u32) &&
	     st->t[ST_PROCS].vsz >= sizeof(struct proc_val); i++) {
		const struct proc_val *pv = st_val(&st->t[ST_PROCS], i);
		struct tv_proc *p;
		__u32 pid;

		memcpy(&pid, st_key(&st->t[ST_PROCS], i), sizeof(pid));
		if (!pv->comm[0])
			continue;
		p = proc_of(tv, pid, true);
		if (!p)
			return -ENOMEM;
		snprintf(p->exit_comm, sizeof(p->exit_comm), "%.*s", (int)sizeof(p->exit_comm) - 1,
			 pv->comm);
	}
	if (tv->nr_by_id > 2 * t->n + 4096)
		drop_index(tv);
	fresh = malloc((t->n + 1) * sizeof(*fresh));	/* the rows of @st the index lacks */
	if (!fresh)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const struct vma_val *val = st_val(t, i);
		struct vma_row *v = val->id ? find_id(tv, val->id) : NULL;

		if (v)
			update_row(tv, v, st_key(t, i), val);
		else if (val->id)
			fresh[nnew++] = i;
	}
	if (!nnew)
		goto out;
	c = calloc(1, sizeof(*c) + nnew * sizeof(c->rows[0]));
	by = realloc(tv->by_id, (tv->nr_by_id + nnew) * sizeof(*by));
	if (by)
		tv->by_id = by;
	if (!c || !by) {
		free(c);
		err = -ENOMEM;
		goto out;
	}
	for (c->n = 0; c->n < nnew; c->n++) {
		struct vma_row *v = &c->rows[c->n];

		memcpy(&v->key, st_key(t, fresh[c->n]), sizeof(v->key));
		v->val = *(const struct vma_val *)st_val(t, fresh[c->n]);
		collect_vma_names(v, tv->ks);
		err = note_mm(tv, v) ?: err;
		by[tv->nr_by_id + c->n] = v;
	}
	c->next = tv->chunks;
	tv->chunks = c;
	tv->nr_by_id += c->n;
	sort_n(by, tv->nr_by_id, sizeof(*by), cmp_id);
out:
	free(fresh);
	return err;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Whether @e names a VMA row the index lacks and a re-read could find. A row is made before
 * any record that names it takes its time (vma_get() then trace_reserve(), both
 * CLOCK_MONOTONIC), and a read walks the hash while rows go in, so it holds every row older
 * than its start and only some of those made while it ran. An unknown id of a record newer
 * than the last read's start may be found by the next read; one of an older record is a row
 * deleted before that read, for good (a retired row keeps its id under its new key).
 */
static bool wants_reread(struct trace_view *tv, const struct trace_rec *e)
{
	return tv->ses && e->vma_id && e->ts_ns >= tv->read_start_ns && !find_id(tv, e->vma_id);
}

/* Reads the VMA rows again into the index, timing the read. */
static void reread(struct trace_view *tv)
{
	struct state st = {};

	tv->read_start_ns = mono_ns();
	if (!session_read(tv->ses, &st, 1u << ST_VMAS))
		trace_view_index(tv, &st);
	state_free(&st);
	tv->read_end_ns = mono_ns();
	tv->reads++;
}

/*
 * A re-read walks the whole table, so it comes at most every TV_REREAD_GAP_NS and four times
 * its own length apart (at most a fifth of the time), and records that wait for one are held,
 * in order, with every record after them (trace_view_flush()). Re-read for every batch of
 * records naming new rows, a system-wide trace over 30,000 rows while processes came and went
 * was busy on a CPU of its own; with no re-read at once, a driver's remap drained 1 ms after
 * another driver's faults lost its VMA's name (a rate limit with nothing held).
 */
#define TV_REREAD_GAP_NS (10 * 1000000ULL)
#define TV_HOLD_MAX 65536

static bool reread_due(const struct trace_view *tv, __u64 now)
{
	__u64 gap = 4 * (tv->read_end_ns - tv->read_start_ns);

	return tv->nr_held >= TV_HOLD_MAX ||
	       now - tv->read_end_ns >= (gap > TV_REREAD_GAP_NS ? gap : TV_REREAD_GAP_NS);
}

static int hold(struct trace_view *tv, const struct trace_rec *e)
{
	if (tv->nr_held == tv->cap_held) {
		size_t cap = tv->cap_held ? tv->cap_held * 2 : 1024;
		struct trace_rec *n = realloc(tv->held, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		tv->held = n;
		tv->cap_held = cap;
	}
	tv->held[tv->nr_held++] = *e;
	return 0;
}

/* The comm the kernel had for @pid when its group leader exited (bpf/fault.bpf.c task_exit
 * keeps it in the process row): a live session's map, a replay's snapshot. false if none. */
static bool exited_comm(struct trace_view *tv, __u32 pid, char *comm, size_t n)
{
	if (tv->ses) {
		struct proc_val pv;
		int fd = tv->ses->fds.fd[ST_PROCS];

		if (fd < 0 || bpf_map_lookup_elem(fd, &pid, &pv) || !pv.comm[0])
			return false;
		snprintf(comm, n, "%.*s", (int)sizeof(pv.comm), pv.comm);
		return true;
	} else {
		struct tv_proc *p = proc_of(tv, pid, false);

		if (!p || !p->exit_comm[0])
			return false;
		snprintf(comm, n, "%s", p->exit_comm);
		return true;
	}
}

/* comm of @pid, from /proc/PID/comm at most every half second (it changes at exec); a
 * process gone by the time its records are printed (a short one is gone before the next
 * drain) or a replay's has the comm it exited with */
static const char *comm_of(struct trace_view *tv, __u32 pid)
{
	struct comm_slot *c = &tv->comms[pid % TRACE_COMM_SLOTS];
	struct timespec ts;
	__u64 now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (c->pid != pid || now - c->read_ns > 500000000ULL) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
		if (c->pid != pid)
			snprintf(c->comm, sizeof(c->comm), "?");
		f = tv->ses ? fopen(path, "r") : NULL;	/* a replay has no live processes */
		if (f) {
			if (fgets(c->comm, sizeof(c->comm), f))
				c->comm[strcspn(c->comm, "\n")] = '\0';
			fclose(f);
		} else {
			exited_comm(tv, pid, c->comm, sizeof(c->comm));
		}
		c->pid = pid;
		c->read_ns = now;
	}
	return c->comm;
}

/* What comm_of() finds (the process's name now, or the one it exited with), except for an
 * event in an address space the process left by an exec: the name its VMA row was made under
 * (the forked copy's, sh or pfnscope), not the image /proc names now. The row's own comm is
 * the name of the thread that first faulted it, which for a process with named threads is
 * not the process's: it is used only there. */
static const char *event_comm(struct trace_view *tv, const struct trace_rec *e,
			      const struct vma_row *v)
{
	bool row = v && v->key.tgid == e->tgid && v->val.comm[0];
	const char *c, *latest = "";

	if (row && v->val.mm && v->val.mm < newest_mm(tv, e->tgid, NULL))
		return v->val.comm;
	c = comm_of(tv, e->tgid);
	if (strcmp(c, "?"))
		return c;
	/* a process a replay's last snapshot still saw alive has no exit name: the name its
	 * rows were made under */
	if (row)
		return v->val.comm;
	newest_mm(tv, e->tgid, &latest);
	return latest[0] ? latest : c;
}

static bool seen_before(struct trace_view *tv, __u64 vma_id, int rule)
{
	for (size_t i = 0; i < tv->nr_seen; i++)
		if (tv->seen[i].vma_id == vma_id && tv->seen[i].rule == rule)
			return true;
	if (tv->nr_seen == tv->cap_seen) {
		size_t cap = tv->cap_seen ? tv->cap_seen * 2 : 16;
		void *n = realloc(tv->seen, cap * sizeof(*tv->seen));

		if (!n)
			return true;	/* out of memory: do not repeat findings */
		tv->seen = n;
		tv->cap_seen = cap;
	}
	tv->seen[tv->nr_seen].vma_id = vma_id;
	tv->seen[tv->nr_seen++].rule = rule;
	return false;
}

static void vma_label(const struct vma_row *v, char *buf, size_t n)
{
	if (v)
		snprintf(buf, n, "%s", v->name);
	else
		snprintf(buf, n, "-");
}

/* The rule a pfn event breaks, with its class and region; -1 if none. */
static int pfn_event_rule(struct trace_view *tv, const struct trace_rec *e,
			  const struct vma_row *v, struct pfn_row *p)
{
	memset(p, 0, sizeof(*p));
	p->key.src = e->src;
	p->key.state = e->state;
	p->key.req_cache = e->req_cache;
	p->key.inst_cache = e->inst_cache;
	p->key.pfn = p->val.example_pfn = e->pfn;
	p->val.count = e->count;
	p->vma = (struct vma_row *)v;
	p->cls = classify_pfn(tv->io, e->pfn, e->state, &p->region);
	if (!p->region)
		p->region = "";
	return pfn_rule(p);
}

static void print_finding(struct trace_view *tv, const struct trace_rec *e, int rule,
			  const struct vma_row *v, const struct pfn_row *p, double t)
{
	const struct policy_entry *pe = tv->pol ? policy_match(tv->pol, rule, v) : NULL;
	enum severity sev = pe ? pe->severity : rules[rule].severity;

	tv->findings[rule]++;
	if (sev == SEV_NONE || seen_before(tv, e->vma_id, rule))
		return;
	if (tv->rule_mask && !(tv->rule_mask & (1u << rule)))
		return;
	tv->shown++;
	if (tv->json) {
		json_object *o = json_object_new_object();
		char pfn[24];

		json_object_object_add(o, "t", json_object_new_double(t));
		json_object_object_add(o, "type", json_object_new_string("finding"));
		json_object_object_add(o, "rule", json_object_new_string(rules[rule].id));
		json_object_object_add(o, "severity", json_object_new_string(severity_name(sev)));
		json_object_object_add(o, "pid", json_object_new_int64(e->tgid));
		json_object_object_add(o, "comm", json_object_new_string(event_comm(tv, e, v)));
		if (v) {
			json_object_object_add(o, "vma", json_object_new_string(v->name));
			json_object_object_add(o, "module", json_object_new_string(v->module));
			json_object_object_add(o, "fault_handler",
					       json_object_new_string(v->fault_handler));
		}
		if (p) {
			snprintf(pfn, sizeof(pfn), "0x%llx", (unsigned long long)e->pfn);
			json_object_object_add(o, "pfn", json_object_new_string(pfn));
			json_object_object_add(o, "class", json_object_new_string(pfn_class_name(p->cls)));
			json_object_object_add(o, "region", json_object_new_string(p->region));
		}
		if (pe)
			json_object_object_add(o, "policy", json_object_new_string(pe->reason));
		json_object_object_add(o, "summary", json_object_new_string(rules[rule].summary));
		fprintf(tv->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	fprintf(tv->out, "%10.6f %7u %-15.15s FINDING   %s %s: %s (%s, %s)\n", t, e->tgid,
		event_comm(tv, e, v), severity_name(sev), rules[rule].id, rules[rule].summary,
		v ? v->name : "?", v ? v->fault_handler : "?");
}

static void detail(const struct trace_rec *e, const struct pfn_row *p, char *buf, size_t n)
{
	switch (e->type) {
	case TE_FAULT:
		snprintf(buf, n, "addr 0x%llx", (unsigned long long)e->addr);
		break;
	case TE_PFN:
		snprintf(buf, n, "%s pfn 0x%llx x%llu %s%s%s%s cache %s/%s",
			 pfn_src_name(e->src), (unsigned long long)e->pfn,
			 (unsigned long long)e->count, pfn_class_name(p->cls),
			 p->region[0] ? " \"" : "", p->region, p->region[0] ? "\"" : "",
			 cache_mode_name(e->req_cache),
			 e->inst_cache == 0xff ? "?" : cache_mode_name(e->inst_cache));
		break;
	case TE_TEARDOWN:
		snprintf(buf, n, "unmap from 0x%llx", (unsigned long long)e->addr);
		break;
	case TE_PIN:
		snprintf(buf, n, "pfn 0x%llx x%llu %s at 0x%llx", (unsigned long long)e->pfn,
			 (unsigned long long)e->count, pin_kind_name(e->src),
			 (unsigned long long)e->addr);
		break;
	case TE_UNPIN:
		snprintf(buf, n, "pfn 0x%llx x%llu", (unsigned long long)e->pfn,
			 (unsigned long long)e->count);
		break;
	case TE_RSS:
		snprintf(buf, n, "%s=%lld pages (mm %u)", rss_member_name(e->src),
			 (long long)e->pfn, e->mm_id);
		break;
	case TE_BAD_PTE:
		snprintf(buf, n, "bad pte at 0x%llx", (unsigned long long)e->addr);
		break;
	case TE_EXIT:
		snprintf(buf, n, "exit status 0x%llx", (unsigned long long)e->count);
		break;
	default:
		snprintf(buf, n, "?");
	}
}

static void print_json(struct trace_view *tv, const struct trace_rec *e,
		       const struct vma_row *v, const struct pfn_row *p, double t)
{
	json_object *o = json_object_new_object();
	char hex[24];

	json_object_object_add(o, "t", json_object_new_double(t));
	json_object_object_add(o, "type", json_object_new_string(trace_type_name(e->type)));
	json_object_object_add(o, "pid", json_object_new_int64(e->tgid));
	json_object_object_add(o, "comm", json_object_new_string(event_comm(tv, e, v)));
	json_object_object_add(o, "tid", json_object_new_int64(e->tid));
	if (v) {
		json_object_object_add(o, "vma", json_object_new_string(v->name));
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)v->val.vm_start);
		json_object_object_add(o, "vm_start", json_object_new_string(hex));
		json_object_object_add(o, "module", json_object_new_string(v->module));
	}
	if (e->addr) {
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)e->addr);
		json_object_object_add(o, "addr", json_object_new_string(hex));
	}
	switch (e->type) {
	case TE_PFN:
		json_object_object_add(o, "source", json_object_new_string(pfn_src_name(e->src)));
		json_object_object_add(o, "class", json_object_new_string(pfn_class_name(p->cls)));
		json_object_object_add(o, "region", json_object_new_string(p->region));
		json_object_object_add(o, "req_cache",
				       json_object_new_string(cache_mode_name(e->req_cache)));
		json_object_object_add(o, "inst_cache", json_object_new_string(
			e->inst_cache == 0xff ? "unknown" : cache_mode_name(e->inst_cache)));
		json_object_object_add(o, "reserved",
				       json_object_new_boolean(e->state & PFNST_RESERVED));
		/* fall through */
	case TE_PIN:
	case TE_UNPIN:
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)e->pfn);
		json_object_object_add(o, "pfn", json_object_new_string(hex));
		json_object_object_add(o, "count", json_object_new_int64(e->count));
		if (e->type == TE_PIN)
			json_object_object_add(o, "kind", json_object_new_string(pin_kind_name(e->src)));
		break;
	case TE_RSS:
		json_object_object_add(o, "member", json_object_new_string(rss_member_name(e->src)));
		json_object_object_add(o, "pages", json_object_new_int64((long long)e->pfn));
		json_object_object_add(o, "mm", json_object_new_int64(e->mm_id));
		break;
	case TE_EXIT:
		json_object_object_add(o, "status", json_object_new_int64(e->count));
		break;
	default:
		break;
	}
	fprintf(tv->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* Prints @e (and any finding it makes) with its VMA as the index has it. */
static int show(struct trace_view *tv, const struct trace_rec *e)
{
	const struct vma_row *v = NULL;
	struct pfn_row p = { .region = "" };
	int rule = -1;
	double t;

	if (e->type <= TE_NONE || e->type >= TE__MAX)
		return -EINVAL;
	tv->events[e->type]++;
	if (!tv->t0_ns)
		tv->t0_ns = e->ts_ns;
	t = (e->ts_ns - tv->t0_ns) / 1e9;
	/* the VMA is looked up only where it is printed or needed: faults are the bulk */
	if (e->vma_id && (tv->module || e->type != TE_FAULT || (tv->type_mask & (1u << TE_FAULT))))
		v = find_id(tv, e->vma_id);
	if (tv->module && (!v || strcmp(v->module, tv->module)))
		return 0;
	if (e->type == TE_PFN)
		rule = pfn_event_rule(tv, e, v, &p);
	else if (e->type == TE_BAD_PTE)
		rule = RULE_BAD_PTE;
	if (!tv->rule_mask && (tv->type_mask & (1u << e->type))) {
		tv->shown++;
		if (tv->json) {
			print_json(tv, e, v, &p, t);
		} else {
			char vl[PFNSCOPE_NAME_LEN + 8], d[200];

			vma_label(v, vl, sizeof(vl));
			detail(e, &p, d, sizeof(d));
			fprintf(tv->out, "%10.6f %7u %-15.15s %-9s %-24.24s %s\n", t, e->tgid,
				event_comm(tv, e, v), trace_type_name(e->type), vl, d);
		}
	}
	if (rule >= 0)
		print_finding(tv, e, rule, v, e->type == TE_PFN ? &p : NULL, t);
	return 0;
}

int trace_view_flush(struct trace_view *tv, bool all)
{
	size_t i;
	int err = 0;

	if (!tv->nr_held || (!all && !reread_due(tv, mono_ns())))
		return 0;
	reread(tv);
	for (i = 0; i < tv->nr_held && !err; i++)
		err = show(tv, &tv->held[i]);
	tv->nr_held = 0;
	return err;
}

int trace_view_event(struct trace_view *tv, const struct trace_rec *e)
{
	bool want;

	if (e->type <= TE_NONE || e->type >= TE__MAX)
		return -EINVAL;
	/* the VMA is looked up only where it is printed or needed: faults are the bulk */
	want = (tv->module || e->type != TE_FAULT || (tv->type_mask & (1u << TE_FAULT))) &&
	       wants_reread(tv, e);

	/* held: behind a held record, or waiting for a re-read itself */
	if (tv->nr_held || (want && !reread_due(tv, mono_ns()))) {
		int err = hold(tv, e);

		if (!err)
			return 0;
		err = trace_view_flush(tv, true);	/* no room to hold: now, in order */
		return err ?: show(tv, e);
	}
	if (want)
		reread(tv);
	return show(tv, e);
}

void trace_view_free(struct trace_view *tv)
{
	drop_index(tv);
	free(tv->held);
	tv->held = NULL;
	tv->nr_held = tv->cap_held = 0;
	free(tv->by_id);
	free(tv->seen);
	free(tv->procs);
	tv->by_id = NULL;
	tv->seen = NULL;
	tv->procs = NULL;
	tv->cap_procs = tv->nr_procs = 0;
}
