# SPDX-License-Identifier: GPL-2.0
# pfnscope: build BPF objects, skeletons, and the binary.
# Quiet by default, `make V=1` prints full commands.

BUILD      := build
OBJ        := $(BUILD)/obj
BPFOUT     := $(BUILD)/bpf
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= cc
ARCH       := x86
VMLINUX    := vmlinux/$(ARCH)/vmlinux.h
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BPFOUT)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BPFOUT)/%.skel.h,$(BPF_SRCS))
APP_SRCS   := $(wildcard src/*.c)
APP_OBJS   := $(patsubst src/%.c,$(OBJ)/%.o,$(APP_SRCS))

WARN       := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS     ?= -O2 -g
CFLAGS     += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BPFOUT) \
              -DPFNSCOPE_VERSION='"$(VERSION)"'
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function \
              -Iinclude -Ibpf -Ivmlinux/$(ARCH)
# libmicrohttpd is dlopen()ed by the agent alone (src/httpd.c): its SONAME, from the library
MHD_SONAME := $(shell objdump -p $$($(CC) -print-file-name=libmicrohttpd.so) 2>/dev/null | \
                awk '$$1 == "SONAME" { print $$2 }')
CFLAGS     += $(if $(MHD_SONAME),-DMHD_SONAME='"$(MHD_SONAME)"')
LIBS       := -lbpf -lelf -lz -ljson-c -ldl -lpthread

.PHONY: all clean deps run test unit-test host-test lab-test demo vmlinux bench bench-deps bench-lab fuzz
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/pfnscope

$(BPFOUT) $(OBJ):
	$(Q)mkdir -p $@

$(BPFOUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) $(wildcard include/*.h) $(VMLINUX) | $(BPFOUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BPFOUT)/%.skel.h: $(BPFOUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OBJ)/%.o: src/%.c $(wildcard src/*.h) $(wildcard include/*.h) $(SKELS) | $(OBJ)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/pfnscope: $(APP_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# vmlinux.h is committed; regenerate it from the running kernel's BTF.
vmlinux:
	$(call msg,GEN,$(VMLINUX))
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

deps:
	$(Q)tests/deps.sh

# The main job on the running kernel: a demo workload (anonymous fault storm, a file map, a
# perf ring buffer, io_uring rings) under `pfnscope check`, report printed.
DEMO_CMD = $(BUILD)/workloads/faultstorm 16 2 && $(BUILD)/workloads/ringmaps && \
	   cat /proc/self/maps >/dev/null

run: deps
	$(Q)$(MAKE) --no-print-directory all lab-workloads
	$(Q)$(BUILD)/pfnscope probe
	@echo
	$(Q)$(BUILD)/pfnscope check --json $(BUILD)/demo.json -- sh -c '$(DEMO_CMD)'
	@echo "JSON report: $(BUILD)/demo.json"

# The same in the lab guest (6.1, full hooks), where the fixture drivers get flagged.
demo: deps
	$(Q)$(MAKE) --no-print-directory all lab-modules lab-workloads
	$(Q)tests/lab/run -- sh -c 'pfnscope check -- sh -c "faultstorm 4 1 && ringmaps && \
	   for d in zero reserved vga pfnmap mixed freed mmio_wb rampfn; do \
	   fixmap /dev/pfnfix_\$$d 8 >/dev/null || exit 1; done"'; test $$? -le 1

-include tests/lab.mk
include tests/fuzz/fuzz.mk
-include tests/tests.mk

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

# Benchmarks (not tests): fault storms side by side with the peers. Prints a table.
$(BUILD)/bench:
	$(Q)mkdir -p $@

$(BUILD)/bench/storm: bench/storm.c | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -o $@ $<

$(BUILD)/bench/floor.bpf.o: bench/floor.bpf.c bpf/common.bpf.h include/trace.h $(VMLINUX) | $(BUILD)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/floor.skel.h: $(BUILD)/bench/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(BUILD)/bench/floor: bench/floor.c src/evring.c $(BUILD)/bench/floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -I$(BUILD)/bench -Iinclude -Isrc bench/floor.c src/evring.c \
		-lbpf -lelf -lz -o $@

bench-deps:
	$(Q)tests/deps.sh bpftrace linux-perf

bench: bench-deps all $(BUILD)/bench/storm $(BUILD)/bench/floor
	$(Q)python3 bench/run.py

# The same storm in the lab guest (6.1 under TCG: every backend, emulated timings).
bench-lab: all lab-modules lab-workloads $(BUILD)/bench/storm
	$(Q)python3 bench/lab.py
