# Bad input and lost events: a missing probe symbol, a non-root reader, a
# bad write, failed allocations. Each gets a clear error or a degraded
# state, and the module recovers by itself to exact counts.
. ../lib.sh

# refused CHECK MESSAGE INSMOD_ARGS...: the load fails, the kernel log
# says MESSAGE, and nothing of the module stays
refused() {
	local check=$1 message=$2
	shift 2
	if insmod "$MODULE" "$@" 2>"$RUN/err"; then
		fail "$check" "insmod succeeded with $*"
		rmmod ksm_vmshare
		return
	fi
	dmesg | grep -qF "$message" &&
		[ ! -e "$PROC" ] && ! grep -q '^ksm_vmshare ' /proc/modules
	check_eq "$check" 0 $?
}

ksm_setup
# a kernel without a needed function: insmod fails, naming it
refused faults/missing_symbol "cannot probe ksmvs_no_such_function (for leave)" \
	symbol_override=leave=ksmvs_no_such_function

# a kernel where a probed function has a compiler-made copy (NAME.isra.0
# beside NAME, as some of this kernel's own functions have): refused
# before any probe goes in, naming the copy. The drop role's handler only
# looks its argument up, so a guard that failed to refuse breaks nothing.
# (__pfx_NAME, 6.12's padding before NAME, is no function)
clone=$(awk '$2 ~ /^[tT]$/ && $3 !~ /^__pfx_/ { text[$3] = 1 }
	END { for (s in text) if (s ~ /\.isra\.0$/) {
		base = substr(s, 1, length(s) - 7)
		if (base in text) { print base; exit } } }' /proc/kallsyms)
if [ -z "$clone" ]; then
	fail faults/clone_refused "no function beside its .isra.0 copy in /proc/kallsyms to try"
else
	refused faults/clone_refused "$clone (for drop) has a compiler-made copy $clone." \
		symbol_override=drop="$clone"
	echo "$clone" >"$RUN/clone"
	data faults/clone_tried "$RUN/clone"
fi

# a private layout that does not match: tracking refuses, nothing breaks
module_load test_layout_skew=8 || exit 1
start_vms ./recipe || exit 1
wait_until 60 "state degraded layout" \
	sh -c "grep -qx '# state: degraded layout' $PROC"
check_eq faults/layout_refused "degraded layout" "$(module_key state)"
# what the wrong layout recorded is forgotten by the work item, VM by VM
wait_until 60 "the refused layout's records to be forgotten" \
	sh -c "grep -qx '# ksm_pages: 0' $PROC"
check_eq faults/layout_no_pages 0 "$(module_key ksm_pages)"
dmesg | grep -q "rmap_item layout does not match"
check_eq faults/layout_logged 0 $?
stop_vms
: >"$RUN/alive"
module_unload
ksm_setup

# allocations fail while KSM merges: degraded, then back to exact
module_load fail_alloc_every=3 || exit 1
check_eq faults/proc_mode "-r--------" "$(ls -l "$PROC" | cut -c1-10)"
check_eq faults/non_root_read EACCES "$(readas 65534 "$PROC")"
start_vms ./recipe || exit 1
# nomem, or already repairing what the failures lost: the debug kernel's
# polls came too rarely to see nomem in 60 s, only the repairs it starts
wait_until 60 "state degraded nomem or repairing" \
	sh -c "grep -qxE '# state: degraded (nomem|repairing)' $PROC"
case $(module_key state) in
"degraded nomem" | "degraded repairing") pass faults/degraded ;;
*) fail faults/degraded "expected degraded nomem or repairing, got $(module_key state)" ;;
esac
[ "$(module_key alloc_failures)" -gt 0 ]
check_eq faults/alloc_failures_counted 0 $?
echo 0 >/sys/module/ksm_vmshare/parameters/fail_alloc_every
wait_quiesce || exit 1
wait_tracking
compare_module faults/recovered

# a bad write is refused and changes nothing; "resync" walks again
if echo bogus >"$PROC" 2>"$RUN/err"; then
	fail faults/bad_write "writing 'bogus' succeeded"
else
	check_eq faults/bad_write_error 1 "$(grep -c 'Invalid argument' "$RUN/err")"
fi
resyncs=$(module_key resyncs)
echo resync >"$PROC"
wait_until 60 "a resync to complete" \
	sh -c "[ \$(sed -n 's/^# resyncs: //p' $PROC) -gt $resyncs ]"
wait_tracking
compare_module faults/after_resync
stop_vms
module_unload
# unloaded: no probe of ours is left on KSM's functions
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if grep -qE 'stable_tree_append|remove_rmap_item_from_tree|__ksm_enter' \
	/sys/kernel/debug/kprobes/list; then
	fail faults/probes_gone "$(cat /sys/kernel/debug/kprobes/list)"
else
	pass faults/probes_gone
fi
exit $FAILED
