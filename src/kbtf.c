// SPDX-License-Identifier: GPL-2.0
/*
 * One parse of the kernel's BTF for the whole start-up.
 *
 * libbpf 1.1 reads and parses /sys/kernel/btf/vmlinux (5.5 MB on 6.18) once per BPF object:
 * bpf_object_load() -> bpf_object__load_vmlinux_btf() -> btf__load_vmlinux_btf(), and frees it
 * with btf__free() before bpf_object_load() returns; nothing in its API takes a parsed one
 * (btf_custom_path only replaces it for CO-RE, and is parsed again). The planner parses it too.
 * libbpf.so makes both calls through its PLT, so the definitions below, in the executable,
 * are the ones it calls: between kbtf_hold() and kbtf_release() the first parse is handed to
 * every caller and the frees of it are skipped; outside that window they pass straight
 * through to libbpf. That is sound for libbpf 1.1 because it only reads the kernel BTF (type
 * lookups for CO-RE and attach targets) and drops its pointer when the load ends; a libbpf
 * that bound one of the two calls inside itself and not the other would free the shared parse
 * behind our back, so every hand-out is counted against the frees that come back, and
 * kbtf_release() says both with -v (host test_check checks them equal) and frees nothing if
 * they differ. It removes libbpf's own parses (15, 4 and 4 ms for `trace` here; figures in
 * docs/performance.md).
 *
 * Start-up is single-threaded where BTF is concerned (the kallsyms thread does not touch it).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include "pfnscope.h"
#include "kbtf.h"

static struct btf *shared;
static bool holding, mapped;	/* mapped: `shared` was copied from the kernel's mapping */
static unsigned int handed, returned;	/* hand-outs of `shared`, and its frees skipped */

static struct btf *(*real_load)(void);
static void (*real_free)(struct btf *);

static bool resolve(void)
{
	if (!real_load)
		real_load = (struct btf *(*)(void))dlsym(RTLD_NEXT, "btf__load_vmlinux_btf");
	if (!real_free)
		real_free = (void (*)(struct btf *))dlsym(RTLD_NEXT, "btf__free");
	return real_load && real_free;
}

/* Before main(): dlsym() takes the dynamic loader's lock, which the agent's thread loading
 * libmicrohttpd (httpd.c) holds for 10-17 ms, so the first call must not come during start-up. */
static void __attribute__((constructor)) resolve_early(void)
{
	resolve();
}

/*
 * The parse itself, with one copy of the data instead of two. libbpf 1.1 (btf_parse_raw())
 * fread()s the file into a fresh buffer, 4 KiB per read (kernfs_fop_read_iter()), and btf_new()
 * copies that into another: 11 MB of first-touched memory on 6.18, where a user page fault
 * costs ~13 us on this guest (bench's anon storm). Since 6.16 the kernel maps
 * /sys/kernel/btf/vmlinux read-only and private (btf_sysfs_vmlinux_mmap(): the kernel image's
 * own pages, nothing allocated), so btf__new() copies straight from the kernel's BTF. Where
 * that is refused (6.1 has no mmap on the file) libbpf's own load runs.
 */
static struct btf *load_mapped(void)
{
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	struct btf *btf;
	struct stat st;
	void *map;

	if (fd < 0)
		return real_load();
	if (fstat(fd, &st) || st.st_size <= 0 ||
	    (map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return real_load();
	}
	close(fd);
	btf = btf__new(map, st.st_size);
	munmap(map, st.st_size);
	mapped = btf != NULL;
	return btf ? btf : real_load();
}

struct btf *btf__load_vmlinux_btf(void)
{
	if (!resolve()) {
		errno = ENOSYS;
		return NULL;
	}
	if (!holding)
		return real_load();
	if (!shared)
		shared = load_mapped();	/* NULL with errno set: not kept, the next caller retries */
	if (shared)
		handed++;
	return shared;
}

void btf__free(struct btf *btf)
{
	if (btf && btf == shared) {
		returned++;	/* the shared parse is freed by kbtf_release() */
		return;
	}
	if (btf && resolve())
		real_free(btf);
}

void kbtf_hold(void)
{
	holding = true;
}

void kbtf_release(void)
{
	struct btf *b = shared;

	holding = false;
	shared = NULL;
	if (b)
		pr_info("kernel BTF parsed once (%s): handed out %u times, %u frees skipped",
			mapped ? "copied from its mapping" : "read by libbpf", handed, returned);
	if (b && handed == returned)
		btf__free(b);
	else if (b)		/* freed or kept elsewhere: leaking beats a double free */
		pr_warn("kernel BTF: %u of %u shared copies not given back; not freed",
			handed - returned, handed);
	handed = returned = 0;
	mapped = false;
}
