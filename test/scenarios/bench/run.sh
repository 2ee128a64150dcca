# make bench: what the module costs, measured side by side in one boot.
#  - ksmd's full scan with and without the probes (the leave probe fires
#    on every unstable page of every scan);
#  - reading /proc/ksm_vmshare against computing the same from page tables
#    (ksm-oracle), for three VMs of two sizes: the first stays nearly flat,
#    the second grows with the pages;
#  - reading /proc/ksm_vmshare_sets, beside the rows;
#  - the lock's time per join and per leave at 2, 16 and 256 mappings per
#    KSM page;
#  - the shadow's memory per tracked mapping, from the growth between sizes;
#  - the kernel's own ksm_tests merge and unmerge times, without and with.
# Booted by make bench with -icount shift=0 (ksmvs.icount=1 on the kernel
# command line): the guest clock then counts instructions, 1 ns each, and
# every figure below is in instructions, the same from run to run.
. ../lib.sh

if grep -q 'ksmvs.icount=1' /proc/cmdline; then
	unit_ms="M instr"
	unit_us="k instr"
	unit_ns="instr"
else
	unit_ms="ms"
	unit_us="us"
	unit_ns="ns"
fi

# ns per full scan, over 10 scans (timed from one scan's start to another)
SCANS=10
scan_ns() {
	timeit count "$SCANS" "$KSM/full_scans"
}

measure_reads() {
	proc_ns=$(timeit read 200 "$PROC")
	sets_ns=$(timeit read 200 "$SETS")
	oracle_ns=$(timeit run 3 ksm-oracle $(alive_pids))
	maps=$(module_key ksm_mappings)
	bytes=$(module_key shadow_bytes)
}

ksm_setup
start_vms ./small || exit 1
wait_quiesce || exit 1
# ksmd without pauses, so that a scan's time is its work; three rounds of
# without/with, alternated so that drift falls on both
echo 0 >"$KSM/sleep_millisecs"
echo 10000 >"$KSM/pages_to_scan"
# every page scanned every pass: 6.7+ skips pages that did not merge
# for a growing number of scans (smart_scan, on by default), so that
# scans differ in cost by phase (6.12 measured 31 vs 26 M instructions
# without and with the module, the module's side the cheaper)
[ -e "$KSM/smart_scan" ] && echo 0 >"$KSM/smart_scan"
off=0
on=0
for round in 1 2 3; do
	off=$((off + $(scan_ns)))
	module_load || exit 1
	wait_tracking
	on=$((on + $(scan_ns)))
	[ "$round" = 3 ] || module_unload
done
off1=$((off / 3))
on1=$((on / 3))
# the leave probe's hits per scan: one per unstable page (KSM takes each
# out of the unstable tree as it scans it); the joins and the rest are
# few once merged
unstable=$(cat "$KSM/pages_unshared")
off2=$off1
on2=$on1
echo 10 >"$KSM/sleep_millisecs"
echo 1000 >"$KSM/pages_to_scan"
compare_module bench/small
measure_reads
small="$maps $proc_ns $oracle_ns $bytes $sets_ns"

# the same number of VMs, six times the pages
stop_vms
: >"$RUN/alive"
start_vms ./large || exit 1
wait_quiesce || exit 1
wait_tracking
compare_module bench/large
measure_reads
large="$maps $proc_ns $oracle_ns $bytes $sets_ns"

# Per-event cost against mappings per KSM page: the lock's time held per
# join while KSM merges 4,096 mappings, then per leave while run=2
# unmerges them, at 2, 16 and 256 mappings per page.
stop_vms
: >"$RUN/alive"
: >"$RUN/per_event"
for per in 2 16 256; do
	joins0=$(module_key joins)
	join_ns0=$(module_key join_hold_ns)
	start_vms "./maps$per" || exit 1
	wait_quiesce || exit 1
	wait_tracking
	joins=$(($(module_key joins) - joins0))
	join_ns=$(($(module_key join_hold_ns) - join_ns0))
	leaves0=$(($(module_key leaves) + $(module_key leaves_unknown)))
	leave_ns0=$(module_key leave_hold_ns)
	echo 2 >"$KSM/run"
	wait_until 300 "KSM to unmerge" sh -c "[ \$(cat $KSM/pages_shared) = 0 ]" || exit 1
	leaves=$(($(module_key leaves) + $(module_key leaves_unknown) - leaves0))
	leave_ns=$(($(module_key leave_hold_ns) - leave_ns0))
	echo 1 >"$KSM/run"
	echo "$per $joins $join_ns $leaves $leave_ns" >>"$RUN/per_event"
	stop_vms
	: >"$RUN/alive"
done
data bench/per_event "$RUN/per_event"
check_eq bench/per_event/rounds 3 "$(awk '$2 > 0 && $4 > 0' "$RUN/per_event" | wc -l)"

