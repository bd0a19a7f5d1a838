/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel addresses the BPF programs read at run time, asked of the kernel (src/kaddr.c). */
#ifndef PFNSCOPE_KADDR_H
#define PFNSCOPE_KADDR_H

#include <linux/types.h>

/* written into the programs' .bss between load and attach; 0: unknown */
struct kaddrs {
	__u64 special_mapping_name;	/* mm/mmap.c special_mapping_name() */
	__u64 vmemmap_base;		/* arch/x86/mm/kaslr.c vmemmap_base (KALLSYMS_ALL) */
	__u64 zero_pfn;			/* mm/memory.c zero_pfn (KALLSYMS_ALL) */
};

enum { KADDR_SPECIAL_MAPPING_NAME, KADDR_VMEMMAP_BASE, KADDR_ZERO_PFN, KADDR__MAX };

/* Fills @ka with the kernel's own kallsyms_lookup_name(). 0, or -errno where the kernel has
 * no BPF_PROG_TYPE_SYSCALL or bpf_kallsyms_lookup_name(): then /proc/kallsyms is the source. */
int kaddr_lookup(struct kaddrs *ka);

#endif /* PFNSCOPE_KADDR_H */
