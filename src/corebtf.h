/* SPDX-License-Identifier: GPL-2.0 */
/* What the objects' CO-RE relocations are resolved against (corebtf.c). */
#ifndef PFNSCOPE_COREBTF_H
#define PFNSCOPE_COREBTF_H

/* The btf_custom_path for the objects: the kernel types their relocations start from, cut out
 * of the kernel's BTF once per process; NULL for the whole kernel BTF (PFNSCOPE_CORE=kernel,
 * or the cut failed or was rejected). */
const char *corebtf_lookup(void);
/* An object did not load with it: the whole kernel BTF from here on. */
void corebtf_reject(void);
/* One line: what the relocations are resolved against, and why. */
const char *corebtf_status(void);

#endif /* PFNSCOPE_COREBTF_H */
