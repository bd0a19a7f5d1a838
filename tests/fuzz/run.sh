#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/fuzz_*), one at a time.
# Prints TAP lines ("ok N - ...", "not ok N - ...") and exits 1 if any failed.
#   run.sh replay [TARGET...]  per target two tests: its committed corpus (tests/fuzz/corpus/
#                              TARGET) run once, then FUZZ_CI_SECONDS (10) of fuzzing from it
#   run.sh fuzz [TARGET...]    per target FUZZ_SECONDS (60) of fuzzing
# Fuzzing mutates inputs of up to FUZZ_MAX_LEN (32768) bytes; the replay runs every committed
# input whole (the 100 KB lines among them).
# New inputs go to build/fuzz/corpus-new/TARGET (the committed corpus is only read), a crashing,
# leaking or hanging input to build/fuzz/TARGET-{crash,leak,timeout,oom}-SHA1, the log to
# build/fuzz/TARGET.{replay,ci,fuzz}.log (corpus replay, its short fuzzing, make fuzz).
# TARGETs default to $FUZZ_TARGETS, else every target.
set -u
cd "$(dirname "$0")/../.."
mode=${1:-replay}
shift
out=build/fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		read -ra targets <<< "$FUZZ_TARGETS"
	else
		for c in tests/fuzz/fuzz_*.c; do
			t=${c##*/}
			targets+=("${t%.c}")
		done
	fi
fi
case "$mode" in
replay) secs=${FUZZ_CI_SECONDS:-10} ;;
fuzz) secs=${FUZZ_SECONDS:-60} ;;
*) echo "usage: $0 replay|fuzz [TARGET...]" >&2; exit 2 ;;
esac
n=0
failed=0

result() {	# OK|FAIL NAME LOG: one TAP line; on failure the end of the log as diagnostics
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n - $2"
		return
	fi
	failed=$((failed + 1))
	echo "not ok $n - $2"
	[ -f "$3" ] && grep -vE '^(#[0-9]+[[:space:]]|stat::)' "$3" | tail -30 | sed 's/^/#   /'
}

stat() {	# LOG NAME: a -print_final_stats=1 figure
	sed -n "s/^stat::$2: *//p" "$1" | tail -1
}

stats() {	# LOG: "N execs (R/s), cov C ft F, corpus K inputs"
	local cov
	cov=$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$1" | tail -1)
	printf '%s execs (%s/s), cov %s ft %s, corpus %s' "$(stat "$1" number_of_executed_units)" \
		"$(stat "$1" average_exec_per_sec)" \
		"$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<< "$cov")" \
		"$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<< "$cov")" \
		"$(sed -E 's/.* corp: ([0-9]+).*/\1/' <<< "$cov")"
}

artifact() {	# TARGET: the newest input libFuzzer saved for a failure
	ls -t "$out/$1"-{crash,leak,timeout,oom,slow-unit}-* 2>/dev/null | head -1
}

for t in "${targets[@]}"; do
	bin=$out/$t
	corpus=tests/fuzz/corpus/$t
	if [ ! -x "$bin" ] || [ ! -d "$corpus" ]; then
		result FAIL "$t: $bin or $corpus missing (make fuzz-build)" /dev/null
		continue
	fi
	mkdir -p "$out/corpus-new/$t"
	opts=(-artifact_prefix="$out/$t-" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048)
	if [ "$mode" = replay ]; then
		log=$out/$t.replay.log
		count=$(find "$corpus" -type f | wc -l)
		if "$bin" "${opts[@]}" -runs=0 "$corpus" > "$log" 2>&1; then
			result OK "$t: committed corpus replayed ($count inputs)" "$log"
		else
			result FAIL "$t: committed corpus replay failed: $(artifact "$t")" "$log"
		fi
	fi
	log=$out/$t.fuzz.log
	[ "$mode" = replay ] && log=$out/$t.ci.log
	# the first directory receives the new inputs; the committed corpus seeds the run
	if "$bin" "${opts[@]}" -max_len="${FUZZ_MAX_LEN:-32768}" -max_total_time="$secs" \
		"$out/corpus-new/$t" "$corpus" > "$log" 2>&1; then
		result OK "$t: ${secs}s of fuzzing, $(stats "$log")" "$log"
	else
		result FAIL "$t: fuzzing failed: $(artifact "$t")" "$log"
	fi
done
[ "$failed" -eq 0 ]