# What a KSM user feels: the kernel's own timings (ksm_tests from the
# booted kernel's linux-source), alone on KSM, without and with the
# module, alternated over three rounds: -P merges 16 MiB of identical
# pages (two full scans), -H the same in huge pages (split, then merged),
# -D (6.12's source on) unmerges them with MADV_UNMERGEABLE (no probe
# fires in it: the leaves come when ksmd next passes; ksmd itself may run
# inside the timed call, on the one vCPU, or not: 10.6 or 50.4 M instr
# on 6.12). Each prints "Total time: S.NNNNNNNNN s": instructions here.
KT=/ksmvs/selftests/ksm_tests
ksm_tests_ns() {
	"$KT" "$@" -s 16 -p 1000 -l 600 </dev/null 2>&1 |
		awk '/^Total time:/ { split($3, t, "."); printf "%.0f\n", t[1] * 1e9 + t[2] }'
}
kt_cases="merge:-P thp_merge:-H"
"$KT" -h | grep -q '^ -D ' && kt_cases="$kt_cases unmerge:-D"
: >"$RUN/ksm_tests"
for round in 1 2 3; do
	for module in off on; do
		if [ "$module" = off ]; then
			module_unload
		else
			module_load || exit 1
		fi
		for c in $kt_cases; do
			echo "${c%%:*} $module $(ksm_tests_ns "${c#*:}")" >>"$RUN/ksm_tests"
		done
	done
done
data bench/ksm_tests "$RUN/ksm_tests"
# every case gave a time in every round, with and without
check_eq bench/ksm_tests/times "$((6 * $(echo $kt_cases | wc -w)))" \
	"$(awk '$3 > 0' "$RUN/ksm_tests" | wc -l)"

# Reads against size: the rows, the sets and ksm-oracle, and the shadow's
# memory per mapping by its own account and by the slab's (make bench
# boots with slab_nomerge, so that /proc/slabinfo shows the module's
# caches apart), at four sizes of four VMs (half of each VM one image
# all four share, an eighth a pair's, the rest its own), then at four
# numbers of VMs (mergers many: N processes of 64 identical pages).
ksm_setup
# 256 processes map each content 1,024 times: without dup chains (which
# KSM rebalances now and then, moving mappings between its copies of a
# page, so that rows change while KSM's counters do not)
echo 2 >"$KSM/run"
echo 2048 >"$KSM/max_page_sharing"
echo 1 >"$KSM/run"
echo 0 >"$KSM/sleep_millisecs"
echo 10000 >"$KSM/pages_to_scan"
[ -e "$KSM/smart_scan" ] && echo 0 >"$KSM/smart_scan"
# the module's caches' slabs, and what it allocates outside them (its
# page table and record buckets, kvmalloc'd, and its struct)
slab_bytes() {
	awk -v tables="$(module_key shadow_table_bytes)" \
		'/^ksmvs_/ { b += $15 * $6 * 4096 } END { printf "%.0f\n", b + tables }' /proc/slabinfo
}
# scale_point LABEL PAGES PID...: one line of the CSV, once KSM and the
# module have settled (and the rows are exact: compare_module)
scale_point() {
	local label=$1 pages=$2
	shift 2
	wait_quiesce 900 || return 1
	wait_tracking 300 || return 1
	compare_module "bench/scale/$label" >/dev/null
	# timed with ksmd stopped (run=0 keeps the merged pages): on the one
	# vCPU, ksmd without sleeps would take its share of every read
	echo 0 >"$KSM/run"
	echo "$label $pages $(module_key vms) $(module_key ksm_mappings)" \
		"$(timeit read 50 "$PROC") $(timeit read 50 "$SETS")" \
		"$(timeit run 1 ksm-oracle "$@") $(module_key shadow_bytes) $(slab_bytes)" \
		>>"$RUN/scale"
	echo 1 >"$KSM/run"
}
: >"$RUN/scale"
for mib in 64 256 1024 2048; do
	per=$((mib * 256 / 4))
	printf 'vm s1 s2 s3 s4\ngroup image pages=%d s1 s2 s3 s4\ngroup pair pages=%d s1 s2\nunique own pages=%d s1 s2 s3 s4\n' \
		$((per / 2)) $((per / 8)) $((per - per / 2 - per / 8)) >"$RUN/scale.recipe"
	start_vms "$RUN/scale.recipe" || exit 1
	scale_point "${mib}MiB" $((4 * per - 2 * (per / 8))) $(alive_pids) || exit 1
	stop_vms
	: >"$RUN/alive"
done
for n in 2 16 64 256; do
	mergers many "$n" 64 >"$RUN/many.log" 2>&1 &
	many=$!
	wait_until 120 "$n processes to be ready" grep -q '^ready ' "$RUN/many.log" || exit 1
	# (compare_module finds them through the oracle's look at every
	# mergeable process; ksm-oracle is timed over the same ones)
	scale_point "${n}VMs" $((n * 64)) $(awk -v p="$many" '$4 == p { print $1 }' /proc/[0-9]*/stat) ||
		exit 1
	kill -TERM "$many"
	wait "$many"
done
data bench/scale "$RUN/scale"
check_eq bench/scale/points 8 "$(awk '$5 > 0 && $6 > 0 && $7 > 0' "$RUN/scale" | wc -l)"

echo "$off1 $on1 $off2 $on2 $small $large" | awk -v ms="$unit_ms" -v us="$unit_us" -v unstable="$unstable" \
	-v unit_ns="$unit_ns" -v per_event="$RUN/per_event" -v kt="$RUN/ksm_tests" \
	-v scale="$RUN/scale" '{
	off = ($1 + $3) / 2; on = ($2 + $4) / 2
	printf "ksmd full scan (18,000 pages, %d of them unstable, no sleeps), mean of 3 x 10 scans:\n", unstable
	printf "  %.2f %s without the module, %.2f %s with it: ratio %.3f\n", off / 1e6, ms, on / 1e6, ms, on / off
	printf "  %.0f %s more per hit of the leave probe (one per unstable page per scan)\n", (on - off) / unstable, unit_ns
	printf "\n%-10s %12s %12s %16s %14s %10s\n", "mappings", "proc read", "sets read", "ksm-oracle run", "oracle/proc", "shadow"
	printf "%-10d %7.1f %s %7.1f %s %11.1f %s %14.0f %7.1f KiB\n", $5, $6 / 1000, us, $9 / 1000, us, $7 / 1e6, ms, $7 / $6, $8 / 1024
	printf "%-10d %7.1f %s %7.1f %s %11.1f %s %14.0f %7.1f KiB\n", $10, $11 / 1000, us, $14 / 1000, us, $12 / 1e6, ms, $12 / $11, $13 / 1024
	printf "\nthree VMs both times: proc read grew %.2fx, sets read %.2fx, while the mappings grew %.2fx (ksm-oracle: %.2fx)\n", $11 / $6, $14 / $9, $10 / $5, $12 / $7
	printf "shadow memory per tracked mapping, from the growth: %.1f bytes\n", ($13 - $8) / ($10 - $5)
	printf "\nlock held per event, against mappings per KSM page (4,096 mappings merged, then unmerged by run=2):\n"
	printf "%-18s %8s %14s %8s %14s\n", "mappings per page", "joins", "per join", "leaves", "per leave"
	while ((getline line < per_event) > 0) {
		split(line, f, " ")
		printf "%-18d %8d %10.0f %s %8d %10.0f %s\n", f[1], f[2], f[3] / f[2], unit_ns, f[4], f[5] / f[4], unit_ns
	}
	# one round of one case can differ from the others by whole ksmd
	# sleeps (6.12 -D without the module: 10.6, 50.4, 10.6 M instr; with
	# it: 51.0, 51.0, 10.8): the times fall in modes, whichever phase of
	# ksmd the test lands in. The median may compare two modes; the
	# least of each, the same mode when any round shares it.
	printf "\nthe kernel'"'"'s ksm_tests (16 MiB, alone on KSM), 3 rounds without and with the module, median and least:\n"
	printf "%-12s %19s %19s %8s %19s %19s %8s\n", "case", "median without", "with", "ratio", "least without", "with", "ratio"
	while ((getline line < kt) > 0) {
		split(line, f, " ")
		if (!(f[1] in seen)) { seen[f[1]] = 1; order[++n] = f[1] }
		k = f[1] SUBSEP f[2]
		sum[k] += f[3]
		if (!(k in lo) || f[3] < lo[k]) lo[k] = f[3]
		if (!(k in hi) || f[3] > hi[k]) hi[k] = f[3]
	}
	for (i = 1; i <= n; i++) {
		c = order[i]
		off = sum[c, "off"] - lo[c, "off"] - hi[c, "off"]
		on = sum[c, "on"] - lo[c, "on"] - hi[c, "on"]
		printf "%-12s %11.2f %s %11.2f %s %8.3f %11.2f %s %11.2f %s %8.3f\n", c, off / 1e6, ms, on / 1e6, ms, on / off, lo[c, "off"] / 1e6, ms, lo[c, "on"] / 1e6, ms, lo[c, "on"] / lo[c, "off"]
	}
	printf "\nreads against size (four VMs, then N processes of 64 pages); bytes per mapping by the module'"'"'s count (tables included) and by /proc/slabinfo (its caches'"'"' slabs, spare objects included) plus its tables:\n"
	printf "%-8s %8s %4s %8s %12s %12s %14s %10s %8s %8s\n", "point", "pages", "vms", "mappings", "proc read", "sets read", "ksm-oracle", "oracle/proc", "B/map", "slab B/map"
	while ((getline line < scale) > 0) {
		split(line, f, " ")
		printf "%-8s %8d %4d %8d %8.1f %s %8.1f %s %10.1f %s %10.0f %8.1f %8.1f\n", f[1], f[2], f[3], f[4], f[5] / 1000, us, f[6] / 1000, us, f[7] / 1e6, ms, f[7] / f[5], f[8] / f[4], f[9] / f[4]
	}
}' >"$RUN/show"
show "$RUN/show"
data bench/figures "$RUN/show"
stop_vms
exit $FAILED
