// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel types a CO-RE relocation can resolve to, cut out of the kernel's BTF in memory.
 *
 * libbpf 1.1 resolves a relocation by walking every kernel type for candidates of the root's
 * kind and name (bpf_core_find_cands() -> bpf_core_add_cands(): ~0.7 ms a walk over the 6.18
 * host's 126,700 types, one walk per root type and object, ~20 ms of a start-up). Handed a
 * smaller BTF through btf_custom_path it walks that one instead. This file makes that BTF in
 * one pass over the kernel's (corebtf.c hands it to libbpf), coarser than BTFgen's (bpftool
 * gen min_core_btf, which keeps only the members used) and needing no file nor bpftool:
 *
 *  - the roots: the local type of each relocation in the objects' .BTF.ext (struct
 *    bpf_core_relo; not BPF_CORE_TYPE_ID_LOCAL, which needs no kernel type), by its essential
 *    name (bpf_core_essential_name_len(): "mm_struct___new" is looked up as "mm_struct");
 *  - every kernel type so named is copied whole, and with it everything it embeds (members,
 *    arrays, typedefs, modifiers), so that every field access path and every offset, size,
 *    bitfield and enum value is the kernel's own;
 *  - a struct or union reached only through a pointer becomes an empty one of the same name,
 *    kind and size: a field relocation never walks through a pointer (each dereference is a
 *    relocation of its own, rooted at the pointee, which is then a root), and the checks on
 *    a pointer field stop at the pointer (bpf_core_fields_are_compat(): BTF_KIND_PTR is
 *    compatible with any BTF_KIND_PTR), while a type relocation compares a struct by kind and
 *    name only (bpf_core_types_are_compat()).
 *
 * Types keep their kernel order among themselves and refer to each other by new IDs given
 * before any is written (btf__add_*() accept an ID that is not there yet).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <bpf/btf.h>
#include "coremin.h"

/* .BTF.ext (Documentation/bpf/btf.rst, "BTF.ext section"); offsets count from the end of the
 * header. core_relo_* are there from LLVM 13 on (hdr_len says). */
struct btf_ext_hdr {
	__u16 magic;
	__u8 version;
	__u8 flags;
	__u32 hdr_len;
	__u32 func_info_off, func_info_len, line_info_off, line_info_len;
	__u32 core_relo_off, core_relo_len;
};

static bool elf_section(Elf *elf, const char *want, const void **data, size_t *size)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    strcmp(name, want))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return false;
		*data = d->d_buf;
		*size = d->d_size;
		return true;
	}
	return false;
}

/* libbpf's rule: the name up to its last "___" flavour separator ("a___b" -> "a") */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = n >= 5 ? n - 5 : 0; n >= 5; i--) {
		if (name[i] != '_' && !strncmp(name + i + 1, "___", 3) && name[i + 4] != '_')
			return i + 1;
		if (!i)
			break;
	}
	return n;
}

static int add_root(struct coremin_roots *r, const char *name)
{
	size_t len = essential_len(name);

	for (unsigned int i = 0; i < r->n; i++)
		if (strlen(r->name[i]) == len && !strncmp(r->name[i], name, len))
			return 0;
	if (r->n == COREMIN_MAX_ROOTS)
		return -E2BIG;
	if (!(r->name[r->n] = strndup(name, len)))
		return -ENOMEM;
	r->n++;
	return 0;
}

static int relo_roots(const struct btf *local, const __u8 *ext, size_t size,
		      struct coremin_roots *r)
{
	const struct btf_ext_hdr *h = (const void *)ext;
	const __u8 *p, *end;
	__u32 rec;

