# Shared by the scenarios: run inside the test guest by busybox sh.
#
# Results go to fd 3 (the host's results file) as lines:
#   PASS NAME | FAIL NAME: DETAIL | DATA NAME TEXT
# Every wait is bounded; a wait that runs out is a FAIL, never a hang.

KSM=/sys/kernel/mm/ksm
RUN=/tmp/ksmvs
mkdir -p "$RUN"
FAILED=0
# A slow kernel (the debug kernel: its cmdline file, boot.sh) runs the
# recipes smaller, by ksmvs.scale: every vmload of the run reads the same
# factor, so the VMs and the expectation agree.
KSMVS_RECIPE_SCALE=$(sed -n 's/.*ksmvs\.scale=\([0-9]*\).*/\1/p' /proc/cmdline)
export KSMVS_RECIPE_SCALE

# scaled N: N divided by the recipes' scale, rounded up as recipe_scale()
# rounds group sizes, for an expectation that follows the recipe
scaled() {
	local by=${KSMVS_RECIPE_SCALE:-1}
	[ "$by" -ge 1 ] || by=1
	echo $((($1 + by - 1) / by))
}
# and waits longer for everything, by the factor boot.sh stretches the
# whole boot's limit by (ksmvs.timeout_factor)
WAIT_FACTOR=$(sed -n 's/.*ksmvs\.timeout_factor=\([0-9]*\).*/\1/p' /proc/cmdline)
WAIT_FACTOR=${WAIT_FACTOR:-1}

pass() {
	echo "PASS $1" >&3
	echo "PASS $1"
}

fail() {
	echo "FAIL $1: $2" >&3
	echo "FAIL $1: $2"
	FAILED=1
}

# data NAME FILE: copy FILE to the results, one DATA line per line
data() {
	sed "s|^|DATA $1 |" "$2" >&3
	cat "$2"
}

# show FILE: text for a person, printed by the host as it is
show() {
	sed 's|^|SHOW |' "$1" >&3
}

check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected $2, got $3"
	fi
}

now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# wait_until TIMEOUT_S DESCRIPTION COMMAND...: poll COMMAND until it succeeds
wait_until() {
	local limit=$(($(now_ms) + $1 * 1000 * WAIT_FACTOR)) what=$2
	shift 2
	while ! "$@"; do
		if [ "$(now_ms)" -gt "$limit" ]; then
			fail "wait" "timed out waiting for $what"
			return 1
		fi
		sleep 0.2
	done
}

ksm() {
	cat "$KSM/$1"
}

# A known KSM state: everything unmerged, defaults restored, fast scanning.
ksm_setup() {
	echo 2 >"$KSM/run"
	echo 256 >"$KSM/max_page_sharing"
	echo 0 >"$KSM/use_zero_pages"
	echo 1000 >"$KSM/pages_to_scan"
	echo 10 >"$KSM/sleep_millisecs"
	echo 1 >"$KSM/run"
}


vm_pid() {
	cat "$RUN/$1.pid"
}

vm_ready() {
	grep -q '^ready ' "$RUN/$1.log"
}

# vm_started VM PID: the scenario knows VM by name from now on
vm_started() {
	echo "$2" >"$RUN/$1.pid"
	echo "$1" >>"$RUN/alive"
}

# vm_stopped VM: the scenario no longer counts VM among the live ones
vm_stopped() {
	grep -vx "$1" "$RUN/alive" >"$RUN/alive.new"
	mv "$RUN/alive.new" "$RUN/alive"
}

