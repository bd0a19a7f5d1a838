// SPDX-License-Identifier: GPL-2.0
/*
 * What libbpf resolves the objects' CO-RE relocations against.
 *
 * libbpf 1.1 resolves a relocation by walking every type of the kernel BTF for candidates of
 * the same kind and name (bpf_object__relocate_core() -> bpf_core_find_cands() ->
 * bpf_core_add_cands()): 126,700 types on the 6.18 host, ~0.7 ms a walk, one walk per root
 * type per object (17 in the fault object and 6 in zap for the agent), ~20 ms of start-up.
 * Given `btf_custom_path`, libbpf walks that BTF instead and looks in no module BTF; attach
 * targets are still found in the kernel's own BTF (kbtf.c).
 *
 * So once per process the types the four objects' relocations start from are cut out of the
 * kernel's BTF (coremin.c: the session's one parse, ~2 ms) into a memfd, and every object is
 * opened with /proc/self/fd/N as its btf_custom_path. An object that does not load with it is
 * loaded again against the whole kernel BTF (corebtf_reject()), as with PFNSCOPE_CORE=kernel;
 * PFNSCOPE_CORE=/PATH relocates against a BTF file of one's own instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/btf.h>
#include "pfnscope.h"
#include "corebtf.h"
#include "coremin.h"
#include "fault.h"
#include "zap.h"
#include "rss.h"
#include "pins.h"

static const void *(*const objects[])(size_t *sz) = {
	fault_obj_bytes, zap_obj_bytes, rss_obj_bytes, gup_obj_bytes,
};
#define NOBJ (sizeof(objects) / sizeof(objects[0]))

static bool looked_up;
static const char *found;	/* cut_path, while it can be used */
static char cut_path[64];	/* /proc/self/fd/N of the memfd holding the cut */
static char status[256];
static int cut_fd = -1;

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The cut into a memfd libbpf opens by path; the BTF itself is libbpf's to parse again. */
static int publish(const struct btf *cut)
{
	__u32 size;
	const void *raw = btf__raw_data(cut, &size);

	if (!raw)
		return -errno;
	cut_fd = memfd_create("pfnscope-core-btf", MFD_CLOEXEC);
	if (cut_fd < 0)
		return -errno;
	if (write(cut_fd, raw, size) != (ssize_t)size) {
		close(cut_fd);
		cut_fd = -1;
		return -EIO;
	}
	snprintf(cut_path, sizeof(cut_path), "/proc/self/fd/%d", cut_fd);
	return 0;
}

const char *corebtf_lookup(void)
{
	struct coremin_roots roots = {};
	struct btf *kernel, *cut = NULL;
	const char *how = getenv("PFNSCOPE_CORE");
	struct timespec t0;
	int err;

	if (looked_up)
		return found;
	looked_up = true;
	if (how && !strcmp(how, "kernel")) {
		snprintf(status, sizeof(status), "the kernel's whole BTF (PFNSCOPE_CORE=kernel)");
		return NULL;
	}
	if (how && how[0] == '/') {	/* a BTF of one's own (bpftool gen min_core_btf, ...) */
		snprintf(status, sizeof(status), "%.200s (PFNSCOPE_CORE)", how);
		pr_info("CO-RE relocations against %s", how);
		return found = how;
	}
	if (how && *how)
		pr_warn("PFNSCOPE_CORE=%s is neither 'kernel' nor an absolute path: ignored", how);
	kernel = btf__load_vmlinux_btf();	/* during start-up: the session's one parse */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = kernel ? 0 : -errno;
	for (size_t i = 0; i < NOBJ && !err; i++) {
		size_t sz;
		const void *b = objects[i](&sz);

		err = coremin_object_roots(b, sz, &roots);
	}
	if (!err && !(cut = coremin_build(kernel, &roots)))
		err = -errno;
	if (!err)
		err = publish(cut);
	if (!err) {
		snprintf(status, sizeof(status), "%u kernel types cut out of its BTF in memory for "
			 "%u relocation roots (%.1f ms)", btf__type_cnt(cut) - 1, roots.n,
			 ms_since(&t0));
		pr_info("CO-RE relocations against %u kernel types cut out for %u roots",
			btf__type_cnt(cut) - 1, roots.n);
		found = cut_path;
	} else {
		snprintf(status, sizeof(status), "the kernel's whole BTF (the cut failed: %s)",
			 strerror(-err));
		pr_info("cannot cut the kernel types for CO-RE (%s): libbpf searches all of them",
			strerror(-err));
	}
	btf__free(cut);
	btf__free(kernel);
	coremin_roots_free(&roots);
	return found;
}

void corebtf_reject(void)
{
	if (!found)
		return;
	pr_warn("the BPF objects did not load against %s: loading them against the kernel's "
		"whole BTF", found == cut_path ? "the kernel types cut out" : found);
	snprintf(status, sizeof(status), "the kernel's whole BTF (an object did not load "
		 "against %.160s)", found == cut_path ? "the types cut out" : found);
	if (cut_fd >= 0)
		close(cut_fd);
	cut_fd = -1;
	found = NULL;
}

const char *corebtf_status(void)
{
	corebtf_lookup();
	return status;
}
