// SPDX-License-Identifier: GPL-2.0
/*
 * Page references taken through GUP and the FOLL_PIN ones given back.
 *
 * Grabs: try_grab_page(page, flags) (slow GUP, follow_page_pte) and try_grab_folio(page, refs,
 * flags) (fast GUP): the NR_FOLL_PIN_ACQUIRED vmstat counter moves there by refs. Releases:
 * gup_put_folio(folio, refs, flags), the end of every unpin_user_page*() and of GUP's own
 * error paths (NR_FOLL_PIN_RELEASED). FOLL_GET references are dropped with put_page(), which
 * cannot be told apart: they are counted, not balanced.
 *
 * The user address of each page: GUP grabs pages in address order from a start the entry
 * points know: __get_user_pages(mm, start, ...) (7 args: kprobe on 6.1) and
 * internal_get_user_pages_fast(start, ...) (current->mm). A per-thread cursor advances by refs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "gup.h"
#include "vma.bpf.h"
#include "page.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* FOLL_* values: #defines on 6.1 (not in BTF), anonymous enum values on 6.18: the loader sets
 * them from BTF when it can, else these 6.1 values stand */
const volatile __u32 foll_pin = 0x40000;
const volatile __u32 foll_get = 0x4;
const volatile __u32 foll_longterm = 0x10000;
/* try_grab_page() returned bool until 6.2, int (0 = success) after */
const volatile __u32 grab_page_returns_int = 0;

/* the address of mm/memory.c zero_pfn (the pfn of ZERO_PAGE(0)), from kallsyms; 0 if absent;
 * set between load and attach (.bss) */
volatile __u64 zero_pfn_addr;

struct {
	/* preallocated: pins come in bursts with interrupts off (gup_fast walks the page tables
	 * under local_irq_save()), where the bpf_mem_alloc caches cannot refill (irq_work): on
	 * 6.1, 4 of 8 pins of one pin_user_pages_fast() call found no free element */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);			/* head page pfn */
	__type(value, struct pin_val);
} pins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pin_caller_key);
	__type(value, struct pin_caller_val);
} pin_callers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 32 * sizeof(__u64));
} pin_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} pin_totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);	/* the oldest sites go first; evictions counted */
	__uint(max_entries, 16384);
	__type(key, struct pin_site_key);
	__type(value, struct pin_site_val);
} pin_sites SEC(".maps");

static __always_inline void site_add(__u64 mm_id, __u64 addr, __u32 kind, __u64 acq, __u64 rel)
{
	struct pin_site_key k = { .mm_id = mm_id, .addr = addr, .kind = kind };
	struct pin_site_val *v, init = {};

	if (!mm_id)
		return;
	v = bpf_map_lookup_elem(&pin_sites, &k);
	if (!v) {
		if (!acq)
			return;	/* evicted meanwhile */
		if (!bpf_map_update_elem(&pin_sites, &k, &init, BPF_NOEXIST))
			count_add(CNT_PIN_SITES, 1);
		v = bpf_map_lookup_elem(&pin_sites, &k);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->acquired, acq);
	__sync_fetch_and_add(&v->released, rel);
}

/* per thread: where the current GUP call is in the address space */
struct gup_cursor {
	__u64 mm;
	__u64 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);			/* pid_tgid */
	__type(value, struct gup_cursor);
} gup_cursors SEC(".maps");

static __always_inline void total_add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&pin_totals, &which);

	if (v)
		*v += n;
}

static __always_inline void cursor_set(__u64 mm, __u64 start)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gup_cursor c = { .mm = mm, .addr = start & ~0xfffULL };

	if (tgid_traced(id >> 32) && bpf_map_update_elem(&gup_cursors, &id, &c, BPF_ANY))
		count_drop(DROP_STASH_FULL);
}

SEC("kprobe/__get_user_pages")
int BPF_KPROBE(gup_slow_entry, struct mm_struct *mm, unsigned long start)
{
	cursor_set((__u64)mm, start);
	return 0;
}

SEC("kprobe/internal_get_user_pages_fast")
int BPF_KPROBE(gup_fast_entry_kprobe, unsigned long start)
{
	struct task_struct *task = bpf_get_current_task_btf();

	cursor_set((__u64)BPF_CORE_READ(task, mm), start);
	return 0;
}

/* compound_head(): a tail page's compound_head has bit 0 set and points at the head */
static __always_inline struct page *head_page(struct page *page)
{
	unsigned long head = BPF_CORE_READ(page, compound_head);

	return (head & 1) ? (struct page *)(head - 1) : page;
}

static __always_inline __u64 zero_page_pfn(void)
{
	unsigned long z = ~0UL;

	if (zero_pfn_addr)
		bpf_probe_read_kernel(&z, sizeof(z), (void *)zero_pfn_addr);
	return z;
}

static __always_inline void trace_pin(__u32 type, __u32 kind, __u64 addr, __u64 pfn,
				      __u64 refs)
{
	struct trace_rec *e = trace_reserve(type);

	if (!e)
		return;
	e->src = kind;
	e->addr = addr;
	e->pfn = pfn;
	e->count = refs;
	trace_submit(e);
}