# start_vms RECIPE [VM...]: start the VMs (by default those of the recipe
# that run from the beginning)
start_vms() {
	local recipe=$1 vm
	shift
	[ $# -gt 0 ] || set -- $(vmload vms "$recipe")
	for vm in "$@"; do
		vmload run "$recipe" "$vm" -name "guest=$vm" >"$RUN/$vm.log" 2>&1 &
		vm_started "$vm" $!
	done
	for vm in "$@"; do
		wait_until 120 "VM $vm to fill its memory" vm_ready "$vm" ||
			return 1
	done
}

phase_finished() {
	grep -q "^phase $2 " "$RUN/$1.log"
}

# run_phase RECIPE NAME: every live VM runs its actions of the next phase;
# the VMs that start in it start
run_phase() {
	local recipe=$1 vm new
	shift
	for vm in $(cat "$RUN/alive"); do
		kill -USR1 "$(vm_pid "$vm")"
	done
	for vm in $(cat "$RUN/alive"); do
		wait_until 60 "VM $vm to finish phase $1" phase_finished "$vm" "$1" ||
			return 1
	done
	new=$(vmload vms "$recipe" "$1" | grep -vxF -f "$RUN/alive")
	[ -z "$new" ] || start_vms "$recipe" $new || return 1
	for vm in $(cat "$RUN/alive"); do
		if grep -q "^phase $1 exit" "$RUN/$vm.log"; then
			wait "$(vm_pid "$vm")" 2>/dev/null
			vm_stopped "$vm"
		fi
	done
}

ksm_counters() {
	echo "$(ksm pages_shared) $(ksm pages_sharing)"
}

# Quiesced: KSM's counters unchanged while the scan in progress ends and two
# more full scans run. Two alone are not enough: KSM puts a new mm behind
# its cursor and only records checksums on a page's first visit, so the
# scan that ends first and the next one can both change nothing while
# merges are still to come. Bounded by TIMEOUT_S (default 300).
wait_quiesce() {
	local limit=$(($(now_ms) + ${1:-300} * 1000 * WAIT_FACTOR)) start=$(now_ms)
	local last scans now
	last=$(ksm_counters)
	scans=$(ksm full_scans)
	while :; do
		sleep 0.2
		now=$(ksm_counters)
		if [ "$now" != "$last" ]; then
			last=$now
			scans=$(ksm full_scans)
		elif [ "$(ksm full_scans)" -ge $((scans + 3)) ]; then
			echo "quiesced after $(($(now_ms) - start)) ms: shared/sharing $now"
			return 0
		fi
		if [ "$(now_ms)" -gt "$limit" ]; then
			fail "quiesce" "KSM still changing after ${1:-300} s ($now)"
			return 1
		fi
	done
}

alive_pids() {
	local vm
	for vm in $(cat "$RUN/alive"); do
		vm_pid "$vm"
	done
}

# PID:START-END of each live VM's recipe memory, as ksm-oracle takes them
alive_regions() {
	local vm
	for vm in $(cat "$RUN/alive"); do
		echo "$(vm_pid "$vm"):$(awk '$1 == "ready" { print $4 }' "$RUN/$vm.log")"
	done
}

# compare_expect NAME RECIPE [PHASE]: the oracle over the VMs' recipe
# memory (mergeable or made unmergeable) against the recipe's analytic
# expectation, VM by VM
compare_expect() {
	local name=$1 recipe=$2 phase=$3 vm
	vmload expect "$recipe" $phase >"$RUN/expect" || {
		fail "$name/expect" "vmload expect failed"
		return 1
	}
	ksm-oracle $(alive_regions) >"$RUN/oracle.region" || {
		fail "$name/oracle" "ksm-oracle failed"
		return 1
	}
	data "$name/expect" "$RUN/expect"
	data "$name/oracle" "$RUN/oracle.region"
	for vm in $(cat "$RUN/alive"); do
		echo "$vm $(vm_pid "$vm")"
	done >"$RUN/names"
	# One result per VM, then the totals; '?' in the expectation is not
	# determined by the recipe and is skipped.
	awk -v name="$name" '
		FILENAME == ARGV[1] { pid[$1] = $2; next }
		FILENAME == ARGV[2] {
			if ($1 == "#" && $2 == "ksm_pages:") want_pages = $3
			else if ($1 == "#" && $2 == "ksm_mappings:") want_maps = $3
			else if ($1 != "#") { vms[++n] = $1; for (i = 2; i <= 6; i++) want[$1, i] = $i }
			next
		}
		$1 == "#" && $2 == "ksm_pages:" { got_pages = $3; next }
		$1 == "#" && $2 == "ksm_mappings:" { got_maps = $3; next }
		$1 != "#" && $1 ~ /^[0-9]+$/ { for (i = 2; i <= 6; i++) got[$1, i] = $i; seen[$1] = 1 }
		END {
			split("- unique self_shared inter_shared ksm_mapped predicted_freed", col, " ")
			for (k = 1; k <= n; k++) {
				v = vms[k]; p = pid[v]; bad = ""
				if (!(p in seen)) bad = " no oracle row for pid " p
				for (i = 2; i <= 6; i++)
					if (want[v, i] != "?" && want[v, i] != got[p, i])
						bad = bad " " col[i] " " want[v, i] "!=" got[p, i]
				print (bad == "" ? "PASS " : "FAIL ") name "/" v (bad == "" ? "" : ":" bad)
			}
			if (want_pages != "?")
				print (want_pages == got_pages ? "PASS " : "FAIL ") name "/ksm_pages" \
					(want_pages == got_pages ? "" : ": expected " want_pages ", got " got_pages)
			print (want_maps == got_maps ? "PASS " : "FAIL ") name "/ksm_mappings" \
				(want_maps == got_maps ? "" : ": expected " want_maps ", got " got_maps)
		}' "$RUN/names" "$RUN/expect" "$RUN/oracle.region" >"$RUN/verdicts" ||
		fail "$name/compare" "awk failed"
	report "$RUN/verdicts"
}

# report FILE: pass the PASS/FAIL lines of FILE on to the results; a
# comparison that produced no verdict at all is a failure
report() {
	if ! grep -qE '^(PASS|FAIL) ' "$1"; then
		fail "verdicts" "a comparison produced no result"
		return 0
	fi
	cat "$1"
	cat "$1" >&3
	grep -q '^FAIL' "$1" && FAILED=1
	return 0
}

# check_kernel NAME: the oracle over every mergeable process against KSM's
# own counters: sum(ksm_mapped) = pages_shared + pages_sharing, ksm_pages =
# pages_shared, and per VM ksm_mapped = /proc/PID/ksm_merging_pages
check_kernel() {
	local name=$1 shared sharing pid
	ksm-oracle >"$RUN/oracle.all" || {
		fail "$name/oracle" "ksm-oracle failed"
		return 1
	}
	shared=$(ksm pages_shared)
	sharing=$(ksm pages_sharing)
	data "$name/oracle-all" "$RUN/oracle.all"
	echo "pages_shared $shared pages_sharing $sharing full_scans $(ksm full_scans)" \
		>"$RUN/counters"
	data "$name/ksm" "$RUN/counters"
	awk '$1 ~ /^[0-9]+$/ { print $1, $5 }' "$RUN/oracle.all" >"$RUN/mapped"
	while read -r pid mapped; do
		echo "$pid $mapped $(cat /proc/$pid/ksm_merging_pages 2>/dev/null)"
	done <"$RUN/mapped" >"$RUN/merging"
	awk -v name="$name" -v shared="$shared" -v sharing="$sharing" '
		FILENAME == ARGV[1] {
			if ($1 == "#" && $2 == "ksm_pages:") pages = $3
			if ($1 == "#" && $2 == "inconsistent:") incons = $3
			if ($1 ~ /^[0-9]+$/) sum += $5
			next
		}
		{
			ok = $2 == $3
			print (ok ? "PASS " : "FAIL ") name "/merging_pages/" $1 \
				(ok ? "" : ": oracle " $2 ", kernel " $3)
		}
		END {
			ok = sum == shared + sharing
			print (ok ? "PASS " : "FAIL ") name "/mappings_vs_kernel" \
				(ok ? "" : ": oracle " sum ", kernel " shared + sharing)
			ok = pages == shared
			print (ok ? "PASS " : "FAIL ") name "/pages_vs_kernel" \
				(ok ? "" : ": oracle " pages ", kernel " shared)
			ok = incons == 0
			print (ok ? "PASS " : "FAIL ") name "/oracle_consistent" \
				(ok ? "" : ": " incons " pages changed while read")
		}' "$RUN/oracle.all" "$RUN/merging" >"$RUN/verdicts" ||
		fail "$name/compare" "awk failed"
	report "$RUN/verdicts"
}

stop_vms() {
	local vm
	for vm in $(cat "$RUN/alive" 2>/dev/null); do
		kill -TERM "$(vm_pid "$vm")" 2>/dev/null
	done
	wait
}

# --- the module ---------------------------------------------------------

MODULE=/ksmvs/ksm_vmshare.ko
PROC=/proc/ksm_vmshare
SETS=/proc/ksm_vmshare_sets

# module_load [PARAM=VALUE...]
module_load() {
	local t0
	t0=$(now_ms)
	if insmod "$MODULE" "$@" 2>"$RUN/insmod.err"; then
		# (wall clock: what a load costs, the clone guard's look-ups
		# included, beside the other figures of the run)
		echo "DATA module/load_ms $(($(now_ms) - t0))" >&3
		return 0
	fi
	fail "module/load" "insmod failed: $(cat "$RUN/insmod.err")"
	return 1
}

module_unload() {
	rmmod ksm_vmshare 2>"$RUN/rmmod.err" ||
		fail "module/unload" "rmmod failed: $(cat "$RUN/rmmod.err")"
}

# module_key KEY: a "# KEY: value" line of the proc file
module_key() {
	sed -n "s/^# $1: //p" "$PROC"
}

# Tracking, and the per-scan self-check has held for 3 full scans in a row.
module_verified() {
	[ "$(module_key state)" = tracking ] &&
		[ "$(module_key verified_scans)" -ge 3 ]
}

wait_tracking() {
	wait_until "${1:-120}" "/proc/ksm_vmshare to say 'state: tracking' with verified_scans >= 3" \
		module_verified && return 0
	# what it said instead, and KSM's own view, for the failure's reader
	grep '^#' "$PROC" >"$RUN/untracked"
	grep -H . "$KSM"/full_scans "$KSM"/pages_shared "$KSM"/pages_sharing \
		"$KSM"/run >>"$RUN/untracked"
	data wait/untracked "$RUN/untracked" >/dev/null
	return 1
}

# module_rows FILE: the VM rows of a saved copy, comm dropped
module_rows() {
	awk '$1 ~ /^[0-9]+$/ { print $1, $2, $3, $4, $5, $6 }' "$1"
}

# kernel_counts: the kernel's own count of every mergeable process (the
# module's rows' and any other the oracle found) into $RUN/merging, less
# what a kernel is known to count that is not the process's own
# ($RUN/kernel_offsets: "PID PAGES"; 6.1 copies a forked parent's count
# into the child, and a scenario that forks measures it)
kernel_counts() {
	touch "$RUN/kernel_offsets"
	awk '$1 ~ /^[0-9]+$/ { print $1 }' "$RUN/oracle.found" |
		cat - "$RUN/module.pids" | sort -u | while read -r pid; do
		echo "$pid $(($(cat /proc/$pid/ksm_merging_pages 2>/dev/null || echo 0) -
			$(awk -v p="$pid" '$1 == p { o = $2 } END { print o + 0 }' "$RUN/kernel_offsets")))"
	done >"$RUN/merging"
}

