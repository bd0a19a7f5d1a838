/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel types the objects' CO-RE relocations start from, cut out of the kernel's BTF in
 * memory (coremin.c): what libbpf searches instead of all of it (corebtf.c). */
#ifndef PFNSCOPE_COREMIN_H
#define PFNSCOPE_COREMIN_H

#include <stddef.h>

struct btf;

#define COREMIN_MAX_ROOTS 256

struct coremin_roots {
	unsigned int n;
	char *name[COREMIN_MAX_ROOTS];	/* essential names (no ___flavor), each once */
};

/* Add the root type names of the CO-RE relocations in the BPF object @obj (ELF bytes: its
 * .BTF and .BTF.ext sections) to @r; 0 or -errno (-EINVAL: not an object with BTF). */
int coremin_object_roots(const void *obj, size_t size, struct coremin_roots *r);
void coremin_roots_free(struct coremin_roots *r);

/* A BTF holding every type of @kernel named like a root, whole, with everything they embed;
 * a struct or union they only point to becomes an empty one of its name and size. NULL with
 * errno set on failure. */
struct btf *coremin_build(const struct btf *kernel, const struct coremin_roots *r);

#endif /* PFNSCOPE_COREMIN_H */
