#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the test suites given (default: unit asan fuzz host lab), each printing TAP lines
# ("ok N - name", "not ok N - name"), and ends with one line: "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit asan fuzz host lab)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {	# run CMD..., echo its output, keep the TAP lines
	"$@" 2>&1 | tee -a "$log"
	return "${PIPESTATUS[0]}"
}

counted() {	# like run; a failure without a "not ok" line of its own (a crash) counts as one
	local before rc
	before=$(grep -cE '^not ok ' "$log")
	run "$@"
	rc=$?
	[ "$rc" -eq 0 ] || [ "$(grep -cE '^not ok ' "$log")" -gt "$before" ] ||
		echo "not ok - $* exited $rc" | tee -a "$log"
}

for s in "${suites[@]}"; do
	case "$s" in
	unit)
		for t in build/tests/test_*; do
			echo "# unit: $t"
			CMOCKA_MESSAGE_OUTPUT=TAP counted "$t"
		done ;;
	asan)	# the unit tests built with ASan/UBSan (a sanitizer report exits non-zero)
		for t in build/asan/tests/test_*; do
			echo "# asan: $t"
			CMOCKA_MESSAGE_OUTPUT=TAP counted "$t"
		done ;;
	fuzz)	# per libFuzzer target: corpus replay, then FUZZ_CI_SECONDS of fuzzing
		echo "# fuzz: tests/fuzz/run.sh replay"
		counted bash tests/fuzz/run.sh replay ;;
	host)
		for t in tests/host/test_*.py; do
			echo "# host: $t"
			run python3 "$t" || echo "not ok - $t exited $?" | tee -a "$log"
		done ;;
	lab)
		echo "# lab: tests/lab/suite.sh"
		run bash tests/lab/suite.sh || echo "not ok - lab suite exited $?" | tee -a "$log" ;;
	*)
		echo "unknown suite $s (unit, asan, fuzz, host, lab)" >&2; exit 2 ;;
	esac
done

passed=$(grep -cE '^ok ' "$log")
failed=$(grep -cE '^not ok ' "$log")
echo
grep -E '^not ok ' "$log" | sed 's/^/FAILED: /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