# read_stable NAME [ORACLE_ARG...]: module (rows and sets), oracle (with
# the extra arguments, e.g. --evict sets), module again, until the two
# module reads agree. The VMs are live processes, and a read of the module and a
# read of their page tables are not one instant: a VM's own memory can
# grow in between (khugepaged filling a huge page, QEMU's heap), and KSM
# may merge meanwhile. The oracle over every mergeable process and the
# kernel's own counts are read inside the same bracket. Leaves
# $RUN/module, $RUN/sets, $RUN/oracle.module (with the oracle's sets),
# $RUN/oracle.found and $RUN/merging;
# what moved and how many tries it took are DATA lines.
read_stable() {
	local tries=0 name=$1
	shift
	while :; do
		tries=$((tries + 1))
		cat "$PROC" >"$RUN/module" && cat "$SETS" >"$RUN/sets" || return 1
		awk '$1 ~ /^[0-9]+$/ { print $1 }' "$RUN/module" >"$RUN/module.pids"
		ksm-oracle --sets "$@" $(cat "$RUN/module.pids") >"$RUN/oracle.module" || return 1
		ksm-oracle >"$RUN/oracle.found" || return 1
		kernel_counts
		cat "$PROC" >"$RUN/module.again" && cat "$SETS" >"$RUN/sets.again" || return 1
		module_rows "$RUN/module" >"$RUN/rows.1"
		module_rows "$RUN/module.again" >"$RUN/rows.2"
		# the sets' lines too (not the header: verified_scans moves)
		grep -v '^#' "$RUN/sets" >>"$RUN/rows.1"
		grep -v '^#' "$RUN/sets.again" >>"$RUN/rows.2"
		if cmp -s "$RUN/rows.1" "$RUN/rows.2"; then
			echo "tries $tries" >"$RUN/tries"
			data "$name/read_tries" "$RUN/tries"
			return 0
		fi
		diff "$RUN/rows.1" "$RUN/rows.2" >"$RUN/moved"
		data "$name/moved_between_reads" "$RUN/moved"
		[ "$tries" -lt 5 ] || return 1
		sleep 1
	done
}

