#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the lab guest (busybox sh): every lab scenario in one boot. Each scenario's
# outputs are sent back over the console as base64 blocks that tests/lab/suite.sh extracts;
# the checks themselves run on the host (tests/lab/check_lab.py).
cd /tmp || exit 1
dmesg -n 1	# keep kernel messages out of the base64 blocks

emit() {
	for f; do
		[ -f "$f" ] || continue
		echo "@@PFNSCOPE-FILE $(basename "$f")@@"
		base64 "$f"
		echo "@@PFNSCOPE-END@@"
	done
}

# scenario NAME CMD...: runs CMD, keeps its output and exit status, sends them back
scenario() {
	name=$1
	shift
	echo "# lab scenario: $name"
	"$@" > "$name.out" 2>&1
	echo $? > "$name.rc"
	emit "$name.out" "$name.rc" "$name.json"
	# let the kernel finish tearing down the trampolines of the pfnscope that just exited
	# before the next command faults through them (docs/kernel-notes.md, 6.1)
	sleep 1
}

uname -r > kernel.txt
cat /proc/iomem > iomem.txt
emit kernel.txt iomem.txt

# the planner on a kernel with fentry and kprobes
scenario probe sh -c 'pfnscope probe --json > probe.json'
scenario probe-kprobe sh -c 'pfnscope probe --backend kprobe --json > probe-kprobe.json'
scenario probe-table pfnscope probe -v

# fault counts against /proc/PID/stat, both function backends
scenario storm-fentry pfnscope check --json storm-fentry.json -- faultstorm 4 2
scenario storm-kprobe pfnscope check --backend kprobe --json storm-kprobe.json -- faultstorm 4 2
scenario storm-tp pfnscope check --backend tracepoint --json storm-tp.json -- faultstorm 4 2
# the tracepoint backend on faults taken in kernel mode: dd read()s into its fresh 1 MiB buffer
# (page_fault_kernel, tail-called into the user-mode fault program)
scenario kfault-tp pfnscope check --backend tracepoint --json kfault-tp.json -- \
	dd if=/dev/zero of=/dev/null bs=1M count=4
# a process outliving its group leader (pthread_exit), its worker exit(7)s: exited with the
# group's status, every fault of the worker counted (fexit: exactly the kernel's min_flt)
scenario threadexit pfnscope check --json threadexit.json -- threadexit 64 7
# the main stack growing by 256 pages: on its row under fexit (handle_mm_fault() after
# expand_stack()) and under the tracepoint backend (stack_growth(), bpf/fault.bpf.c); -v: how
# often the one kernel BTF parse was handed out and given back (src/kbtf.c)
scenario stackgrow-fentry pfnscope check -v --json stackgrow-fentry.json -- stackgrow 256
scenario stackgrow-tp pfnscope check --backend tracepoint --json stackgrow-tp.json -- stackgrow 256
# a pid reused while check runs (ns_last_pid set to the pid before the exited storm's): the
# storm's VMA rows are an earlier process's, true's (its sh before exec too) its own; under
# fentry the fork-copy hook may number the child's mm before task_fork sees the reuse
REUSE='faultstorm 4 1 & p=$!; wait; echo $((p - 1)) > /proc/sys/kernel/ns_last_pid
/bin/true & q=$!; wait; echo reuse $p $q'
for i in 1 2 3; do
	scenario pidreuse pfnscope check --json pidreuse.json -- sh -c "$REUSE"
	grep -q 'reuse \([0-9]*\) \1$' pidreuse.out && break
done

# every fixture device mapped and faulted, under both backends
FIX='for d in zero reserved vga; do fixmap /dev/pfnfix_$d 8 --pagemap || exit 1; done
for d in pfnmap mixed freed mmio_wb rampfn; do fixmap /dev/pfnfix_$d 8 || exit 1; done'
scenario fix-fentry pfnscope check --json fix-fentry.json -- sh -c "$FIX"
scenario fix-kprobe pfnscope check --backend kprobe --json fix-kprobe.json -- sh -c "$FIX"
# the handlers named by the kernel per address (bpf_snprintf "%pS", src/kaddr.c) and by the
# whole /proc/kallsyms table, with their addresses; the lines of /proc/kallsyms that hold the
# names printed come back as the ground truth (the whole file is megabytes for the console)
scenario ksyms-kernel pfnscope check --show-kernel-addresses --json ksyms-kernel.json -- \
	sh -c "$FIX"
