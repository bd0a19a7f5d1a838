/* SPDX-License-Identifier: GPL-2.0 */
/* vm_flags decoding with the two-letter mnemonics of /proc/PID/smaps "VmFlags:". */
#ifndef PFNSCOPE_VMFLAGS_H
#define PFNSCOPE_VMFLAGS_H

#include <stddef.h>
#include <stdint.h>

/* The bits of include/linux/mm.h that pfnscope reasons about (same on 6.1 and 6.18). */
#define PFN_VM_SHARED		0x00000008ULL
#define PFN_VM_PFNMAP		0x00000400ULL
#define PFN_VM_IO		0x00004000ULL
#define PFN_VM_MIXEDMAP		0x10000000ULL

/* Writes the space-separated mnemonics of @flags into @buf (as smaps does). */
char *vmflags_format(uint64_t flags, char *buf, size_t n);
/* Returns the mnemonic of bit @bit, or NULL if smaps prints none for it. */
const char *vmflags_mnemonic(unsigned int bit);

#endif /* PFNSCOPE_VMFLAGS_H */