static __always_inline void grabbed(void *ctx, struct page *page, __u64 refs, __u32 flags)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), pfn;
	struct pin_caller_key ck = { .tgid = id >> 32 };
	struct pin_caller_val *cv, cinit = {};
	struct gup_cursor *cur;
	struct pin_val *pv;
	bool zero;

	if (!tgid_traced(ck.tgid) || !(flags & (foll_pin | foll_get)))
		return;
	ck.kind = !(flags & foll_pin) ? PIN_KIND_GET :
		  (flags & foll_longterm) ? PIN_KIND_LONGTERM : PIN_KIND_PIN;
	ck.stack_id = bpf_get_stackid(ctx, &pin_stacks, 0);
	pfn = page_to_pfn(head_page(page));
	zero = page_to_pfn(page) == zero_page_pfn();
	cv = bpf_map_lookup_elem(&pin_callers, &ck);
	if (!cv) {
		bpf_get_current_comm(cinit.comm, sizeof(cinit.comm));
		bpf_map_update_elem(&pin_callers, &ck, &cinit, BPF_NOEXIST);
		cv = bpf_map_lookup_elem(&pin_callers, &ck);
	}
	if (cv) {
		__sync_fetch_and_add(&cv->acquired, refs);
		if (zero)
			__sync_fetch_and_add(&cv->zero_page, refs);
	}
	cur = bpf_map_lookup_elem(&gup_cursors, &id);
	if (cur) {
		struct mm_val *m = bpf_map_lookup_elem(&mms, &cur->mm);

		if (m)
			site_add(m->id, cur->addr, ck.kind, refs, 0);
	}
	if (ck.kind == PIN_KIND_GET) {
		total_add(PT_GET_ACQUIRED, refs);
		trace_pin(TE_PIN, ck.kind, cur ? cur->addr : 0, pfn, refs);
		if (cur)
			cur->addr += refs << 12;
		return;
	}
	total_add(PT_PIN_ACQUIRED, refs);
	if (zero)
		total_add(PT_PIN_ZERO, refs);
	if (ck.kind == PIN_KIND_LONGTERM)
		total_add(PT_LONGTERM, refs);
	pv = bpf_map_lookup_elem(&pins, &pfn);
	if (!pv) {
		struct pin_val init = { .caller = ck, .since_ns = now, .zero_page = zero };

		cur = bpf_map_lookup_elem(&gup_cursors, &id);
		if (cur) {
			struct mm_val *m = bpf_map_lookup_elem(&mms, &cur->mm);

			init.mm_id = m ? m->id : 0;
			init.addr = cur->addr;
		}
		if (insert_failed(bpf_map_update_elem(&pins, &pfn, &init, BPF_NOEXIST)))
			count_drop(DROP_PIN_MAP_FULL);
		pv = bpf_map_lookup_elem(&pins, &pfn);
	}
	if (pv)
		__sync_fetch_and_add(&pv->refs, refs);
	cur = bpf_map_lookup_elem(&gup_cursors, &id);
	trace_pin(TE_PIN, ck.kind, cur ? cur->addr : 0, pfn, refs);
	if (cur)
		cur->addr += refs << 12;
}

/* try_grab_page(page, flags): bool until 6.2, then int 0 on success */
SEC("fexit/try_grab_page")
int pin_grab_page_fexit(unsigned long long *ctx)
{
	__u64 ret = ctx[2];
	bool ok = grab_page_returns_int ? (int)ret == 0 : (ret & 0xff) != 0;

	if (ok)
		grabbed(ctx, (struct page *)ctx_arg_u64(ctx, 0), 1, ctx[1]);
	return 0;
}

/* try_grab_folio(page, refs, flags) -> folio, NULL on failure (6.1) */
SEC("fexit/try_grab_folio")
int pin_grab_folio_fexit(unsigned long long *ctx)
{
	if (ctx[3])
		grabbed(ctx, (struct page *)ctx_arg_u64(ctx, 0), (int)ctx[1], ctx[2]);
	return 0;
}

