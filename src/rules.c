// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"
#include "rules.h"

const struct rule rules[RULE__MAX] = {
	[RULE_NONRAM_PAGE] = {
		"NONRAM_PAGE", SEV_ERROR,
		"fault handler returned a non-RAM page in vmf->page",
		"The driver's fault handler returned, through vmf->page, the struct page of a pfn "
		"that is not System RAM; the VM will refcount, rmap and RSS-count it as a normal "
		"page: map device memory with VM_PFNMAP and vmf_insert_pfn() instead.",
	},
	[RULE_FREE_PAGE_MAPPED] = {
		"FREE_PAGE_MAPPED", SEV_ERROR,
		"a free page (refcount 0) was mapped into user space",
		"A pfn whose page had a reference count of 0 (already freed to the page allocator) "
		"was inserted into or returned to a user page table: user space can now read and "
		"write memory the kernel will reuse; keep a reference for as long as it is mapped.",
	},
	[RULE_MMIO_CACHED] = {
		"MMIO_CACHED", SEV_WARNING,
		"MMIO pfn mapped with a write-back (cacheable) pgprot",
		"The driver asked for a cacheable (write-back) mapping of device MMIO; x86 PAT/MTRRs "
		"may silently install UC- instead, but on other architectures this caches device "
		"registers: use pgprot_noncached() or pgprot_writecombine().",
	},
	[RULE_RESERVED_PAGE] = {
		"RESERVED_PAGE", SEV_WARNING,
		"fault handler returned a PG_reserved page in vmf->page",
		"The fault handler returned a PG_reserved page through vmf->page, so the VM rmaps, "
		"refcounts and RSS-counts it like a normal page; insert it with vm_insert_page() "
		"or map it with VM_PFNMAP instead.",
	},
	[RULE_RAM_PFNMAP] = {
		"RAM_PFNMAP", SEV_INFO,
		"normal RAM pfn inserted into a VM_PFNMAP VMA",
		"An ordinary RAM page was mapped into a VM_PFNMAP VMA, where the VM holds no "
		"reference to it: the driver must keep the page alive until every mapping is gone "
		"(or use VM_MIXEDMAP with vm_insert_page()).",
	},
	[RULE_BAD_PTE] = {
		"BAD_PTE", SEV_ERROR,
		"the kernel reported a bad page-table entry in this VMA (print_bad_pte)",
		"While tearing down or walking this VMA the kernel found a pte it cannot account for "
		"(a special pte outside VM_PFNMAP/VM_MIXEDMAP, a pfn beyond the memmap, or a page "
		"whose mapcount went negative): the driver installed or changed ptes behind the VM's "
		"back.",
	},
	[RULE_RSS_IMBALANCE] = {
		"RSS_IMBALANCE", SEV_ERROR,
		"an address space's RSS did not net to zero when it was torn down",
		"Pages entered and left this address space's RSS counters unequally (the kernel's "
		"\"Bad rss-counter state\"): some ptes were installed or removed without the matching "
		"rmap and counter update, typically by a driver that builds ptes by hand.",
	},
	[RULE_PIN_LEAK] = {
		"PIN_LEAK", SEV_ERROR,
		"pages pinned with FOLL_PIN were never unpinned",
		"Pages pinned through pin_user_pages*() were still pinned when the pinning process "
		"exited (or when pfnscope stopped): they can never be freed or migrated; every pin "
		"needs its unpin_user_page(s)() on every path, error paths included.",
	},
	[RULE_PIN_AFTER_UNMAP] = {
		"PIN_AFTER_UNMAP", SEV_WARNING,
		"a VMA was unmapped while pages of it were pinned",
		"The mapping was torn down while some of its pages were still pinned: the pinner now "
		"does I/O on pages no longer mapped where the user put them (the 2004 get_user_pages "
		"versus munmap race); finish or cancel the I/O and unpin before the mapping goes.",
	},
	[RULE_LONGTERM_PIN] = {
		"LONGTERM_PIN", SEV_INFO,
		"pages were pinned with FOLL_LONGTERM",
		"FOLL_LONGTERM pins (io_uring fixed buffers, RDMA, VFIO) keep pages unmovable for as "
		"long as they are held: they block compaction and memory hot-unplug; the age shows "
		"for how long.",
	},
};

int rule_by_name(const char *name)
{
	for (int i = 0; i < RULE__MAX; i++)
		if (!strcasecmp(name, rules[i].id))
			return i;
	return -1;
}

static const char *const match_keys[] = {
	[MATCH_HANDLER] = "handler", [MATCH_VM_OPS] = "vm_ops", [MATCH_MODULE] = "module",
	[MATCH_FILE] = "file", [MATCH_RDEV] = "rdev",
};

static int policy_add(struct policy *p, int rule, enum match_key key, const char *value,
		      enum severity sev, const char *reason, bool builtin)
{
	struct policy_entry *e;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct policy_entry *n = realloc(p->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->e = n;
		p->cap = cap;
	}
	e = &p->e[p->n++];
	memset(e, 0, sizeof(*e));
	e->rule = rule;
	e->key = key;
	snprintf(e->value, sizeof(e->value), "%s", value);
	e->severity = sev;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	e->builtin = builtin;
	return 0;
}

