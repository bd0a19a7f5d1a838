# SPDX-License-Identifier: GPL-2.0
# libFuzzer targets for the parsers of outside data (tests/fuzz/fuzz_*.c, tests/fuzz/README.md).
# Each links only the src/*.c it exercises, compiled again with the sanitizers into build/fuzz/.
#   make fuzz          each target for FUZZ_SECONDS (60); new inputs go to
#                      build/fuzz/corpus-new/TARGET, a crashing input to build/fuzz/TARGET-crash-*
#   make fuzz-replay   each target over its committed corpus, then FUZZ_CI_SECONDS (10) of
#                      fuzzing: the "fuzz" suite of make test, with its "N passed, M failed"
# FUZZ_TARGETS=fuzz_ksyms picks targets.

FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 10
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_FLAGS      := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS     := $(FUZZ_FLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BPFOUT) \
		   -DPFNSCOPE_VERSION='"fuzz"' 
FUZZ_TARGETS    ?= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS       := $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

# what each target links from src/
$(FUZZ_DIR)/fuzz_iomem:  $(FUZZ_DIR)/obj/iomem.o $(FUZZ_DIR)/obj/classify.o $(FUZZ_DIR)/obj/textio.o
$(FUZZ_DIR)/fuzz_ksyms:  $(FUZZ_DIR)/obj/ksyms.o $(FUZZ_DIR)/obj/textio.o
$(FUZZ_DIR)/fuzz_policy: $(FUZZ_DIR)/obj/rules.o $(FUZZ_DIR)/obj/options.o
# the recording reader and everything report does with one (all of userspace but main.c)
$(FUZZ_DIR)/fuzz_recording: $(filter-out $(FUZZ_DIR)/obj/main.o,\
	$(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(wildcard src/*.c))) $(SKELS)
$(FUZZ_DIR)/fuzz_recording: FUZZ_LIBS := $(LIBS)

# a 64-byte first string arena: its growth (and the move of every name) on small inputs
$(FUZZ_DIR)/obj/ksyms.o: FUZZ_CFLAGS += -DKSYMS_ARENA_START=64

$(FUZZ_DIR)/obj:
	$(Q)mkdir -p $@

$(FUZZ_DIR)/obj/%.o: src/%.c $(wildcard src/*.h) $(wildcard include/*.h) $(SKELS) | $(FUZZ_DIR)/obj
	$(call msg,FUZZ-CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c | $(FUZZ_DIR)/obj
	$(call msg,FUZZ-LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(filter %.o,$^) $(FUZZ_LIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh fuzz $(FUZZ_TARGETS)

fuzz-replay: fuzz-build
	$(Q)FUZZ_CI_SECONDS=$(FUZZ_CI_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
		tests/run-tests.sh fuzz

.PHONY: fuzz fuzz-build fuzz-replay
