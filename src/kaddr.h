/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel addresses the BPF programs read at run time, asked of the kernel (src/kaddr.c). */
#ifndef PFNSCOPE_KADDR_H
#define PFNSCOPE_KADDR_H

#include <stddef.h>
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

/* Address -> "name+0xoff/0xsize [module]" by the kernel's sprint_symbol() (bpf_snprintf's
 * "%pS"), or "0x..." where no symbol holds it. kaddr_symbolizer_open() returns the program's
 * fd, or -errno where the kernel cannot run it (then /proc/kallsyms is the source). */
#define KADDR_SYM_LEN 256
int kaddr_symbolizer_open(void);
int kaddr_symbolize(int fd, unsigned long addr, char *buf, size_t n);

/* Kernel symbols in query mode (ksyms_kernel()) over the program above; where the kernel
 * cannot run it (or PFNSCOPE_KSYMS=table), /proc/kallsyms read whole (ksyms_load()). */
struct ksyms *kaddr_ksyms(void);
/* Where kernel symbols will come from, for `pfnscope probe` (@buf holds a reason) */
const char *kaddr_ksyms_status(char *buf, size_t n);

#endif /* PFNSCOPE_KADDR_H */
