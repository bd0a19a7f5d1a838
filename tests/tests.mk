# SPDX-License-Identifier: GPL-2.0
# Tests: cmocka unit tests, host tests (real BPF on the running kernel), lab tests (one boot
# of the 6.1 guest running every scenario). `make test` ends with "N passed, M failed".

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_OBJS  := $(filter-out $(OBJ)/main.o,$(APP_OBJS))

$(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(UNIT_OBJS) | $(BUILD)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(UNIT_OBJS) $(LIBS) -lcmocka -o $@

unit-tests: $(UNIT_BINS)

# Everything a test needs, built once.
test-build: all unit-tests lab-modules lab-workloads

test: test-build
	$(Q)tests/run-tests.sh $(TESTS)

unit-test: unit-tests
	$(Q)tests/run-tests.sh unit

host-test: test-build
	$(Q)tests/run-tests.sh host

lab-test: test-build
	$(Q)tests/run-tests.sh lab

.PHONY: unit-tests test-build