scenario ksyms-table env PFNSCOPE_KSYMS=table pfnscope check --show-kernel-addresses \
	--json ksyms-table.json -- sh -c "$FIX"
grep -o '[A-Za-z_0-9.]*\(+0x[0-9a-f]*\)\{0,1\}\( \[[A-Za-z_0-9]*\]\)\{0,1\} @0x' ksyms-kernel.json |
	sed 's/[+ ].*//' | grep . | sort -u > ksyms-names.txt
grep -w -F -f ksyms-names.txt /proc/kallsyms > ksyms-truth.txt
emit ksyms-names.txt ksyms-truth.txt

# --module restricts the table and the findings
scenario module pfnscope check -m pfnfix --json module.json -- sh -c \
	'fixmap /dev/pfnfix_vga 2 && cat /proc/self/status >/dev/null'

# a policy file lowers a rule for a module: exit status follows
echo 'NONRAM_PAGE module=pfnfix warning the VGA fixture is known-bad' > policy.txt
scenario policy pfnscope check --policy policy.txt --json policy.json -- fixmap /dev/pfnfix_vga 2
echo 'NONRAM_PAGE bogus=1 none x' > badpolicy.txt
scenario badpolicy pfnscope check --policy badpolicy.txt -- true

# the kernel's own reserved and non-RAM mappings must not be flagged
scenario legit pfnscope check --json legit.json -- sh -c \
	'date >/dev/null; devmem 0xfed00000 32 && devmem 0xa0000 8 && ringmaps &&
	 fixmap /dev/mem 1 --offset 0xfed00000 && fixmap /dev/mem 2 --offset 0xa0000'

# DAX on emulated pmem: ext4 -o dax faults insert device pfns (pfn_t PFN_DEV|PFN_MAP) mapped
# write-back, legitimately
if mke2fs -q -b 4096 /dev/pmem0 && mkdir -p /mnt/dax && mount -t ext4 -o dax /dev/pmem0 /mnt/dax &&
	dd if=/dev/zero of=/mnt/dax/file bs=4096 count=16 2>/dev/null; then
	scenario dax pfnscope check --json dax.json -- fixmap /mnt/dax/file 16
else
	echo "dax setup failed" > dax.out
	emit dax.out
fi

# RSS per VMA against smaps: anon, private file (with COW), shared file on ext4 (brd),
# shmem, a fixture's reserved pages, and a forked child's copy-on-write
if mke2fs -q -b 4096 /dev/ram0 && mkdir -p /mnt/ext4 && mount -t ext4 /dev/ram0 /mnt/ext4; then
	scenario rss pfnscope check --timeline 40 --json rss.json -- \
		rsswork --file /mnt/ext4/f --shm /tmp/shm --dev /dev/pfnfix_reserved
else
	echo "ext4 on /dev/ram0 failed" > rss.out
	emit rss.out
fi

# pins from user space (io_uring, process_vm_readv, the zero page, O_DIRECT) and from the
# fixture's ioctls (one leaking, one balanced), against /proc/vmstat
scenario pins pfnscope check --json pins.json -- sh -c 'pinwork uring && pinwork vmreadv &&
	pinwork zero && pinwork odirect /mnt/ext4/od && pinuser leak 8 && pinuser balanced 8'

# the same RSS and pin scenarios on the kprobe backend
scenario rss-kprobe pfnscope check --backend kprobe --timeline 40 --json rss-kprobe.json -- \
	rsswork --file /mnt/ext4/f2 --shm /tmp/shm2 --dev /dev/pfnfix_reserved