# compare_module NAME: every row of /proc/ksm_vmshare against the oracle,
# page for page, and the header against KSM's own counters. Call it once
# KSM has quiesced.
compare_module() {
	local name=$1 shared sharing pid
	wait_tracking || return 1
	shared=$(ksm pages_shared)
	sharing=$(ksm pages_sharing)
	# the oracle over the same VMs, and over whatever it finds itself
	read_stable "$name" || {
		fail "$name/read" "the module's rows kept changing, or a read failed"
		return 1
	}
	data "$name/module" "$RUN/module"
	data "$name/oracle" "$RUN/oracle.module"
	awk -v name="$name" -v shared="$shared" -v sharing="$sharing" '
		function verdict(ok, what, detail) {
			print (ok ? "PASS " : "FAIL ") name "/" what (ok ? "" : ": " detail)
		}
		FILENAME == ARGV[1] {
			if ($1 == "#" && $3 != "") head[$2] = $3
			if ($1 == "#" && $2 == "state:") state = substr($0, 10)
			if ($1 ~ /^[0-9]+$/) { mod[$1] = $2 " " $3 " " $4 " " $5 " " $6; mapped[$1] = $5 }
			next
		}
		FILENAME == ARGV[2] {
			if ($1 ~ /^[0-9]+$/) { ora[$1] = $2 " " $3 " " $4 " " $5 " " $6; n++ }
			next
		}
		FILENAME == ARGV[3] {
			if ($1 ~ /^[0-9]+$/) found[$1] = 1
			if ($1 == "#" && $2 == "ksm_pages:") oracle_pages = $3
			next
		}
		{ merging[$1] = $2; merging_sum += $2 }
		END {
			verdict(state == "tracking", "state", "state is " state)
			verdict(head["verified_scans:"] >= 3, "verified_scans",
				"verified_scans " head["verified_scans:"] ", want >= 3")
			verdict(head["probe_missed:"] == 0, "probe_missed", head["probe_missed:"] " probe hits missed")
			# the global counters of KSM agree with the sum of its
			# per-process ones at rest, not always while khugepaged
			# churns (seen on 6.12): the contract defines ksm_mappings
			# as the per-VM sum, and without the globals the oracle
			# counts the pages
			if (merging_sum == shared + sharing) {
				verdict(head["ksm_pages:"] == shared, "ksm_pages",
					"module " head["ksm_pages:"] ", kernel pages_shared " shared)
			} else {
				print "DATA " name "/kernel_counters_disagree pages_shared+pages_sharing " \
					shared + sharing " sum_of_ksm_merging_pages " merging_sum
				verdict(head["ksm_pages:"] == oracle_pages, "ksm_pages",
					"module " head["ksm_pages:"] ", oracle " oracle_pages \
					" (the globals of KSM disagree with its per-process counts)")
			}
			verdict(head["ksm_mappings:"] == merging_sum, "ksm_mappings",
				"module " head["ksm_mappings:"] ", sum of ksm_merging_pages of the kernel " merging_sum)
			verdict(n > 0, "rows", "no VM rows")
			for (p in ora)
				verdict(mod[p] == ora[p], "row/" p,
					"unique self inter mapped freed: module " mod[p] ", oracle " ora[p])
			for (p in mapped)
				verdict(mapped[p] == merging[p], "merging_pages/" p,
					"module " mapped[p] ", kernel " merging[p])
			for (p in found)
				verdict(p in mod, "covers/" p, "mergeable process " p " has no row")
		}' "$RUN/module" "$RUN/oracle.module" "$RUN/oracle.found" "$RUN/merging" \
		>"$RUN/verdicts" || fail "$name/compare" "awk failed"
	report "$RUN/verdicts"
	compare_sets "$name"
}