	if (size < offsetof(struct btf_ext_hdr, core_relo_off) || h->magic != BTF_MAGIC ||
	    h->hdr_len > size)
		return -EINVAL;
	if (h->hdr_len < sizeof(*h) || !h->core_relo_len)
		return 0;	/* no relocations */
	if ((size_t)h->hdr_len + h->core_relo_off + h->core_relo_len > size ||
	    h->core_relo_len < sizeof(__u32))
		return -EINVAL;
	p = ext + h->hdr_len + h->core_relo_off;
	end = p + h->core_relo_len;
	memcpy(&rec, p, sizeof(rec));
	p += sizeof(rec);
	if (rec < sizeof(struct bpf_core_relo))
		return -EINVAL;
	while (end - p >= 8) {	/* per section: name offset, count, records */
		__u32 cnt;

		memcpy(&cnt, p + 4, sizeof(cnt));
		p += 8;
		if ((size_t)(end - p) / rec < cnt)
			return -EINVAL;
		for (__u32 i = 0; i < cnt; i++, p += rec) {
			struct bpf_core_relo cr;
			const struct btf_type *t;
			const char *name;
			int err;

			memcpy(&cr, p, sizeof(cr));
			if (cr.kind == BPF_CORE_TYPE_ID_LOCAL)
				continue;
			t = btf__type_by_id(local, cr.type_id);
			name = t ? btf__name_by_offset(local, t->name_off) : NULL;
			if (!name)
				return -EINVAL;
			if (*name && (err = add_root(r, name)))
				return err;
		}
	}
	return 0;
}

int coremin_object_roots(const void *obj, size_t size, struct coremin_roots *r)
{
	const void *btf_data, *ext;
	size_t btf_size, ext_size;
	struct btf *local = NULL;
	Elf *elf;
	int err = -EINVAL;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	elf = elf_memory((char *)obj, size);	/* only read (libbpf opens objects alike) */
	if (!elf)
		return -EINVAL;
	if (elf_section(elf, ".BTF", &btf_data, &btf_size) &&
	    elf_section(elf, ".BTF.ext", &ext, &ext_size) &&
	    (local = btf__new(btf_data, btf_size)))
		err = relo_roots(local, ext, ext_size, r);
	btf__free(local);
	elf_end(elf);
	return err;
}

void coremin_roots_free(struct coremin_roots *r)
{
	for (unsigned int i = 0; i < r->n; i++)
		free(r->name[i]);
	r->n = 0;
}

/* A node is a kernel type as written in the cut: whole, or (a struct or union seen through a
 * pointer only) empty. Through typedefs, modifiers and arrays the pointer is carried along. */
struct cut {
	const struct btf *k;
	__u32 nk;		/* kernel type count */
	__u8 *root;		/* bitmap over kernel types: named like a root */
	__u32 *slot;		/* open addressing: node key + 1, 0 free; the ID beside it */
	__u32 cap;		/* slots, a power of 2; at most half of them used */
	__u32 *order;		/* nodes in ID order: kernel id * 2 + via */
	__u32 n;		/* nodes so far (the next ID is n + 1) */
	bool nomem;
};

/* A few thousand nodes out of 2 x 126,700 possible keys: a small hash, not an array per
 * kernel type (which, zeroed, was 1 MiB of the agent's peak RSS). */
static __u32 *id_slot(struct cut *c, __u32 key)
{
	__u32 i = (key * 2654435761u) & (c->cap - 1);

	while (c->slot[2 * i] && c->slot[2 * i] != key + 1)
		i = (i + 1) & (c->cap - 1);
	return &c->slot[2 * i];
}

static bool grow(struct cut *c)
{
	struct cut old = *c;
	__u32 *order;

	c->cap = old.cap * 2;
	c->slot = calloc((size_t)c->cap * 2, sizeof(*c->slot));
	order = realloc(c->order, (size_t)c->cap / 2 * sizeof(*order));
	if (!c->slot || !order) {
		free(c->slot);
		*c = old;
		if (order)
			c->order = order;
		return false;
	}
	c->order = order;
	for (__u32 i = 0; i < old.cap; i++)
		if (old.slot[2 * i])
			memcpy(id_slot(c, old.slot[2 * i] - 1), &old.slot[2 * i], 2 * sizeof(__u32));
	free(old.slot);
	return true;
}

static bool is_root(const struct cut *c, __u32 kid)
{
	return c->root[kid / 8] & (1u << (kid % 8));
}

static bool is_shell(const struct cut *c, __u32 kid, bool via)
{
	const struct btf_type *t = btf__type_by_id(c->k, kid);

	return via && (btf_is_struct(t) || btf_is_union(t)) && t->name_off && !is_root(c, kid);
}

