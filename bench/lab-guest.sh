#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the lab guest (bench/lab.py): the anonymous storm bare and under each backend,
# A B pairs, one "bench CONFIG base|tool NS" line per run. TCG emulation: read the ratios.
PAIRS=${PAIRS:-3}
S="/extra/storm anon 16 2"
ns() { sed -n 's/.*ns_per_fault=\([0-9.]*\).*/\1/p'; }
ip link set lo up 2>/dev/null
for cfg in fentry kprobe agent trace; do
	i=0
	while [ $i -lt $PAIRS ]; do
		echo "bench $cfg base $($S | ns)"
		case $cfg in
		fentry) t=$(pfnscope check -- $S 2>/dev/null | ns) ;;
		kprobe) t=$(pfnscope check --backend kprobe -- $S 2>/dev/null | ns) ;;
		trace) t=$(pfnscope trace -c "$S" 2>/dev/null | ns) ;;
		agent)
			# -i 60: one tick at start, none during the storm. Single-threaded TCG runs
			# both vCPUs on one host thread, so ticks are charged to the storm (2.14x
			# with -i 1, 1.23x with -i 60: bench/README.md); on the host they run beside it.
			pfnscope agent -i 60 > /tmp/agent.log 2>&1 &
			j=0
			while [ $j -lt 240 ] && ! wget -q -O - http://127.0.0.1:9464/metrics 2>/dev/null |
				grep -q ticks_total; do j=$((j + 1)); sleep 0.5; done
			t=$($S | ns)
			pfnscope agent --stop > /dev/null 2>&1
			;;
		esac
		echo "bench $cfg tool $t"
		i=$((i + 1))
	done
done
echo "bench done"
