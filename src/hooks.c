// SPDX-License-Identifier: GPL-2.0
/*
 * The logical hooks and, for each, the mechanisms that can serve it, best first. Facts behind
 * each choice are in docs/kernel-notes.md; the ones a reader needs here are in the comments.
 */
#include "planner.h"

#define FN_LIMITS_NONE NULL

const struct hook_def hook_defs[HOOK__MAX] = {
	[HOOK_TASK_FORK] = {
		.name = "task-fork",
		.what = "follow the children of traced processes",
		.lost = "children of the traced command are not followed",
		.cand = {
			{ MECH_TP_BTF, "sched:sched_process_fork", { "task_fork" } },
		},
	},
	[HOOK_TASK_EXIT] = {
		.name = "task-exit",
		.what = "per-process exit and the kernel's own min_flt/maj_flt",
		.lost = "no per-process ground truth at exit",
		.cand = {
			{ MECH_TP_BTF, "sched:sched_process_exit", { "task_exit" } },
		},
	},
	[HOOK_FAULT_COUNT] = {
		.name = "fault-count",
		.what = "completed page faults per VMA (minflt+majflt semantics)",
		.lost = "no page-fault counts",
		.cand = {
			/* mm_account_fault() runs at the end of handle_mm_fault(): fexit sees all
			 * its inputs and the result, GUP faults (regs == NULL) included */
			{ MECH_FEXIT, "handle_mm_fault", { "fault_count_fexit" } },
			{ MECH_KPROBE, "handle_mm_fault",
			  { "fault_count_kprobe", "fault_count_kretprobe" } },
			{ MECH_TP_BTF, "exceptions:page_fault_user exceptions:page_fault_kernel",
			  { "fault_count_tp", "fault_count_ktp" },
			  "#PF exceptions on user addresses (user and kernel mode): GUP faults are "
			  "missed, retried and failed faults are counted, major faults are not told "
			  "apart" },
		},
	},
	[HOOK_FAULT_RETURN] = {
		.name = "fault-return",
		.what = "the page a vm_ops->fault handler returns in vmf->page",
		.lost = "no per-pfn classification of fault-handler pages (NONRAM_PAGE, RESERVED_PAGE)",
		.cand = {
			{ MECH_FEXIT, "__do_fault", { "fault_return_fexit" } },
			{ MECH_KPROBE, "__do_fault",
			  { "fault_return_kprobe", "fault_return_kretprobe" } },
		},
	},
	[HOOK_PTE_INSTALL] = {
		.name = "pte-install",
		.what = "the pte installed for a fault-handler page and its caching mode",
		.lost = "installed caching mode unknown",
		.cand = {
			{ MECH_FENTRY, "set_pte_range", { "pte_install_range_fentry" } },	/* 6.6+ */
			{ MECH_FENTRY, "do_set_pte", { "pte_install_fentry" } },		/* <= 6.5 */
			{ MECH_KPROBE, "set_pte_range", { "pte_install_range_kprobe" } },
			{ MECH_KPROBE, "do_set_pte", { "pte_install_kprobe" } },
		},
	},
	[HOOK_PFN_INSERT] = {
		.name = "pfn-insert",
		.what = "pfns inserted by vmf_insert_pfn*/vmf_insert_mixed* (insert_pfn)",
		.lost = "no classification of inserted pfns (FREE_PAGE_MAPPED, RAM_PFNMAP, MMIO_CACHED)",
		.cand = {
			{ MECH_FENTRY, "insert_pfn", { "pfn_insert_fentry" } },
			{ MECH_KPROBE, "insert_pfn", { "pfn_insert_kprobe" } },
		},
	},
	[HOOK_PFN_REMAP] = {
		.name = "pfn-remap",
		.what = "pfn ranges mapped at mmap time by remap_pfn_range",
		.lost = "remap_pfn_range mappings are not classified",
		.cand = {
			/* remap_pfn_range_notrack is inlined into it on 6.1: hook the outer one */
			{ MECH_FEXIT, "remap_pfn_range", { "pfn_remap_fexit" } },
			{ MECH_KPROBE, "remap_pfn_range", { "pfn_remap_kprobe" } },
		},
	},
	[HOOK_PFN_TRACK] = {
		.name = "pfn-track",
		.what = "the cache mode x86 PAT installs for a remap_pfn_range (track_pfn_remap)",
		.lost = "installed cache mode of remap_pfn_range mappings unknown",
		.cand = {
			{ MECH_FEXIT, "track_pfn_remap", { "pfn_track_fexit" } },
		},
	},
	[HOOK_PAGE_INSERT] = {
		.name = "page-insert",
		.what = "pages inserted by vm_insert_page(s)",
		.lost = "vm_insert_page(s) mappings are not classified",
		.cand = {
			{ MECH_FENTRY, "vm_insert_page", { "vm_insert_page_fentry" } },
			{ MECH_KPROBE, "vm_insert_page", { "vm_insert_page_kprobe" } },
		},
	},
	[HOOK_TEARDOWN] = {
		.name = "teardown",
		.what = "page-table teardown per VMA (zap_pte_range is inlined: its callers)",
		.lost = "no per-VMA teardown",
		.cand = {
			{ MECH_FENTRY, "unmap_page_range", { "teardown_fentry" } },
			{ MECH_KPROBE, "unmap_page_range", { "teardown_kprobe" } },
		},
	},
	[HOOK_RSS_RMAP] = {
		.name = "rss-rmap",
		.what = "pages entering and leaving each VMA's RSS (rmap add/remove, 6.1 API)",
		.lost = "no per-VMA RSS",
		.cand = {
			{ MECH_FENTRY, "page_add_new_anon_rmap page_add_anon_rmap page_add_file_rmap "
				       "page_remove_rmap",
			  { "rmap_add_new_anon", "rmap_add_anon", "rmap_add_file", "rmap_remove" } },
			{ MECH_KPROBE, "page_add_new_anon_rmap page_add_anon_rmap page_add_file_rmap "
				       "page_remove_rmap",
			  { "rmap_add_new_anon_kprobe", "rmap_add_anon_kprobe", "rmap_add_file_kprobe",
			    "rmap_remove_kprobe" } },
		},
	},
	[HOOK_FORK_COPY] = {
		.name = "fork-copy",
		.what = "RSS a child's VMA inherits at fork (copy_page_range)",
		.lost = "per-VMA RSS of forked children is not seeded: COW children under-count",
		.cand = {
			{ MECH_FEXIT, "copy_page_range", { "fork_copy" } },
			{ MECH_KPROBE, "copy_page_range", { "fork_copy_kprobe", "fork_copy_kretprobe" } },
		},
	},
	[HOOK_VMA_FREE] = {
		.name = "vma-free",
		.what = "the end of a vm_area_struct's life (vm_area_free): its rows are retired",
		.lost = "a reused vm_area_struct at the same address continues its predecessor's row",
		.cand = {
			{ MECH_FENTRY, "vm_area_free", { "vma_free_fentry" } },
			{ MECH_KPROBE, "vm_area_free", { "vma_free_kprobe" } },
		},
	},
	[HOOK_STACK_MOVE] = {
		.name = "stack-move",
		.what = "exec moving its new stack VMA to its place (setup_arg_pages): its row follows",
		.lost = "an exec'd process's argument pages stay on a row of the stack's first place",
		.cand = {
			/* a program at the entry (the old place) and one at the return */
			{ MECH_FEXIT, "setup_arg_pages setup_arg_pages",
			  { "stack_move_fentry", "stack_move_fexit" } },
			{ MECH_KPROBE, "setup_arg_pages setup_arg_pages",
			  { "stack_move_kprobe", "stack_move_kretprobe" } },
		},
	},
	[HOOK_BAD_PTE] = {
		.name = "bad-pte",
		.what = "page-table entries the kernel reports as bad (print_bad_pte)",
		.lost = "no BAD_PTE findings",
		.cand = {
			{ MECH_FENTRY, "print_bad_pte", { "bad_pte_fentry" } },
			{ MECH_KPROBE, "print_bad_pte", { "bad_pte_kprobe" } },
		},
	},
	[HOOK_MM_FORK] = {
		.name = "mm-fork",
		.what = "address spaces created by fork of traced processes",
		.lost = "a child's inherited RSS cannot be told from observed RSS",
		.cand = {
			{ MECH_TP_BTF, "sched:sched_process_fork", { "mm_fork" } },
		},
	},
	[HOOK_PIN_GRAB] = {
		.name = "pin-grab",
		.what = "page references taken by GUP (FOLL_PIN / FOLL_GET), 6.1 API",
		.lost = "no per-process pins; only the global /proc/vmstat pin counters",
		.cand = {
			/* 6.1: try_grab_page(page, flags), try_grab_folio(page, refs, flags);
			 * 6.10+ takes a folio first (not written) */
			{ MECH_FEXIT, "try_grab_page try_grab_folio",
			  { "pin_grab_page_fexit", "pin_grab_folio_fexit" }, NULL, 0, "page" },
			/* a kprobe and a kretprobe on each */
			{ MECH_KPROBE, "try_grab_page try_grab_page try_grab_folio try_grab_folio",
			  { "pin_grab_page_kprobe", "pin_grab_page_kretprobe", "pin_grab_folio_kprobe",
			    "pin_grab_folio_kretprobe" }, NULL, 0, "page" },
		},
	},
	[HOOK_PIN_RELEASE] = {
		.name = "pin-release",
		.what = "FOLL_PIN references released (gup_put_folio: unpin_user_page*, GUP errors)",
		.lost = "outstanding pins cannot be tracked",
		.cand = {
			{ MECH_FENTRY, "gup_put_folio", { "pin_release_fentry" }, NULL, 0, "folio" },
			{ MECH_KPROBE, "gup_put_folio", { "pin_release_kprobe" }, NULL, 0, "folio" },
		},
	},
	[HOOK_PIN_ADDR] = {
		.name = "pin-addr",
		.what = "the user address GUP is walking (__get_user_pages, fast GUP)",
		.lost = "pins are not attributed to VMAs",
		.cand = {
			/* __get_user_pages has 7 arguments on 6.1: fentry refuses it (-524) */
			{ MECH_KPROBE, "__get_user_pages internal_get_user_pages_fast",
			  { "gup_slow_entry", "gup_fast_entry_kprobe" } },
		},
	},
	[HOOK_PIN_UNMAP] = {
		.name = "pin-unmap",
		.what = "VMAs freed while pages of them are pinned (vm_area_free)",
		.lost = "no PIN_AFTER_UNMAP findings",
		.cand = {
			{ MECH_FENTRY, "vm_area_free", { "pin_vma_free" } },
			{ MECH_KPROBE, "vm_area_free", { "pin_vma_free_kprobe" } },
		},
	},
	[HOOK_RSS] = {
		.name = "rss",
		.what = "per-mm RSS as the kernel's counters say (kmem:rss_stat)",
		.lost = "no per-mm RSS accounting",
		.cand = {
			/* exact and cheap where the raw tracepoint passes the count (6.1) */
			{ MECH_TP_BTF, "kmem:rss_stat", { "rss_tp_btf" }, NULL, 3 },
			/* 6.2+: the record's size is percpu_counter_sum(), exact */
			{ MECH_TRACEPOINT, "kmem:rss_stat", { "rss_tp" } },
		},
	},
	[HOOK_MM_EXIT] = {
		.name = "mm-exit",
		.what = "address-space teardown (exit_mmap)",
		.lost = "mm teardown is not seen: RSS balance cannot be checked at exit",
		.cand = {
			/* fexit: after exit_mmap() unmapped everything */
			{ MECH_FEXIT, "exit_mmap", { "mm_exit_fexit" } },
			{ MECH_TP_BTF, "mmap:exit_mmap", { "mm_exit_tp_btf" } },
		},
	},
	[HOOK_VMA_ITER] = {
		.name = "vma-iter",
		.what = "snapshot of a process's VMAs with vm_flags and vm_ops (iter/task_vma)",
		.lost = "VM_PFNMAP/VM_MIXEDMAP/VM_IO VMAs are not listed",
		.cand = {
			{ MECH_ITER, "task_vma", { "vma_iter" } },
		},
	},
	[HOOK_RSS_ITER] = {
		.name = "rss-iter",
		.what = "per-process RSS read from the mm counters when asked (iter/task; agent)",
		.lost = "the agent has no RSS gauge",
		.cand = {
			{ MECH_ITER, "task", { "rss_iter" } },
		},
	},
	[HOOK_MM_SEED] = {
		.name = "mm-seed",
		.what = "address spaces that existed before the hooks attached, marked unobserved "
			"(iter/task, once)",
		.lost = "a process that ran before pfnscope started and exits under it is reported "
			"with RSS_IMBALANCE: its pages leave without having been seen entering",
		.cand = {
			{ MECH_ITER, "task", { "mm_seed" } },
		},
	},
};