# compare_sets NAME: the module's sets file against the oracle's sets from
# the same read_stable bracket, line for line: every KSM page's exact set
# of mapping VMs ("*": pages also mapped by an mm without a row).
compare_sets() {
	data "$1/sets" "$RUN/sets"
	# a set of more than max_members VMs is one "*" line in the file
	# (interface.md), which the oracle lists member by member
	awk -v name="$1" '
		FILENAME == ARGV[1] {
			if ($1 == "#" && $2 == "max_members:") max = $3
			if ($1 ~ /^[0-9]+$/) mod[$2] = $1
			next
		}
		$1 == "#" && $2 == "set:" {
			k = $4
			if (k != "*" && max != "" && split(k, members, ",") > max + 0) k = "*"
			ora[k] += $3
		}
		END {
			for (k in ora)
				if (mod[k] != ora[k])
					bad[++n] = k ": module " (k in mod ? mod[k] : "none") ", oracle " ora[k]
			for (k in mod)
				if (!(k in ora))
					bad[++n] = k ": module " mod[k] ", oracle none"
			for (i = 1; i <= n; i++)
				print "DATA " name "/sets_differ " bad[i]
			if (n)
				print "FAIL " name "/sets: " n " sets differ from the oracle, e.g. " bad[1]
			else
				print "PASS " name "/sets"
		}' "$RUN/sets" "$RUN/oracle.module" >"$RUN/verdicts.sets" ||
		fail "$1/sets" "awk failed"
	grep '^DATA ' "$RUN/verdicts.sets" >&3
	grep -v '^DATA ' "$RUN/verdicts.sets" >"$RUN/verdicts"
	report "$RUN/verdicts"
}

