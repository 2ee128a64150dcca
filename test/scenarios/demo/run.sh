# The README's demo: start VMs with known sharing, let KSM merge, show what
# the kernel's counters say and what the page tables say per VM.
. ../lib.sh

ksm_setup
start_vms ./recipe || exit 1
wait_quiesce || exit 1
{
	echo "Three test VMs (the recipe: test/scenarios/demo/recipe):"
	for vm in $(cat "$RUN/alive"); do
		echo "  $vm = pid $(vm_pid "$vm")"
	done
	echo
	echo "KSM's own counters (/sys/kernel/mm/ksm):"
	echo "  pages_shared $(ksm pages_shared), pages_sharing $(ksm pages_sharing)"
	echo
	echo "Ground truth per VM, in 4 KiB pages (ksm-oracle, from page tables):"
	ksm-oracle $(alive_pids) | awk '
		$1 == "#" && $2 == "pid" { printf "  %-7s %7s %7s %7s %7s %9s\n", "pid", "unique", "self", "inter", "mapped", "freed-if-gone"; next }
		$1 ~ /^[0-9]+$/ { printf "  %-7s %7s %7s %7s %7s %9s\n", $1, $2, $3, $4, $5, $6 }'
} >"$RUN/show"
show "$RUN/show"
compare_expect demo ./recipe
check_kernel demo
stop_vms
exit $FAILED
