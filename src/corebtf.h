/* SPDX-License-Identifier: GPL-2.0 */
/* A per-kernel cache of the kernel types the objects' CO-RE relocations use (corebtf.c). */
#ifndef PFNSCOPE_COREBTF_H
#define PFNSCOPE_COREBTF_H

#include <stdbool.h>
#include <stddef.h>

#define COREBTF_DEFAULT_DIR "/var/cache/pfnscope"

/* The cache file for this kernel and this build, if it is there and can be trusted; else NULL
 * (corebtf_status() says why). Looked up once per process. */
const char *corebtf_lookup(void);
/* An object did not load with it: remove it, and use the kernel's BTF from here on. */
void corebtf_reject(void);
/* Once everything is attached: where there is no cache yet, make it on a thread. */
void corebtf_generate(void);
/* Wait for that thread (at the end of a session). */
void corebtf_wait(void);
/* One line: what the last lookup found ("cached in PATH", "off", "not made yet: ..."). */
const char *corebtf_status(void);

/* The GNU build ID in a blob of ELF notes (/sys/kernel/notes) as hex into @hex; 0 or -ENOENT. */
int corebtf_build_id(const void *notes, size_t n, char *hex, size_t hexsz);

#endif /* PFNSCOPE_COREBTF_H */