/* whether a pointer on the way still matters past @t: through the types that lead on to a
 * struct or union (which it makes a shell) */
static bool keeps_via(const struct btf_type *t)
{
	return btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t) || btf_is_array(t);
}

static bool emitted_kind(const struct btf_type *t)
{
	return btf_is_int(t) || btf_is_float(t) || btf_is_ptr(t) || btf_is_array(t) ||
	       btf_is_struct(t) || btf_is_union(t) || btf_is_enum(t) || btf_is_enum64(t) ||
	       btf_is_fwd(t) || btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t) ||
	       btf_is_func_proto(t);
}

/* The cut's ID of kernel type @kid reached with(out) a pointer on the way, given on first
 * sight (0: void, or a kind nothing refers to). */
static __u32 node(struct cut *c, __u32 kid, bool via)
{
	const struct btf_type *t;
	__u32 key, *s;

	if (!kid || kid >= c->nk || !(t = btf__type_by_id(c->k, kid)) || !emitted_kind(t))
		return 0;
	if (btf_is_struct(t) || btf_is_union(t))
		via = is_shell(c, kid, via);	/* one node for every whole copy */
	else
		via = via && keeps_via(t);
	key = kid * 2 + via;
	s = id_slot(c, key);
	if (!s[0]) {
		if (c->n + 1 > c->cap / 2) {
			if (!grow(c)) {
				c->nomem = true;
				return 0;
			}
			s = id_slot(c, key);
		}
		c->order[c->n++] = key;
		s[0] = key + 1;
		s[1] = c->n;
	}
	return s[1];
}

/* Give IDs to everything @key refers to. */
static void refs(struct cut *c, __u32 key)
{
	__u32 kid = key / 2;
	bool via = key & 1;
	const struct btf_type *t = btf__type_by_id(c->k, kid);

	if (btf_is_ptr(t)) {
		node(c, t->type, true);
	} else if (btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t)) {
		node(c, t->type, via);
	} else if (btf_is_array(t)) {
		node(c, btf_array(t)->index_type, false);
		node(c, btf_array(t)->type, via);
	} else if ((btf_is_struct(t) || btf_is_union(t)) && !is_shell(c, kid, via)) {
		const struct btf_member *m = btf_members(t);

		for (__u16 i = 0; i < btf_vlen(t); i++)
			node(c, m[i].type, false);
	} else if (btf_is_func_proto(t)) {
		const struct btf_param *p = btf_params(t);

		node(c, t->type, true);
		for (__u16 i = 0; i < btf_vlen(t); i++)
			node(c, p[i].type, true);
	}
}

static const char *name_of(const struct cut *c, __u32 off)
{
	return btf__name_by_offset(c->k, off);
}

