# A host short of memory: most of the guest's RAM is taken, and shadow
# allocations fail at a steady rate while VMs merge, change and exit for a
# minute. The state degrades, VMs are repaired one at a time (never the
# whole map), and once the failures stop every row is exact again.
. ../lib.sh

ksm_setup
module_load || exit 1
# leave the guest about 300 MiB
hog=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) - 300 }' /proc/meminfo)
mergers hold "$hog" >"$RUN/hold.log" 2>&1 &
holder=$!
wait_until 120 "the memory hog" grep -q '^ready ' "$RUN/hold.log" || exit 1
echo 7 >/sys/module/ksm_vmshare/parameters/fail_alloc_every
start_vms ./recipe || exit 1
end=$(($(now_ms) + 60000))
round=0
lost_max=0
while [ "$(now_ms)" -lt "$end" ]; do
	round=$((round + 1))
	mergers churn 20 64 200 >/dev/null 2>&1
	# pages whose set record could not be allocated, until the work
	# item finds them one
	lost=$(sed -n 's/^# lost_pages: //p' "$SETS")
	[ "${lost:-0}" -gt "$lost_max" ] && lost_max=$lost
	if [ $((round % 3)) = 0 ]; then
		echo 2 >"$KSM/run"; echo 1 >"$KSM/run"
	fi
done
check_eq pressure/rounds_ran 1 "$([ "$round" -ge 3 ] && echo 1)"
state=$(module_key state)
failures=$(module_key alloc_failures)
[ "$failures" -gt 0 ]
check_eq pressure/failures_injected 0 $?
echo "state $state alloc_failures $failures rounds $round sets_lost_pages_max $lost_max" >"$RUN/during"
data pressure/during "$RUN/during"
echo 0 >/sys/module/ksm_vmshare/parameters/fail_alloc_every
kill "$holder"
wait "$holder"
wait_quiesce || exit 1
compare_module pressure/recovered
check_eq pressure/no_resync 0 "$(module_key resyncs)"
[ "$(module_key repairs)" -gt 0 ]
check_eq pressure/repaired_per_vm 0 $?
sed -n 's/^# \(alloc_failures\|pool_taken\|checks_failed\|repairs\|resyncs\|verified_scans\|lock_hold_max_ns\): /\1 /p' \
	"$PROC" >"$RUN/keys"
data pressure/keys "$RUN/keys"
stop_vms
exit $FAILED
