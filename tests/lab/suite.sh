#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab tests: one boot of the 6.1 guest runs every scenario (guest/suite.sh); the checks run
# here on what came back (check_lab.py). Prints TAP lines.
set -u
cd "$(dirname "$0")/../.."
out=build/lab/suite
rm -rf "$out"
mkdir -p "$out"
if ! ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1; then
	echo "not ok - lab: no cloud kernel installed (make deps)"
	exit 1
fi
# memmap=64M!512M + nd_e820/nd_pmem: emulated persistent memory for the DAX scenario
tests/lab/run --timeout 1200 --add tests/lab/guest/suite.sh --log "$out/console.log" \
	--append 'memmap=64M!512M' --kmod nd_e820 --kmod nd_pmem --kmod ext4 --kmod brd \
	-- sh /extra/suite.sh > "$out/stdout.log" 2> "$out/stderr.log"
rc=$?
if [ $rc -ne 0 ]; then
	echo "not ok - lab: guest run failed (rc $rc): $(grep '^lab:' "$out/stderr.log" | tail -1)"
	tail -20 "$out/console.log" | sed 's/^/#   /'
	exit 1
fi
echo "ok - lab: guest booted and ran the suite ($(grep -c '^# lab scenario' "$out/console.log") scenarios)"
python3 tests/lab/check_lab.py "$out/console.log" "$out/files"