int policy_add_builtin(struct policy *p)
{
	static const struct {
		int rule;
		enum match_key key;
		const char *value;
		const char *reason;
	} b[] = {
		{ RULE_RESERVED_PAGE, MATCH_HANDLER, "special_mapping_fault",
		  "vDSO text: special_mapping_fault() returns kernel-image pages, PG_reserved by "
		  "design (mm/mmap.c)" },
		{ RULE_RAM_PFNMAP, MATCH_HANDLER, "vvar_fault",
		  "vvar: vvar_fault() inserts kernel data pages (vDSO data, pvclock) into its "
		  "VM_PFNMAP VMA by design" },
		{ RULE_MMIO_CACHED, MATCH_RDEV, "1:1",
		  "/dev/mem: mmap_mem() maps what user space asks for, with "
		  "phys_mem_access_prot(); STRICT_DEVMEM limits it to non-RAM, PAT picks the "
		  "installed mode" },
		{ RULE_RAM_PFNMAP, MATCH_HANDLER, "ttm_bo_vm_fault",
		  "DRM/TTM inserts buffer-object pages it holds references to (ttm_bo_vm_fault_reserved)" },
		{ RULE_RAM_PFNMAP, MATCH_HANDLER, "drm_gem_shmem_fault",
		  "DRM GEM shmem holds the pages of the object it maps" },
	};
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (policy_add(p, b[i].rule, b[i].key, b[i].value, SEV_NONE, b[i].reason, true))
			return -ENOMEM;
	return 0;
}

int policy_parse(struct policy *p, FILE *f, const char *name, char *err, size_t errlen)
{
	char line[512];
	int lineno = 0;

	for (;;) {
		char rule[64], kv[200], sev[32], *reason, *eq, *nl;
		enum severity s;
		int r = -1, n = 0, k;

		line[sizeof(line) - 1] = 'x';	/* fgets() writes there only when full */
		if (!fgets(line, sizeof(line), f))
			break;
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			/* a NUL byte hides the newline from strchr() */
			if (line[sizeof(line) - 1] || line[sizeof(line) - 2] == '\n')
				snprintf(err, errlen, "%s:%d: NUL byte in line", name, lineno);
			else
				snprintf(err, errlen, "%s:%d: line longer than %zu bytes", name,
					 lineno, sizeof(line) - 2);
			return -1;
		}
		nl = strpbrk(line, "#\r\n");
		if (nl)
			*nl = '\0';
		if (sscanf(line, " %63s %199s %31s %n", rule, kv, sev, &n) < 3) {
			for (char *c = line; *c; c++)
				if (!isspace((unsigned char)*c)) {
					snprintf(err, errlen, "%s:%d: expected 'RULE KEY=VALUE SEVERITY "
						 "REASON'", name, lineno);
					return -1;
				}
			continue;	/* blank or comment */
		}
		if (strcmp(rule, "*") && (r = rule_by_name(rule)) < 0) {
			snprintf(err, errlen, "%s:%d: unknown rule '%s'", name, lineno, rule);
			return -1;
		}
		eq = strchr(kv, '=');
		if (!eq || !eq[1]) {
			snprintf(err, errlen, "%s:%d: expected KEY=VALUE, got '%s'", name, lineno, kv);
			return -1;
		}
		*eq = '\0';
		for (k = 0; k < (int)(sizeof(match_keys) / sizeof(match_keys[0])); k++)
			if (!strcmp(kv, match_keys[k]))
				break;
		if (k == (int)(sizeof(match_keys) / sizeof(match_keys[0]))) {
			snprintf(err, errlen, "%s:%d: unknown key '%s' (handler, vm_ops, module, "
				 "file, rdev)", name, lineno, kv);
			return -1;
		}
		if (parse_severity(sev, &s)) {
			snprintf(err, errlen, "%s:%d: unknown severity '%s' (info, warning, error, "
				 "none)", name, lineno, sev);
			return -1;
		}
		reason = line + n;
		if (!*reason) {
			snprintf(err, errlen, "%s:%d: a reason is required", name, lineno);
			return -1;
		}
		if (policy_add(p, r, k, eq + 1, s, reason, false)) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
	}
	return 0;
}

int policy_load(struct policy *p, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ret = policy_parse(p, f, path, err, errlen);
	fclose(f);
	return ret;
}

void policy_free(struct policy *p)
{
	free(p->e);
	memset(p, 0, sizeof(*p));
}

/* "name" or "name+0x10 [mod]" -> does the bare symbol equal @want? */
static bool sym_is(const char *formatted, const char *want)
{
	size_t n = strlen(want);

	return !strncmp(formatted, want, n) &&
	       (formatted[n] == '\0' || formatted[n] == ' ' || formatted[n] == '+');
}

const struct policy_entry *policy_match(const struct policy *p, int rule,
					const struct vma_row *v)
{
	if (!v)
		return NULL;	/* policies name VMAs; a finding without one cannot match */
	/* user entries first: they may override a built-in one */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < p->n; i++) {
			const struct policy_entry *e = &p->e[i];
			char rdev[32];
			bool m = false;

			if (e->builtin != (pass == 1) || (e->rule != -1 && e->rule != rule))
				continue;
			switch (e->key) {
			case MATCH_HANDLER:
				m = sym_is(v->fault_handler, e->value);
				break;
			case MATCH_VM_OPS:
				m = sym_is(v->vm_ops, e->value);
				break;
			case MATCH_MODULE:
				m = !strcmp(v->module, e->value);
				break;
			case MATCH_FILE:
				m = !strcmp(v->name, e->value);
				break;
			case MATCH_RDEV:
				/* kernel dev_t: MAJOR = dev >> 20, MINOR = dev & 0xfffff */
				snprintf(rdev, sizeof(rdev), "%u:%u", v->val.rdev >> 20,
					 v->val.rdev & 0xfffff);
				m = v->val.rdev && !strcmp(rdev, e->value);
				break;
			}
			if (m)
				return e;
		}
	}
	return NULL;
}