/* Write node @key; the ID it gets must be the one given (returns it, or -errno). */
static int emit(struct cut *c, struct btf *out, __u32 key)
{
	__u32 kid = key / 2;
	bool via = key & 1;
	const struct btf_type *t = btf__type_by_id(c->k, kid);
	const char *name = name_of(c, t->name_off);
	int id, err = 0;

	if (btf_is_int(t))
		return btf__add_int(out, name, t->size, btf_int_encoding(t));
	if (btf_is_float(t))
		return btf__add_float(out, name, t->size);
	if (btf_is_ptr(t))
		return btf__add_ptr(out, node(c, t->type, true));
	if (btf_is_typedef(t))
		return btf__add_typedef(out, name, node(c, t->type, via));
	if (btf_is_volatile(t))
		return btf__add_volatile(out, node(c, t->type, via));
	if (btf_is_const(t))
		return btf__add_const(out, node(c, t->type, via));
	if (btf_is_restrict(t))
		return btf__add_restrict(out, node(c, t->type, via));
	if (btf_is_type_tag(t))
		return btf__add_type_tag(out, name, node(c, t->type, via));
	if (btf_is_fwd(t))
		return btf__add_fwd(out, name, btf_kflag(t) ? BTF_FWD_UNION : BTF_FWD_STRUCT);
	if (btf_is_array(t))
		return btf__add_array(out, node(c, btf_array(t)->index_type, false),
				      node(c, btf_array(t)->type, via), btf_array(t)->nelems);
	if (btf_is_struct(t) || btf_is_union(t)) {
		const struct btf_member *m = btf_members(t);

		id = btf_is_struct(t) ? btf__add_struct(out, name, t->size) :
					btf__add_union(out, name, t->size);
		if (id < 0 || is_shell(c, kid, via))
			return id;
		for (__u16 i = 0; i < btf_vlen(t) && !err; i++)
			err = btf__add_field(out, name_of(c, m[i].name_off), node(c, m[i].type, false),
					     btf_member_bit_offset(t, i),
					     btf_member_bitfield_size(t, i));
		return err ?: id;
	}
	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t);

		id = btf__add_enum(out, name, t->size);
		for (__u16 i = 0; i < btf_vlen(t) && id > 0 && !err; i++)
			err = btf__add_enum_value(out, name_of(c, e[i].name_off),
						  btf_kflag(t) ? (__s64)e[i].val : (__s64)(__u32)e[i].val);
		return err ?: id;
	}
	if (btf_is_enum64(t)) {
		const struct btf_enum64 *e = btf_enum64(t);

		id = btf__add_enum64(out, name, t->size, btf_kflag(t));
		for (__u16 i = 0; i < btf_vlen(t) && id > 0 && !err; i++)
			err = btf__add_enum64_value(out, name_of(c, e[i].name_off),
						    btf_enum64_value(&e[i]));
		return err ?: id;
	}
	if (btf_is_func_proto(t)) {
		const struct btf_param *p = btf_params(t);

		id = btf__add_func_proto(out, node(c, t->type, true));
		for (__u16 i = 0; i < btf_vlen(t) && id > 0 && !err; i++)
			err = btf__add_func_param(out, name_of(c, p[i].name_off),
						  node(c, p[i].type, true));
		return err ?: id;
	}
	return -EINVAL;
}

static bool named_like_root(const char *name, const struct coremin_roots *r)
{
	for (unsigned int i = 0; i < r->n; i++)
		if (name[0] == r->name[i][0] && !strcmp(name, r->name[i]))
			return true;
	return false;
}

struct btf *coremin_build(const struct btf *kernel, const struct coremin_roots *r)
{
	struct cut c = { .k = kernel, .nk = btf__type_cnt(kernel) };
	struct btf *out = NULL;
	int err = -ENOMEM;

	c.cap = 4096;
	c.root = calloc(c.nk / 8 + 1, 1);
	c.slot = calloc((size_t)c.cap * 2, sizeof(*c.slot));
	c.order = malloc((size_t)c.cap / 2 * sizeof(*c.order));
	if (!c.root || !c.slot || !c.order)
		goto out;
	/* one pass over the kernel's types: the ones named like a root, whole */
	for (__u32 kid = 1; kid < c.nk; kid++) {
		const struct btf_type *t = btf__type_by_id(kernel, kid);

		if (t->name_off && !btf_is_func(t) && !btf_is_var(t) && !btf_is_datasec(t) &&
		    !btf_is_decl_tag(t) && named_like_root(btf__name_by_offset(kernel, t->name_off), r))
			c.root[kid / 8] |= 1u << (kid % 8);
	}
	for (__u32 kid = 1; kid < c.nk; kid++)
		if (is_root(&c, kid))
			node(&c, kid, false);
	for (__u32 i = 0; i < c.n; i++)	/* c.n grows while the closure is walked */
		refs(&c, c.order[i]);
	if (c.nomem)
		goto out;
	out = btf__new_empty();
	if (!out)
		goto out;
	for (__u32 i = 0; i < c.n; i++) {
		int id = emit(&c, out, c.order[i]);

		if (id != (int)i + 1) {
			err = id < 0 ? id : -EPROTO;
			btf__free(out);
			out = NULL;
			goto out;
		}
	}
	err = 0;
out:
	free(c.root);
	free(c.slot);
	free(c.order);
	if (err)
		errno = -err;
	return out;
}
