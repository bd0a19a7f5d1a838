// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel addresses the programs read at run time, asked of the kernel itself: a
 * BPF_PROG_TYPE_SYSCALL program run once (BPF_PROG_TEST_RUN) calls bpf_kallsyms_lookup_name()
 * (5.16+; a binary search over the sorted names on 6.2+) for each, so attaching never waits
 * for /proc/kallsyms, which takes 30-40 ms of kernel time to format on the host.
 *
 * The program is assembled here, not built as a skeleton: it runs on the kallsyms thread
 * while libbpf loads the other objects on the main one, and bpf_prog_load() is a plain
 * syscall wrapper with no library state.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "kaddr.h"
#include "ksyms.h"

#define NAME_MAX_LEN	56			/* a name fits 7 words + NUL */
#define NAME_OFF	(-64)			/* r10-64: the name, 8 words */
#define RES_OFF		(-72)			/* r10-72: the helper's result */

static const char *const kaddr_names[KADDR__MAX] = {
	[KADDR_SPECIAL_MAPPING_NAME] = "special_mapping_name",
	[KADDR_VMEMMAP_BASE] = "vmemmap_base",
	[KADDR_ZERO_PFN] = "zero_pfn",
};

static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off,
				  .imm = imm };
}

/* in the assemblers below: append to p[n], at most cap instructions */
#define EMIT(x) do { if (n >= cap) return -E2BIG; p[n++] = (x); } while (0)

/* r6 = ctx; per name: the name on the stack, bpf_kallsyms_lookup_name(name, len + 1, 0,
 * &res), ctx[i] = res (0 when absent); return 0 */
static int assemble(struct bpf_insn *p, int cap)
{
	int n = 0;

	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0));
	for (int i = 0; i < KADDR__MAX; i++) {
		size_t len = strlen(kaddr_names[i]);
		char name[NAME_MAX_LEN + 8] = {};

		if (len > NAME_MAX_LEN)
			return -ENAMETOOLONG;
		memcpy(name, kaddr_names[i], len);
		for (size_t w = 0; w <= len / 8; w++) {
			__u64 v;

			memcpy(&v, name + 8 * w, 8);
			/* r1 = v (ld_imm64: two instructions), *(u64 *)(r10 + off) = r1 */
			EMIT(insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, 0, 0, (__u32)v));
			EMIT(insn(0, 0, 0, 0, v >> 32));
			EMIT(insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1,
				  NAME_OFF + 8 * w, 0));
		}
		EMIT(insn(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, RES_OFF, 0));
		EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_10, 0, 0));
		EMIT(insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, NAME_OFF));
		EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, len + 1));
		EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0));
		EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0));
		EMIT(insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, RES_OFF));
		EMIT(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_kallsyms_lookup_name));
		EMIT(insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10, RES_OFF, 0));
		EMIT(insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_1, 8 * i, 0));
	}
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	EMIT(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	return n;
}

int kaddr_lookup(struct kaddrs *ka)
{
	struct bpf_insn prog[KADDR__MAX * 20 + 4];
	__u64 out[KADDR__MAX] = {};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = out, .ctx_size_in = sizeof(out));
	/* syscall programs must be sleepable (they may call bpf_sys_bpf()) */
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = BPF_F_SLEEPABLE);
	int n = assemble(prog, sizeof(prog) / sizeof(prog[0])), fd, err;

	if (n < 0)
		return n;
	fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "pfnscope_kaddr", "GPL", prog, n, &opts);
	if (fd < 0)
		return -errno;	/* before 5.16, or refused: the caller reads kallsyms */
	err = bpf_prog_test_run_opts(fd, &run) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	ka->special_mapping_name = out[KADDR_SPECIAL_MAPPING_NAME];
	ka->vmemmap_base = out[KADDR_VMEMMAP_BASE];
	ka->zero_pfn = out[KADDR_ZERO_PFN];
	return 0;
}

/*
 * Address -> symbol, asked of the kernel one address at a time: a second SYSCALL program
 * formats the address with bpf_snprintf("%pS") (5.13+), which is the kernel's own
 * sprint_symbol(): kallsyms_lookup() over vmlinux, the modules and the BPF programs,
 * "name+0xoff/0xsize [module]", or "0x..." where no symbol holds the address. This replaces
 * reading the whole /proc/kallsyms (~70 ms of CPU on the host, megabytes of memory) for the
 * few dozen addresses a report names.
 *
 * bpf_snprintf() takes its format from a frozen read-only map (ARG_PTR_TO_CONST_STR), and
 * writes to the stack: the result is copied into the context word by word, which the test
 * run copies back.
 */
