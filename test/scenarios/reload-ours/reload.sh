# The reload loop of issue 13, shared by reload-ours and reload-control:
# VMs merged, ksmd scanning without pauses (sleep_millisecs=0,
# pages_to_scan=10000), then N load/unload cycles of one module while ksmd
# runs through the probed functions. reload-control loads the rig's
# control module (test/control: empty kprobes on the same functions), so
# that a crash of both says "platform" and a crash of ours alone says "ours".
#
# N: ksmvs.cycles=N on the kernel command line, else the scenario's file
# cycles, else 50. Each step is announced on the console first, so that a
# crash's log says which step it hit. The run needs RELOAD_NAME (the
# scenario), RELOAD_KO (the .ko in the initramfs) and RELOAD_MOD (its name
# for rmmod).

reload_cycles() {
	local n
	n=$(sed -n 's/.*ksmvs\.cycles=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
	[ -n "$n" ] || n=$(cat ./cycles 2>/dev/null)
	echo "${n:-50}"
}

# reload_run: the whole scenario; its status is the scenario's
reload_run() {
	local n i done_cycles=0
	n=$(reload_cycles)
	[ -f "$RELOAD_KO" ] || {
		fail "$RELOAD_NAME/module" "no $RELOAD_KO in the initramfs"
		return 1
	}
	ksm_setup
	start_vms ../reload-ours/recipe || return 1
	wait_quiesce || return 1
	echo 0 >"$KSM/sleep_millisecs"
	echo 10000 >"$KSM/pages_to_scan"
	# where the code is, to read a crash's RIP and trace against the image
	grep -wE '_text|ksm_scan_thread|__ksm_enter|__ksm_exit|stable_tree_append|remove_rmap_item_from_tree|remove_node_from_stable_tree|folio_migrate_ksm|lru_add_drain_all' \
		/proc/kallsyms >"$RUN/kallsyms"
	data "$RELOAD_NAME/kallsyms" "$RUN/kallsyms"
	echo "reload: $n cycles of $RELOAD_MOD, ksmd full_scans $(ksm full_scans)"
	for i in $(seq 1 "$n"); do
		echo "reload: cycle $i load"
		if ! insmod "$RELOAD_KO" 2>"$RUN/insmod.err"; then
			fail "$RELOAD_NAME/load" "cycle $i: insmod failed: $(cat "$RUN/insmod.err")"
			break
		fi
		# once: what the kernel made of the probes ([FTRACE]: through
		# ftrace's call site at the function's entry, else an int3)
		if [ "$i" = 1 ]; then
			mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
			cat /sys/kernel/debug/kprobes/list >"$RUN/kprobes" 2>&1
			data "$RELOAD_NAME/kprobes" "$RUN/kprobes"
		fi
		sleep 0.$((i % 5))
		echo "reload: cycle $i unload"
		if ! rmmod "$RELOAD_MOD" 2>"$RUN/rmmod.err"; then
			fail "$RELOAD_NAME/unload" "cycle $i: rmmod failed: $(cat "$RUN/rmmod.err")"
			break
		fi
		done_cycles=$i
		echo "reload: cycle $i done"
	done
	echo "cycles $done_cycles of $n module $RELOAD_MOD full_scans $(ksm full_scans)" \
		>"$RUN/reload"
	data "$RELOAD_NAME/cycles" "$RUN/reload"
	check_eq "$RELOAD_NAME/cycles_completed" "$n" "$done_cycles"
	echo 10 >"$KSM/sleep_millisecs"
	stop_vms
}
