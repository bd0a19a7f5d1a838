# SPDX-License-Identifier: GPL-2.0
# Tests: cmocka unit tests (plain, and again under ASan/UBSan), libFuzzer corpus replay and a
# short fuzz run (tests/fuzz/fuzz.mk), host tests (real BPF on the running kernel), lab tests
# (one boot of the 6.1 guest running every scenario). `make test` ends with "N passed, M failed".

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_OBJS  := $(filter-out $(OBJ)/main.o,$(APP_OBJS))

$(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(UNIT_OBJS) | $(BUILD)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(UNIT_OBJS) $(LIBS) -lcmocka -o $@

unit-tests: $(UNIT_BINS)

# The same unit tests again over objects built with ASan and UBSan (build/asan/): the "asan"
# suite, run by make unit-test and make test next to the plain "unit" one.
ASAN_DIR   := $(BUILD)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_OBJS  := $(patsubst $(OBJ)/%,$(ASAN_DIR)/obj/%,$(UNIT_OBJS))
ASAN_BINS  := $(patsubst $(BUILD)/tests/%,$(ASAN_DIR)/tests/%,$(UNIT_BINS))

$(ASAN_DIR)/obj $(ASAN_DIR)/tests:
	$(Q)mkdir -p $@

$(ASAN_DIR)/obj/%.o: src/%.c $(wildcard src/*.h) $(wildcard include/*.h) $(SKELS) | $(ASAN_DIR)/obj
	$(call msg,ASAN-CC,$@)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/tests/test_%: tests/unit/test_%.c $(ASAN_OBJS) | $(ASAN_DIR)/tests
	$(call msg,ASAN-LD,$@)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) $< $(ASAN_OBJS) $(LIBS) -lcmocka -o $@

asan-unit-tests: $(ASAN_BINS)

# Everything a test needs, built once (fuzz targets: tests/fuzz/fuzz.mk).
test-build: all unit-tests asan-unit-tests fuzz-build lab-modules lab-workloads

test: test-build
	$(Q)tests/run-tests.sh $(TESTS)

unit-test: unit-tests asan-unit-tests
	$(Q)tests/run-tests.sh unit asan

host-test: test-build
	$(Q)tests/run-tests.sh host

lab-test: test-build
	$(Q)tests/run-tests.sh lab

.PHONY: unit-tests asan-unit-tests test-build