scenario pins-kprobe pfnscope check --backend kprobe --json pins-kprobe.json -- sh -c \
	'pinwork uring && pinwork vmreadv && pinwork zero && pinuser leak 8 && pinuser balanced 8'

# pfnscope pins: watch, then list what is still pinned
scenario pinscmd sh -c 'pfnscope pins -d 4 --json > pinscmd.json & sleep 2; pinuser leak 4; wait'
emit pinscmd.json

# a driver that builds ptes by hand: the kernel's "Bad page map" and "Bad rss-counter state"
dmesg -c > /dev/null
scenario handpte pfnscope check --json handpte.json -- fixmap /dev/pfnfix_handpte 8
dmesg > handpte.dmesg
emit handpte.dmesg

# trace: fixture pfns and pins event by event, findings as they happen (NDJSON and columns)
scenario trace-fix sh -c 'pfnscope trace --json -c "fixmap /dev/pfnfix_vga 4 && fixmap \
	/dev/pfnfix_mmio_wb 4 && pinuser balanced 2" > trace-fix.ndjson'
emit trace-fix.ndjson
scenario trace-cols pfnscope trace -e pfn -c 'fixmap /dev/pfnfix_reserved 2'
# trace --rule with the rules judged at the end: pins still held once the command is gone
grep nr_foll_pin /proc/vmstat > trace-pins-vm0.txt
scenario trace-pins sh -c 'pfnscope trace --json --rule PIN_LEAK,PIN_AFTER_UNMAP \
	-c "pinuser leak 4" > trace-pins.ndjson'
grep nr_foll_pin /proc/vmstat > trace-pins-vm1.txt
emit trace-pins.ndjson trace-pins-vm0.txt trace-pins-vm1.txt

# record now, report later: the same findings as check over the same fixtures
scenario record-fix pfnscope record -o fix.pfns -i 0.2 -- sh -c "$FIX"
scenario report-fix pfnscope report fix.pfns --json report-fix.json --html report-fix.html
emit report-fix.html