# --- eviction -----------------------------------------------------------

PAGE_KB=$(($(getconf PAGESIZE 2>/dev/null || echo 4096) / 1024))

# others_anon VICTIM: the anonymous pages the other live VMs map (exact:
# smaps_rollup walks their page tables), summed, then their AnonHugePages
others_anon() {
	local vm pid
	for vm in $(cat "$RUN/alive"); do
		pid=$(vm_pid "$vm")
		[ "$pid" = "$1" ] || cat "/proc/$pid/smaps_rollup"
	done | awk -v kb="$PAGE_KB" '$1 == "Anonymous:" { a += $2 / kb }
		$1 == "AnonHugePages:" { h += $2 / kb } END { print a + 0, h + 0 }'
}

thp_collapses() {
	awk '$1 == "thp_collapse_alloc" { print $2 }' /proc/vmstat
}

# memory_bracket VICTIM: "OTHERS HUGE ANON FREE", the other VMs' anonymous
# and huge pages (others_anon) and AnonPages and MemFree (meminfo_pages),
# read as others, meminfo, others until the two others reads agree:
# khugepaged collapses several ranges at once every few seconds, and a
# batch landing between the two kinds of read counted in one and not the
# other (a 6.1 demo run: AnonPages dropped by exactly the predicted
# 11076, while the others' smaps grew by 965 after the meminfo read).
memory_bracket() {
	local tries=0 first mem second
	while :; do
		tries=$((tries + 1))
		first=$(others_anon "$1")
		mem=$(meminfo_pages)
		second=$(others_anon "$1")
		if [ "$first" = "$second" ] || [ "$tries" -ge 5 ]; then
			echo "$first $mem"
			return 0
		fi
	done
}

