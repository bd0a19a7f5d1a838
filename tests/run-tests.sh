#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the test suites given (default: unit host lab), each printing TAP lines ("ok N - name",
# "not ok N - name"), and ends with one line: "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit host lab)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {	# run CMD..., echo its output, keep the TAP lines
	"$@" 2>&1 | tee -a "$log"
	return "${PIPESTATUS[0]}"
}

for s in "${suites[@]}"; do
	case "$s" in
	unit)
		for t in build/tests/test_*; do
			echo "# unit: $t"
			CMOCKA_MESSAGE_OUTPUT=TAP run "$t" || true
		done ;;
	host)
		for t in tests/host/test_*.py; do
			echo "# host: $t"
			run python3 "$t" || echo "not ok - $t exited $?" | tee -a "$log"
		done ;;
	lab)
		echo "# lab: tests/lab/suite.sh"
		run bash tests/lab/suite.sh || echo "not ok - lab suite exited $?" | tee -a "$log" ;;
	*)
		echo "unknown suite $s (unit, host, lab)" >&2; exit 2 ;;
	esac
done

passed=$(grep -cE '^ok ' "$log")
failed=$(grep -cE '^not ok ' "$log")
echo
grep -E '^not ok ' "$log" | sed 's/^/FAILED: /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
