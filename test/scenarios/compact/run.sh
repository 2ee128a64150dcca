# Compaction and soft offlining migrate KSM pages: the stable node stays,
# the page moves. The migration probe must see each move and the counts
# must not change.
. ../lib.sh

# fill_and_compact MB: fill MB of memory, free it, compact everything.
# Whether compaction moves a given page depends on where the allocator put
# it; a filler taken before freeing leaves the VMs among free pages.
fill_and_compact() {
	dd if=/dev/zero of=/fill/blob bs=1048576 count="$1" 2>/dev/null
	rm /fill/blob
	echo 1 >/proc/sys/vm/compact_memory
}

moved() {
	[ "$(module_key migrations_tracked)" -gt 0 ]
}

ksm_setup
module_load || exit 1
mkdir -p /fill
mount -t tmpfs -o size=1500m fill /fill
# the VMs take what the filler leaves, low in memory
dd if=/dev/zero of=/fill/blob bs=1048576 count=1400 2>/dev/null
start_vms ./recipe || exit 1
wait_quiesce || exit 1
compare_module compact/before
rm /fill/blob
echo 1 >/proc/sys/vm/compact_memory
# bounded retries, for the runs where the scanners met below the VMs
for mb in 1200 900 600 300; do
	moved && break
	fill_and_compact "$mb"
done
wait_quiesce || exit 1
compare_module compact/after
by_compaction=$(module_key migrations_tracked)
echo "compaction moved $by_compaction tracked KSM pages" >"$RUN/compaction"
data compact/compaction "$RUN/compaction"
# Whether compaction moves a KSM page depends on where the allocator put
# it (on arm64 it moved none in some runs). Soft offlining migrates one on
# request: every run moves these, whatever compaction did.
offlined=$(softoffline "$(vm_pid web)" 16)
wait_quiesce || exit 1
compare_module compact/offlined
# at least these: kcompactd may move more meanwhile
tracked=$(($(module_key migrations_tracked) - by_compaction))
if [ "${offlined:-0}" -gt 0 ] && [ "$tracked" -ge "$offlined" ]; then
	pass compact/migrations
else
	fail compact/migrations "soft-offlined ${offlined:-0} of web's KSM pages, the module tracked $tracked moves (migrations_seen $(module_key migrations_seen))"
fi
stop_vms
exit $FAILED