# "ANON FREE": AnonPages and MemFree in pages, from one refresh. The drop
# of AnonPages is what an eviction gives back (MemFree also moves with
# per-CPU lists and caches).
meminfo_pages() {
	echo 1 >/proc/sys/vm/stat_refresh
	awk -v kb="$PAGE_KB" '$1 == "AnonPages:" { anon = $2 / kb }
		$1 == "MemFree:" { free = $2 / kb }
		END { print anon, free }' /proc/meminfo
}

# evict_victim NAME [STOP_COMMAND]: ask ksm-victim, check its choice with the
# oracle's from the same read, stop the victim (by STOP_COMMAND
# PID, default kill), let KSM quiesce and measure what came back.
evict_victim() {
	local name=$1 stop=${2:-kill} victim oracle_pid predicted uss uss_pid
	local before after free_before free_after measured tolerance diff vm
	local others_before others_after huge_before huge_after grown collapses_before
	# ksm-victim chooses from the very read the oracle is compared with.
	# The VMs live on: QEMU's heap grows and one THP collapse adds up to
	# 511 pages to a VM's unique count, more than the demo's VMs differ
	# by. A CI run checked ksm-victim's choice (pid 102) against the
	# oracle's answer from compare_module seconds earlier (pid 107).
	read_stable "$name/choice" || {
		fail "$name/read" "the module's rows kept changing, or a read failed"
		return 1
	}
	ksm-victim --all --proc "$RUN/module" >"$RUN/victim.txt"
	ksm-victim --all --pages --proc "$RUN/module" >"$RUN/victim.pages"
	show "$RUN/victim.txt"
	data "$name/victim" "$RUN/victim.pages"
	data "$name/choice_oracle" "$RUN/oracle.module"
	victim=$(sed -n 's/^victim: .* (pid \([0-9]*\)) frees.*/\1/p' "$RUN/victim.pages")
	# the oracle's answer: most freed; ties: less moved, then lower pid
	oracle_pid=$(awk '$1 ~ /^[0-9]+$/ { print $1, $6, $2 + $5 }' "$RUN/oracle.module" |
		sort -k2,2nr -k3,3n -k1,1n | awk 'NR == 1 { print $1 }')
	check_eq "$name/victim_is_oracle_best" "$oracle_pid" "$victim"
	predicted=$(awk -v p="$victim" '$1 == p { print $6 }' "$PROC")
	uss=$(awk -v p="$victim" '$1 == p { print $7 }' "$RUN/oracle.module")
	uss_pid=$(awk '$1 ~ /^[0-9]+$/ { print $7, $1 }' "$RUN/oracle.module" |
		sort -k1,1nr | awk 'NR == 1 { print $2 }')

	collapses_before=$(thp_collapses)
	set -- $(memory_bracket "$victim")
	others_before=$1
	huge_before=$2
	before=$3
	free_before=$4
	$stop "$victim"
	wait_until 60 "the victim to exit" sh -c "! kill -0 $victim 2>/dev/null"
	for vm in $(cat "$RUN/alive"); do
		[ "$(vm_pid "$vm")" = "$victim" ] && vm_stopped "$vm"
	done
	wait_quiesce || return 1
	set -- $(memory_bracket "$victim")
	others_after=$1
	huge_after=$2
	after=$3
	free_after=$4
	# What the other VMs' own mappings gained meanwhile (khugepaged
	# filling a huge page, QEMU's heap) is not the eviction's doing, but
	# lowers the drop of AnonPages by as much: add it back.
	grown=$((others_after - others_before))
	measured=$((before - after + grown))
	tolerance=$((predicted / 100 + 256))
	diff=$((measured - predicted))
	[ "$diff" -lt 0 ] && diff=$((-diff))
	{
		echo "victim pid $victim predicted_freed $predicted measured_anon $measured"
		echo "anonpages_drop $((before - after)) others_grew $grown others_anonhuge_grew $((huge_after - huge_before)) thp_collapse_alloc_delta $(($(thp_collapses) - collapses_before))"
		echo "memfree_delta $((free_after - free_before)) victim_uss $uss largest_uss_pid $uss_pid"
	} >"$RUN/eviction"
	data "$name/eviction" "$RUN/eviction"
	{
		echo
		echo "Stopped the victim (pid $victim). Memory given back, in 4 KiB pages:"
		echo "  predicted by ksm_vmshare: $predicted"
		echo "  measured (drop of AnonPages in /proc/meminfo): $((before - after))"
		[ "$grown" = 0 ] || echo "    + the other VMs' own growth meanwhile (smaps_rollup Anonymous): $grown = $measured"
		echo "  smem-style USS of the victim (pages mapped once): $uss"
	} >"$RUN/show"
	show "$RUN/show"
	if [ "$diff" -le "$tolerance" ]; then
		pass "$name/freed_as_predicted"
	else
		fail "$name/freed_as_predicted" "predicted $predicted, measured $measured (tolerance $tolerance)"
	fi
}