# the agent with every hook: metrics and NDJSON against the kernel's own counters (the
# initramfs brings no network up: loopback is needed for /metrics)
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
agent_metrics() { wget -q -O "$1" http://127.0.0.1:9464/metrics; }
# the number of aggregations done (0 before the first): waits are counted in them, not in
# seconds, because a tick under TCG takes seconds
agent_ticks() {
	t=$(agent_metrics ticks.prom && awk '/^pfnscope_agent_ticks_total / { print $2 }' ticks.prom)
	echo "${t:-0}"
}
agent_wait_ticks() {	# N: wait until N more ticks are done (2 minutes at most)
	want=$(( $(agent_ticks) + $1 )); i=0
	while [ "$(agent_ticks)" -lt "$want" ] && [ $i -lt 240 ]; do
		i=$((i + 1)); sleep 0.5
	done
}
# a process that maps its pages before the agent starts and exits under it (mm-seed)
rsswork --quiet-ms 600000 > agent-pre.out 2>&1 &
i=0; while [ $i -lt 240 ] && [ "$(grep -c RssAnon agent-pre.out)" -lt 2 ]; do i=$((i + 1)); sleep 0.5; done
pfnscope agent -i 0.5 --findings agent.ndjson > agent.log 2>&1 &
i=0; while [ $i -lt 240 ] && [ "$(agent_ticks)" -eq 0 ]; do i=$((i + 1)); sleep 0.5; done
killall rsswork 2>/dev/null
i=0; while [ $i -lt 120 ] && pidof rsswork >/dev/null; do i=$((i + 1)); sleep 0.5; done
agent_metrics agent0.prom
grep nr_foll_pin /proc/vmstat > agent-vmstat0.txt
fixmap /dev/pfnfix_vga 4 > agent-fix.out 2>&1
pinuser leak 3 --hold 0 > agent-pin.out 2>&1
faultstorm 4 2 > agent-storm.out 2>&1
# pages moved to another vm_area_struct (mremap), then a tick deletes the freed struct's row
# before the process exits: the row's RSS is carried, no RSS_IMBALANCE at the exit
rm -f churn.go
vmachurn --wait-for churn.go > agent-churn.out 2>&1 &
i=0; while [ $i -lt 100 ] && ! grep -q churned agent-churn.out; do i=$((i + 1)); sleep 0.2; done
agent_wait_ticks 2
touch churn.go
wait $!
echo "vmachurn rc $?" >> agent-churn.out
# RSS gauge (rss-iter on 6.1's atomics): rsswork and its child hold 2 x ~4,200 anon pages still
agent_wait_ticks 1
agent_metrics agent-rss0.prom
rsswork --extra-anon 4096 --quiet-ms 60000 > agent-rss.out 2>&1 &
sleep 3		# its pages are in place within a second under TCG; no polling subshells
agent_wait_ticks 2
agent_metrics agent-rss1.prom
# busybox has no pkill; wait for both to be gone, so that their exit does not race the next
# agent's attach (a lingering rsswork exited under the soak's agent when this was `pkill`)
killall rsswork 2>/dev/null
i=0; while [ $i -lt 120 ] && pidof rsswork >/dev/null; do i=$((i + 1)); sleep 0.5; done
echo 1 > /proc/sys/vm/stat_refresh
grep nr_foll_pin /proc/vmstat > agent-vmstat1.txt
agent_wait_ticks 2
agent_metrics agent1.prom
pfnscope snapshot --json > agent-snapshot.json 2> agent-snapshot.err
pfnscope pins --json > agent-pins.json 2> agent-pins.err
grep Cap /proc/$(cat /run/pfnscope-agent.pid)/status > agent-caps.txt
pfnscope agent --stop > agent-stop.out 2>&1
sleep 0.5
ls /sys/fs/bpf/pfnscope > agent-left.txt 2>&1
emit agent-pre.out agent.log agent0.prom agent1.prom agent.ndjson agent-vmstat0.txt agent-vmstat1.txt \
	agent-fix.out agent-pin.out agent-storm.out agent-churn.out agent-rss0.prom agent-rss1.prom agent-rss.out \
	agent-snapshot.json agent-snapshot.err \
	agent-pins.json agent-pins.err agent-caps.txt agent-stop.out agent-left.txt

# soak (bounded, 20 s): two workers churn faults, munmap and pins with the agent attached;
# this agent reads /proc/kallsyms (on its kallsyms thread) and names a finding after it has
# dropped every capability but CAP_BPF
PFNSCOPE_KSYMS=table pfnscope agent -i 1 --findings soak.ndjson > soak-agent.log 2>&1 &
i=0; while [ $i -lt 240 ] && [ "$(agent_ticks)" -eq 0 ]; do i=$((i + 1)); sleep 0.5; done
echo 1 > /proc/sys/vm/stat_refresh
grep nr_foll_pin /proc/vmstat > soak-vmstat0.txt
soak_worker() {
	end=$(( $(date +%s) + 20 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		faultstorm 2 2 >> "soak-storm-$1.out" 2>&1
		pinuser balanced 4 >> "soak-pin-$1.out" 2>&1
	done
}
soak_worker 1 & w1=$!
soak_worker 2 & w2=$!
sleep 5; agent_metrics soak-mid.prom
wait $w1 $w2
echo 1 > /proc/sys/vm/stat_refresh
grep nr_foll_pin /proc/vmstat > soak-vmstat1.txt
fixmap /dev/pfnfix_vga 1 > soak-fix.out 2>&1
agent_wait_ticks 2
agent_metrics soak.prom
grep Cap /proc/$(cat /run/pfnscope-agent.pid)/status > soak-caps.txt
pfnscope agent --stop > soak-stop.out 2>&1
emit soak-agent.log soak-vmstat0.txt soak-vmstat1.txt soak-storm-1.out soak-storm-2.out \
	soak-mid.prom soak.prom soak-stop.out soak.ndjson soak-caps.txt soak-fix.out

echo "# lab suite done"