/* kprobe backend: the entry stashes what the return needs */
struct grab_args {
	__u64 page;
	__u64 refs;
	__u32 flags;
	__u32 folio;	/* try_grab_folio (returns a folio pointer) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct grab_args);
} grab_stash SEC(".maps");

static __always_inline void grab_entry(__u64 page, __u64 refs, __u32 flags, __u32 folio)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct grab_args a = { page, refs, flags, folio };

	if (tgid_traced(id >> 32) && bpf_map_update_elem(&grab_stash, &id, &a, BPF_ANY))
		count_drop(DROP_STASH_FULL);
}

static __always_inline void grab_return(void *ctx, __u64 ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct grab_args *a = bpf_map_lookup_elem(&grab_stash, &id);
	bool ok;

	if (!a)
		return;
	ok = a->folio ? ret != 0 : grab_page_returns_int ? (int)ret == 0 : (ret & 0xff) != 0;
	if (ok)
		grabbed(ctx, (struct page *)a->page, a->refs, a->flags);
	bpf_map_delete_elem(&grab_stash, &id);
}

SEC("kprobe/try_grab_page")
int BPF_KPROBE(pin_grab_page_kprobe, struct page *page, unsigned int flags)
{
	grab_entry((__u64)page, 1, flags, 0);
	return 0;
}

SEC("kretprobe/try_grab_page")
int BPF_KRETPROBE(pin_grab_page_kretprobe, unsigned long ret)
{
	grab_return(ctx, ret);
	return 0;
}

SEC("kprobe/try_grab_folio")
int BPF_KPROBE(pin_grab_folio_kprobe, struct page *page, int refs, unsigned int flags)
{
	grab_entry((__u64)page, refs, flags, 1);
	return 0;
}

SEC("kretprobe/try_grab_folio")
int BPF_KRETPROBE(pin_grab_folio_kretprobe, unsigned long ret)
{
	grab_return(ctx, ret);
	return 0;
}

/* gup_put_folio(folio, refs, flags): every FOLL_PIN release ends here */
static __always_inline void pin_released(__u64 folio, __u64 refs, __u32 flags)
{
	__u64 pfn = page_to_pfn((struct page *)folio);
	__u32 tgid = current_tgid();
	struct pin_val *pv;

	if (!(flags & foll_pin))
		return;
	pv = bpf_map_lookup_elem(&pins, &pfn);
	if (!pv && !tgid_traced(tgid))
		return;
	total_add(PT_PIN_RELEASED, refs);
	trace_pin(TE_UNPIN, pv ? pv->caller.kind : PIN_KIND_PIN, pv ? pv->addr : 0, pfn, refs);
	/* gup_put_folio() leaves the zero page out of NR_FOLL_PIN_RELEASED, as the grab does */
	if (pfn == zero_page_pfn())
		total_add(PT_PIN_ZERO_RELEASED, refs);
	if (!pv)
		return;
	if (pv->refs > refs) {
		__sync_fetch_and_sub(&pv->refs, refs);
	} else {
		struct pin_caller_val *cv = bpf_map_lookup_elem(&pin_callers, &pv->caller);

		if (cv) {
			__u64 held = bpf_ktime_get_ns() - pv->since_ns;

			__sync_fetch_and_add(&cv->released, pv->refs);
			if (held > cv->max_hold_ns)
				cv->max_hold_ns = held;
		}
		site_add(pv->mm_id, pv->addr, pv->caller.kind, 0, pv->refs);
		bpf_map_delete_elem(&pins, &pfn);
	}
	return;
}

SEC("fentry/gup_put_folio")
int pin_release_fentry(unsigned long long *ctx)
{
	pin_released(ctx_arg_u64(ctx, 0), (int)ctx[1], ctx[2]);
	return 0;
}

SEC("kprobe/gup_put_folio")
int BPF_KPROBE(pin_release_kprobe, void *folio, int refs, unsigned int flags)
{
	pin_released((__u64)folio, refs, flags);
	return 0;
}

/* ----- pin-unmap: a VMA freed while pages of it are pinned ----- */

struct unmap_scan {
	__u64 mm_id, start, end;
};

static long mark_after_unmap(struct bpf_map *map, __u64 *pfn, struct pin_val *pv,
			     struct unmap_scan *s)
{
	struct pin_caller_val *cv;

	if (pv->mm_id != s->mm_id || pv->addr < s->start || pv->addr >= s->end || pv->after_unmap)
		return 0;
	pv->after_unmap = 1;
	cv = bpf_map_lookup_elem(&pin_callers, &pv->caller);
	if (cv)
		__sync_fetch_and_add(&cv->after_unmap, pv->refs);
	return 0;
}

static __always_inline void pin_vma_freed(struct vm_area_struct *vma);

/* vm_area_free(vma): scans the outstanding pins (bounded by the map) for pages of this VMA */
SEC("fentry/vm_area_free")
int BPF_PROG(pin_vma_free, struct vm_area_struct *vma)
{
	pin_vma_freed(vma);
	return 0;
}

SEC("kprobe/vm_area_free")
int BPF_KPROBE(pin_vma_free_kprobe, struct vm_area_struct *vma)
{
	pin_vma_freed(vma);
	return 0;
}

static __always_inline void pin_vma_freed(struct vm_area_struct *vma)
{
	__u64 mm = (__u64)BPF_CORE_READ(vma, vm_mm);
	struct mm_val *m = bpf_map_lookup_elem(&mms, &mm);
	struct unmap_scan s;

	if (!m)
		return;
	s.mm_id = m->id;
	s.start = BPF_CORE_READ(vma, vm_start);
	s.end = BPF_CORE_READ(vma, vm_end);
	bpf_for_each_map_elem(&pins, mark_after_unmap, &s, 0);
	return;
}