struct ksym_query {
	__u64 addr;
	__s64 len;			/* bpf_snprintf()'s: the length with the NUL, or -errno */
	char out[KADDR_SYM_LEN];
};

#define QBUF_OFF	(-(int)KADDR_SYM_LEN - 8)	/* r10-8: the argument, below it the text */

static int assemble_symbolizer(struct bpf_insn *p, int cap, int fmt_fd)
{
	int n = 0;

	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0));
	EMIT(insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_6,
		  offsetof(struct ksym_query, addr), 0));
	EMIT(insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1, -8, 0));
	/* bpf_snprintf(r10 + QBUF_OFF, KADDR_SYM_LEN, "%pS", r10 - 8, 8) */
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_10, 0, 0));
	EMIT(insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, QBUF_OFF));
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, KADDR_SYM_LEN));
	EMIT(insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, BPF_PSEUDO_MAP_VALUE, 0, fmt_fd));
	EMIT(insn(0, 0, 0, 0, 0));	/* offset 0 in the map's value */
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0));
	EMIT(insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -8));
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0, 8));
	EMIT(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_snprintf));
	EMIT(insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_0,
		  offsetof(struct ksym_query, len), 0));
	for (int w = 0; w < KADDR_SYM_LEN / 8; w++) {
		EMIT(insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10, QBUF_OFF + 8 * w, 0));
		EMIT(insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_1,
			  offsetof(struct ksym_query, out) + 8 * w, 0));
	}
	EMIT(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	EMIT(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	return n;
}

int kaddr_symbolizer_open(void)
{
	static const char fmt[8] = "%pS";
	struct bpf_insn prog[KADDR_SYM_LEN / 4 + 24];
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_RDONLY_PROG);
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = BPF_F_SLEEPABLE);
	int map_fd, fd, n, zero = 0;

	map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pfnscope_fmt", sizeof(zero), sizeof(fmt),
				1, &mopts);
	if (map_fd < 0)
		return -errno;
	if (bpf_map_update_elem(map_fd, &zero, fmt, BPF_ANY) || bpf_map_freeze(map_fd)) {
		fd = -errno;
		goto out;
	}
	n = assemble_symbolizer(prog, sizeof(prog) / sizeof(prog[0]), map_fd);
	if (n < 0) {
		fd = n;
		goto out;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "pfnscope_ksym", "GPL", prog, n, &opts);
	if (fd < 0)
		fd = -errno;	/* before 5.13, or refused: the caller reads kallsyms */
out:
	close(map_fd);		/* the program holds the map */
	return fd;
}

int kaddr_symbolize(int fd, unsigned long addr, char *buf, size_t n)
{
	struct ksym_query q = { .addr = addr };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &q, .ctx_size_in = sizeof(q));

	if (!n)
		return -EINVAL;
	if (bpf_prog_test_run_opts(fd, &run))
		return -errno;
	if (q.len < 0)
		return (int)q.len;
	if (q.len > KADDR_SYM_LEN)	/* truncated: no answer rather than half a name */
		return -ENAMETOOLONG;
	q.out[sizeof(q.out) - 1] = '\0';
	snprintf(buf, n, "%s", q.out);
	return 0;
}

static int ask_kernel(void *ctx, unsigned long addr, char *buf, size_t n)
{
	return kaddr_symbolize((int)(intptr_t)ctx, addr, buf, n);
}

static void close_symbolizer(void *ctx)
{
	close((int)(intptr_t)ctx);
}

/* PFNSCOPE_KSYMS=table: read /proc/kallsyms whole even where the kernel could answer (to
 * compare the two; tests/host/test_ksyms.py) */
static bool table_forced(void)
{
	const char *e = getenv("PFNSCOPE_KSYMS");

	return e && !strcmp(e, "table");
}

struct ksyms *kaddr_ksyms(void)
{
	struct ksyms *ks;
	int fd;

	if (table_forced())
		return ksyms_load();
	fd = kaddr_symbolizer_open();
	if (fd < 0)
		return ksyms_load();
	ks = ksyms_kernel(ask_kernel, (void *)(intptr_t)fd, close_symbolizer);
	if (!ks) {
		close(fd);
		return ksyms_load();
	}
	return ks;
}

const char *kaddr_ksyms_status(char *buf, size_t n)
{
	int fd;

	if (table_forced())
		return "/proc/kallsyms, read whole (PFNSCOPE_KSYMS=table)";
	fd = kaddr_symbolizer_open();
	if (fd < 0) {
		snprintf(buf, n, "/proc/kallsyms, read whole (the kernel cannot run the "
			 "symbolizer: %s)", strerror(-fd));
		return buf;
	}
	close(fd);
	return "asked of the kernel per address (bpf_snprintf \"%pS\")";
}
