# SPDX-License-Identifier: GPL-2.0
#
# tests/lab.mk - lab fixtures, included by the top-level Makefile.
#
#   make lab-modules    tests/modules/*.c   -> $(BUILD)/modules/*.ko
#                       (out-of-tree, against /lib/modules/$(LAB_KVER)/build)
#   make lab-workloads  tests/workloads/*.c -> $(BUILD)/workloads/* (static)
#   make lab-clean      remove both, the kbuild trees and the lab cache
#
# LAB_KVER defaults to the newest installed *-cloud-amd64 kernel (the lab
# guest). To build the fixtures for the generic kernel instead:
#   make lab-modules LAB_KVER=6.1.0-56-amd64
# (tests/lab/run skips fixture modules built for another kernel.)
#
# Uses $(BUILD) and $(Q) from the including Makefile; V=1 shows commands.

BUILD ?= build
# Including this file must not change the includer's default goal.
lab_saved_default_goal := $(.DEFAULT_GOAL)

LAB_KVER ?= $(shell ls -1 /lib/modules 2>/dev/null | grep -e '-cloud-amd64$$' | sort -V | tail -n 1)
LAB_KDIR ?= /lib/modules/$(LAB_KVER)/build
LAB_CC ?= cc
LAB_WL_CFLAGS ?= -static -O2 -Wall -Wextra

LAB_MOD_SRCS := $(sort $(wildcard tests/modules/*.c))
LAB_MOD_HDRS := $(sort $(wildcard tests/modules/*.h))
LAB_MODS := $(patsubst tests/modules/%.c,$(BUILD)/modules/%.ko,$(LAB_MOD_SRCS))
LAB_WL_SRCS := $(sort $(wildcard tests/workloads/*.c))
LAB_WLS := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(LAB_WL_SRCS))
# Kbuild works in a copy of each module's sources: the tree stays clean.
LAB_KBUILD := $(BUILD)/kbuild
LAB_KVER_STAMP := $(BUILD)/modules/.kver

# "  KMOD     name" in quiet mode; nothing extra with V=1 (Q empty).
lab_msg = $(if $(Q),@printf '  %-8s %s\n' '$(1)' '$(2)')
# Kbuild's own progress lines are silenced unless V=1.
lab_kbuild_quiet = $(if $(filter 1,$(V)),,-s --no-print-directory)

.PHONY: lab-modules lab-workloads lab-clean lab-force

lab-modules: $(LAB_MODS)

lab-workloads: $(LAB_WLS)

# Rewritten only when LAB_KVER changes, so that switching kernels rebuilds.
$(LAB_KVER_STAMP): lab-force
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(LAB_KVER)" ]; then echo "$(LAB_KVER)" > $@; fi

lab-force:

# CONFIG_DEBUG_INFO_BTF_MODULES= : the headers package has no vmlinux, so
# kbuild cannot generate module BTF and would only print "Skipping BTF
# generation"; turn the step off explicitly.
$(LAB_MODS): $(BUILD)/modules/%.ko: tests/modules/%.c $(LAB_MOD_HDRS) tests/lab.mk $(LAB_KVER_STAMP)
	$(call lab_msg,KMOD,$*)
	$(Q)if [ -z "$(LAB_KVER)" ] || [ ! -f "$(LAB_KDIR)/Makefile" ]; then \
		echo "lab.mk: no kernel headers for LAB_KVER='$(LAB_KVER)' at $(LAB_KDIR)" \
		     "(install linux-headers-cloud-amd64 or set LAB_KVER)" >&2; exit 1; fi
	$(Q)rm -rf $(LAB_KBUILD)/$* && mkdir -p $(LAB_KBUILD)/$* $(@D)
	$(Q)cp $< $(LAB_MOD_HDRS) $(LAB_KBUILD)/$*/
	$(Q)echo 'obj-m := $*.o' > $(LAB_KBUILD)/$*/Kbuild
	$(Q)$(MAKE) $(lab_kbuild_quiet) -C $(LAB_KDIR) M=$(abspath $(LAB_KBUILD)/$*) \
		CONFIG_DEBUG_INFO_BTF_MODULES= modules
	$(Q)cp $(LAB_KBUILD)/$*/$*.ko $@

$(LAB_WLS): $(BUILD)/workloads/%: tests/workloads/%.c tests/workloads/workload.h $(LAB_MOD_HDRS) tests/lab.mk
	$(call lab_msg,CC-STATIC,$*)
	$(Q)mkdir -p $(@D)
	$(Q)$(LAB_CC) $(LAB_WL_CFLAGS) -Itests/modules -o $@ $<

lab-clean:
	$(Q)rm -rf $(BUILD)/modules $(BUILD)/workloads $(LAB_KBUILD) $(BUILD)/lab

.DEFAULT_GOAL := $(lab_saved_default_goal)
