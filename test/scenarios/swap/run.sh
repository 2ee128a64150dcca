# Swap: KSM pages go out to a swap device (zram, the kernel's own module)
# and come back. A swapped-out KSM page keeps its rmap_item (the kernel
# still counts it) until ksmd passes it, and a walk cannot see it. Twice:
# the module loaded before the VMs, and loaded while their pages are out
# (the walk under swap). Each time the per-scan check must hold at the
# end, with no global resync, and every row must equal the oracle.
. ../lib.sh

CG=/sys/fs/cgroup

swap_setup() {
	local m
	for m in $(cat /ksmvs/kmods/order); do
		insmod "/ksmvs/kmods/$m" || { fail swap/insmod "insmod $m failed"; return 1; }
	done
	echo lzo-rle >/sys/block/zram0/comp_algorithm
	echo 256M >/sys/block/zram0/disksize
	mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 ||
		{ fail swap/swapon "no swap on zram0"; return 1; }
	mount -t cgroup2 none "$CG" 2>/dev/null
	echo +memory >"$CG/cgroup.subtree_control"
	mkdir -p "$CG/vms"
}

swapped_pages() {
	awk -v kb="$PAGE_KB" '$1 == "SwapTotal:" { t = $2 } $1 == "SwapFree:" { f = $2 }
		END { print (t - f) / kb }' /proc/meminfo
}

# start the recipe's VMs inside the cgroup
start_in_cgroup() {
	local vm
	for vm in $(vmload vms ./recipe); do
		sh -c "echo \$\$ >$CG/vms/cgroup.procs && exec vmload run ./recipe $vm -name guest=$vm" \
			>"$RUN/$vm.log" 2>&1 &
		vm_started "$vm" $!
	done
	for vm in $(vmload vms ./recipe); do
		wait_until 120 "VM $vm to fill its memory" vm_ready "$vm" || return 1
	done
}

# swap_round WHEN: the module loaded early (before the VMs) or late
# (while their pages are swapped out)
swap_round() {
	local when=$1 out used anon
	ksm_setup
	echo max >"$CG/vms/memory.max"
	[ "$when" = early ] && { module_load || return 1; }
	start_in_cgroup || return 1
	wait_quiesce || return 1
	# squeeze out three quarters of the VMs' anonymous memory, KSM pages
	# among it, whatever the recipes' scale (lib.sh): what else the cgroup
	# is charged (page tables, kernel memory, more on the debug kernel)
	# cannot go to swap, and squeezing that too calls the OOM killer.
	# Wait for at least a quarter of it in swap.
	used=$(cat "$CG/vms/memory.current")
	anon=$(awk '$1 == "anon" { print $2 }' "$CG/vms/memory.stat")
	echo $((used - anon * 3 / 4)) >"$CG/vms/memory.max"
	wait_until 60 "pages to go out to swap" sh -c "[ \$(awk '\$1 == \"SwapFree:\" { f = \$2 } \$1 == \"SwapTotal:\" { t = \$2 } END { print t - f }' /proc/meminfo) -gt $((anon / 4 / 1024)) ]" ||
		return 1
	out=$(swapped_pages)
	[ "$when" = late ] && { module_load || return 1; }
	# let ksmd pass over the swapped pages while they are out
	scans=$(ksm full_scans)
	wait_until 120 "two full scans with pages out" \
		sh -c "[ \$(cat $KSM/full_scans) -ge $((scans + 2)) ]" || return 1
	echo "swapped_out_pages $out" >"$RUN/swap.$when"
	data "swap/$when/out" "$RUN/swap.$when"
	# and back: swapoff brings every page in
	echo max >"$CG/vms/memory.max"
	swapoff /dev/zram0 && swapon /dev/zram0 ||
		{ fail swap/swapoff "swapoff failed"; return 1; }
	wait_quiesce || return 1
	compare_module "swap/$when"
	check_eq "swap/$when/no_resync" 0 "$(module_key resyncs)"
	sed -n 's/^# \(checks_failed\|repairs\|verified_scans\|leaves_unknown\|lock_hold_max_ns\): /\1 /p' \
		"$PROC" >"$RUN/keys"
	data "swap/$when/keys" "$RUN/keys"
	stop_vms
	: >"$RUN/alive"
	module_unload
}

swap_setup || exit 1
swap_round early
swap_round late
exit $FAILED
