# The module as Debian's dkms built and installed it (test/packaging/dkms.sh),
# not the rig's own build: it loads on the stock kernel, tracks the baseline's
# three VMs and matches the oracle page for page. Then the exporter's path:
# ksm-victim --prometheus writes node_exporter's textfile, and the real
# prometheus-node-exporter (added to the initramfs by test/packaging/hook.sh)
# serves it over HTTP with the values of /proc/ksm_vmshare.
. ../lib.sh

EXPORTER=/usr/bin/prometheus-node-exporter
TEXTFILE_DIR=/tmp/node-exporter

# which file was loaded: the host compares it with what dkms installed
sha256sum "$MODULE" | awk '{ print $1 }' >"$RUN/ko.sha256"
data dkms-load/ko-sha256 "$RUN/ko.sha256"

# exporter_check: one textfile run, one scrape, every value checked
exporter_check() {
	local name=dkms-load/exporter vm status
	if [ ! -x "$EXPORTER" ]; then
		fail "$name/binary" "no $EXPORTER in the initramfs"
		return 1
	fi
	ip link set lo up
	mkdir -p "$TEXTFILE_DIR"
	cat "$PROC" >"$RUN/proc.before"
	# --all: vmload stands for QEMU here, and ksm-victim names only QEMU a VM
	ksm-victim --prometheus --all --output "$TEXTFILE_DIR/ksm_vmshare.prom" \
		2>"$RUN/prom.err"
	status=$?
	cat "$PROC" >"$RUN/proc.after"
	check_eq "$name/ksm-victim-status" 0 "$status"
	# the VMs' rows must not have changed while ksm-victim read them (the
	# header's scan counts go on as ksmd scans)
	grep -v '^#' "$RUN/proc.before" >"$RUN/rows.before"
	grep -v '^#' "$RUN/proc.after" >"$RUN/rows.after"
	if ! cmp -s "$RUN/rows.before" "$RUN/rows.after"; then
		data "$name/before" "$RUN/proc.before"
		data "$name/after" "$RUN/proc.after"
		fail "$name/stable" "/proc/ksm_vmshare's rows changed while ksm-victim ran"
		return 1
	fi
	"$EXPORTER" --web.listen-address=127.0.0.1:9100 --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$TEXTFILE_DIR" \
		--collector.meminfo >"$RUN/exporter.log" 2>&1 &
	echo $! >"$RUN/exporter.pid"
	wait_until 60 "node_exporter to answer on 127.0.0.1:9100" \
		wget -q -O "$RUN/metrics" http://127.0.0.1:9100/metrics || {
		data "$name/log" "$RUN/exporter.log"
		return 1
	}
	kill "$(cat "$RUN/exporter.pid")"
	grep -E '^(ksm_vmshare|node_textfile|node_memory_Mem(Available|Total)_bytes)' \
		"$RUN/metrics" >"$RUN/metrics.ours"
	data "$name/scrape" "$RUN/metrics.ours"
	for vm in $(cat "$RUN/alive"); do
		echo "$vm $(vm_pid "$vm")"
	done >"$RUN/names"
	# Every row of the proc file, times the page size, is served under its
	# pid with the VM's name; and nothing else is.
	awk -v name="$name" -v page=$((PAGE_KB * 1024)) '
		function verdict(ok, what, detail) {
			print (ok ? "PASS " : "FAIL ") name "/" what (ok ? "" : ": " detail)
		}
		function label(s, key) {
			if (match(s, key "=\"[^\"]*\"")) return substr(s, RSTART + length(key) + 2, RLENGTH - length(key) - 3)
			return ""
		}
		FILENAME == ARGV[1] { vmname[$2] = $1; next }
		FILENAME == ARGV[2] {
			if ($1 == "#" && $2 == "state:") state = $3
			if ($1 ~ /^[0-9]+$/) {
				rows++
				want[$1, "unique"] = $2 * page
				want[$1, "self_shared"] = $3 * page
				want[$1, "inter_shared"] = $4 * page
				want[$1, "ksm_mapped"] = $5 * page
				want[$1, "freed_on_migration"] = $6 * page
			}
			next
		}
		/^ksm_vmshare_vm_/ {
			metric = $1; sub(/\{.*/, "", metric); sub(/^ksm_vmshare_vm_/, "", metric)
			sub(/_bytes$/, "", metric)
			pid = label($1, "pid")
			served++
			got[pid, metric] = $2
			domain[pid] = label($1, "domain")
		}
		/^ksm_vmshare_tracking / { tracking = $2 }
		/^node_textfile_scrape_error / { scrape_error = $2 }
		/^node_textfile_mtime_seconds\{/ { mtime_file = label($1, "file") }
		/^node_memory_MemAvailable_bytes / { memavailable = $2 }
		END {
			verdict(rows > 0, "rows", "no VM in /proc/ksm_vmshare")
			verdict(served == rows * 5, "series", served " per-VM series for " rows " VMs")
			for (k in want) {
				split(k, part, SUBSEP)
				p = part[1]; m = part[2]
				verdict(((p SUBSEP m) in got) && got[p, m] == want[p, m], "value/" p "/" m,
					"served " got[p, m] ", /proc/ksm_vmshare says " want[p, m])
			}
			for (p in domain)
				verdict(domain[p] == vmname[p], "domain/" p,
					"domain \"" domain[p] "\", VM " vmname[p])
			verdict(tracking == (state == "tracking"), "tracking",
				"ksm_vmshare_tracking " tracking ", state " state)
			verdict(scrape_error == "0", "textfile-read", "node_textfile_scrape_error " scrape_error)
			# what the Prometheus rules select the file by
			verdict(mtime_file ~ /(^|\/)ksm_vmshare\.prom$/, "mtime-label",
				"node_textfile_mtime_seconds file=\"" mtime_file "\"")
			verdict(memavailable > 0, "memavailable", "no node_memory_MemAvailable_bytes")
		}' "$RUN/names" "$RUN/proc.before" "$RUN/metrics" >"$RUN/verdicts" ||
		fail "$name/compare" "awk failed"
	report "$RUN/verdicts"
}

ksm_setup
module_load || exit 1
check_eq dkms-load/loaded ksm_vmshare "$(awk '$1 == "ksm_vmshare" { print $1 }' /proc/modules)"
start_vms ../baseline/recipe || exit 1
wait_quiesce || exit 1
wait_tracking
check_eq dkms-load/state tracking "$(module_key state)"
compare_module dkms-load/module
exporter_check
stop_vms
module_unload
exit $FAILED