# --- real QEMU VMs ------------------------------------------------------

# Each VM is a paused QEMU (-S: no guest code runs) whose RAM holds the
# recipe's image of that VM, put there by QEMU's loader device at 2 MiB so
# that transparent huge pages hold nothing but the image.
QEMU_RAM_MB=64
QEMU_IMAGE_ADDR=0x200000
QEMU_SYSTEM=qemu-system-x86_64
QEMU_MACHINE="-machine pc -cpu qemu64"
# An arm64 guest runs the VMs an arm64 host runs: qemu-system-aarch64's
# virt machine, whose RAM starts at 1 GiB (the image still 2 MiB into it).
if [ "$(uname -m)" = aarch64 ]; then
	QEMU_SYSTEM=qemu-system-aarch64
	QEMU_MACHINE="-machine virt -cpu max"
	QEMU_IMAGE_ADDR=0x40200000
fi

# Up (its loader has run) once the monitor says paused; a QEMU that died
# ends the wait at once.
qemu_settled() {
	kill -0 "$(vm_pid "$1")" 2>/dev/null || return 0
	qmon "$RUN/$1.mon" "info status" 2>/dev/null | grep -q 'VM status: paused'
}

# start_qemu_vms RECIPE [VM...]
start_qemu_vms() {
	local recipe=$1 vm
	shift
	[ $# -gt 0 ] || set -- $(vmload vms "$recipe")
	for vm in "$@"; do
		vmload blob "$recipe" "$vm" "$RUN/$vm.img" || return 1
		# shellcheck disable=SC2086 # QEMU_MACHINE is options
		"$QEMU_SYSTEM" -name "guest=$vm" $QEMU_MACHINE -accel tcg \
			-m "$QEMU_RAM_MB" -S -nodefaults -display none \
			-chardev "socket,id=mon,path=$RUN/$vm.mon,server=on,wait=off" \
			-mon chardev=mon,mode=readline \
			-device "loader,file=$RUN/$vm.img,addr=$QEMU_IMAGE_ADDR,force-raw=on" \
			>"$RUN/$vm.log" 2>&1 &
		vm_started "$vm" $!
	done
	for vm in "$@"; do
		wait_until 120 "QEMU VM $vm to be up and paused" qemu_settled "$vm" ||
			return 1
		if ! kill -0 "$(vm_pid "$vm")" 2>/dev/null; then
			fail "qemu/$vm" "QEMU exited: $(tail -n 3 "$RUN/$vm.log")"
			return 1
		fi
	done
}

# qemu_quit PID: stop a QEMU VM the way an operator would, by its monitor
qemu_quit() {
	local vm
	for vm in $(cat "$RUN/alive"); do
		[ "$(vm_pid "$vm")" = "$1" ] && qmon "$RUN/$vm.mon" quit >/dev/null
	done
}
