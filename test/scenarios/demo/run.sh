# The README's demo, on real QEMU processes: three named VMs whose guest RAM
# shares content in different ways, the module, ksm-victim, and the victim
# stopped through its QEMU monitor. Checked as it goes.
. ../lib.sh

ksm_setup
module_load || exit 1
start_qemu_vms ./recipe || exit 1
wait_quiesce || exit 1
wait_tracking
compare_module demo/before
{
	echo "Three paused QEMU VMs ($QEMU_SYSTEM -S -name guest=NAME -m ${QEMU_RAM_MB}M),"
	echo "each with 16 MiB of guest RAM content (test/scenarios/demo/recipe):"
	echo "  web:   8 MiB OS image + 2 MiB library + 2 MiB twice + 4 MiB own data"
	echo "  db:    8 MiB OS image + 2 MiB library + 6 MiB own data"
	echo "  cache: 8 MiB OS image + 8 MiB own data"
	echo
	echo "KSM merged them: pages_shared $(ksm pages_shared), pages_sharing $(ksm pages_sharing)."
	echo
	echo "/proc/ksm_vmshare (4 KiB pages):"
	# the contract's keys and the self-check's, from one read; the rest
	# of the header is for tests and the curious
	cat "$PROC" >"$RUN/shown"
	grep -E '^ksm_vmshare |^# (state|ksm_pages|ksm_mappings|full_scans_seen|verified_scans|vms):|^# pid |^[0-9]' \
		"$RUN/shown" | sed 's/^/  /'
	echo
	echo "ksm-victim:"
} >"$RUN/show"
show "$RUN/show"
# every VM is shown by its -name
ksm-victim >"$RUN/names"
for vm in web db cache; do
	if grep -q "^$vm  *$(vm_pid "$vm") " "$RUN/names"; then
		pass "demo/named/$vm"
	else
		fail "demo/named/$vm" "ksm-victim does not show $vm: $(cat "$RUN/names")"
	fi
done
# QEMU's own memory (heap, not guest RAM) is unique to each VM
vmload expect ./recipe >"$RUN/expect"
for vm in web db cache; do
	echo "$vm $(awk -v v="$vm" '$1 == v { print $2 }' "$RUN/expect") $(awk -v p="$(vm_pid "$vm")" '$1 == p { print $2 }' "$PROC")"
done | awk '{ printf "%s qemu_own_pages %d\n", $1, $3 - $2 }' >"$RUN/overhead"
data demo/qemu_overhead "$RUN/overhead"
evict_victim demo qemu_quit
compare_module demo/after
{
	echo
	echo "QEMU's own memory (not guest RAM) counts as unique: $(awk '{ printf "%s %.1f MiB  ", $1, $3 * 4 / 1024 }' "$RUN/overhead")"
} >"$RUN/show"
show "$RUN/show"
stop_vms
exit $FAILED
