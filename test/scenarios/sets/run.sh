# /proc/ksm_vmshare_sets against the oracle: what evicting each of the 63
# non-empty subsets of six VMs frees, from the sets file and the rows
# (interface.md: sum of unique + pages of every line within the set),
# equals the oracle's count of physical pages all of whose mappings are in
# the subset. Then ksm-victim --need picks the cheapest set that frees
# enough, checked against every subset, and evicting it frees what the
# sets file said.
. ../lib.sh

# one --evict per non-empty subset of the VMs, for the oracle
evict_every_subset() {
	awk '$1 ~ /^[0-9]+$/ { p[n++] = $1 }
		END { full = 1; for (i = 0; i < n; i++) full *= 2
		for (m = 1; m < full; m++) {
			s = ""; x = m
			for (i = 0; i < n; i++) { if (x % 2) s = s (s == "" ? "" : ",") p[i]; x = int(x / 2) }
			printf "--evict %s ", s } }' "$PROC"
}

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
wait_quiesce || exit 1
wait_tracking
compare_module sets/before
# shellcheck disable=SC2046
read_stable sets/subsets $(evict_every_subset) ||
	fail sets/read "rows or sets kept changing, or a read failed"
data sets/file "$RUN/sets"

head -n 1 "$RUN/sets" >"$RUN/title"
check_eq sets/title "ksm_vmshare_sets - version: 1" "$(cat "$RUN/title")"
check_eq sets/state "tracking" "$(sed -n 's/^# state: //p' "$RUN/sets")"
# every KSM page is in exactly one line, and none in "*" here
check_eq sets/pages_add_up "$(sed -n 's/^# ksm_pages: //p' "$RUN/module")" \
	"$(awk '$1 ~ /^[0-9]+$/ { n += $1 } END { print n + 0 }' "$RUN/sets")"
check_eq sets/no_star 0 "$(awk '$2 == "*" { n += $1 } END { print n + 0 }' "$RUN/sets")"

# freed per subset: the sets file and rows against the oracle
awk 'FILENAME == ARGV[1] && $1 ~ /^[0-9]+$/ { unique[$1] = $2; next }
	FILENAME == ARGV[2] && $1 ~ /^[0-9]+$/ && $2 != "*" { line[++nl] = $2; pages[nl] = $1; next }
	FILENAME == ARGV[3] && $2 == "freed_by_evicting:" {
		n = split($3, pids, ","); delete in_s; f = 0
		for (i = 1; i <= n; i++) { in_s[pids[i]] = 1; f += unique[pids[i]] }
		for (l = 1; l <= nl; l++) {
			m = split(line[l], members, ","); all = 1
			for (i = 1; i <= m; i++) if (!(members[i] in in_s)) all = 0
			if (all) f += pages[l]
		}
		checked++
		if (f == $4) print "PASS sets/subset/" $3
		else print "FAIL sets/subset/" $3 ": sets file says " f ", oracle " $4
	}
	END { if (checked != 63) print "FAIL sets/subsets: " checked " subsets checked, not 63" }' \
	"$RUN/module" "$RUN/sets" "$RUN/oracle.module" >"$RUN/verdicts"
report "$RUN/verdicts"

# --need: the cheapest set by the oracle's own figures, over every subset
# (cost: pages moved, unique + ksm_mapped; then fewer VMs; then more freed)
# 4200 pages: more than any set without both clones frees, less than the
# template (4096) and their data; a scaled recipe (lib.sh) scales it too
need=$(scaled 4200)
awk -v need="$need" 'FILENAME == ARGV[1] && $1 ~ /^[0-9]+$/ { moved[$1] = $2 + $5; next }
	$2 == "freed_by_evicting:" && $4 >= need {
		n = split($3, pids, ","); m = 0
		for (i = 1; i <= n; i++) m += moved[pids[i]]
		if (best == "" || m < bm || (m == bm && (n < bn || (n == bn && $4 > bf)))) {
			best = $3; bm = m; bn = n; bf = $4 }
	}
	END { print best, bf }' "$RUN/oracle.module" "$RUN/oracle.module" >"$RUN/best"
ksm-victim --all --pages --json --need "$need" --proc "$RUN/module" --sets "$RUN/sets" \
	>"$RUN/need.json" 2>"$RUN/need.err" || fail sets/need "ksm-victim --need failed: $(cat "$RUN/need.err")"
sed 's/.*"need": //' "$RUN/need.json" >"$RUN/need"
data sets/need "$RUN/need"
chosen=$(sed -n 's/.*"pids": \[\([0-9, ]*\)\].*/\1/p' "$RUN/need" | tr -d ' ' | tr ',' '\n' | sort -n | paste -sd, -)
best=$(awk '{ print $1 }' "$RUN/best" | tr ',' '\n' | sort -n | paste -sd, -)
check_eq sets/need/set "$best" "$chosen"
check_eq sets/need/freed "$(awk '{ print $2 }' "$RUN/best")" \
	"$(sed -n 's/.*"freed": \([0-9]*\).*/\1/p' "$RUN/need")"
check_eq sets/need/exact true "$(sed -n 's/.*"freed_exact": \([a-z]*\).*/\1/p' "$RUN/need")"
check_eq sets/need/method sets "$(sed -n 's/.*"method": "\([a-z_]*\)".*/\1/p' "$RUN/need")"
# the clones together, which per-VM figures cannot see
for vm in t1 t2; do
	case ",$chosen," in
	*",$(vm_pid "$vm"),"*) pass "sets/need/has_$vm" ;;
	*) fail "sets/need/has_$vm" "the chosen set $chosen lacks $vm" ;;
	esac
done

# what the per-VM rows alone make of it (no sets file): a lower bound
ksm-victim --all --pages --json --need "$need" --proc "$RUN/module" \
	>"$RUN/need.per_vm.json" 2>"$RUN/need.err" || true
sed 's/.*"need": //' "$RUN/need.per_vm.json" >"$RUN/need.per_vm"
data sets/need_per_vm "$RUN/need.per_vm"
check_eq sets/need_per_vm/method per_vm \
	"$(sed -n 's/.*"method": "\([a-z_]*\)".*/\1/p' "$RUN/need.per_vm")"
{
	echo "Six VMs (test/scenarios/sets/recipe); t1 and t2 are clones of one template."
	echo "ksm-victim --need 16.4M (4200 pages), from the rows alone:"
	ksm-victim --all --need "$need" --pages --proc "$RUN/module" 2>&1 | sed 's/^/  /'
	echo "and with /proc/ksm_vmshare_sets:"
	ksm-victim --all --need "$need" --pages --proc "$RUN/module" --sets "$RUN/sets" 2>&1 |
		sed 's/^/  /'
} >"$RUN/show"
show "$RUN/show"

# evict the chosen set; AnonPages drops by what the sets file said
predicted=$(sed -n 's/.*"freed": \([0-9]*\).*/\1/p' "$RUN/need")
for pid in $(echo "$chosen" | tr ',' ' '); do
	for vm in $(cat "$RUN/alive"); do
		[ "$(vm_pid "$vm")" = "$pid" ] && vm_stopped "$vm"
	done
done
# the VMs left (others_anon of no victim) may grow meanwhile: added back
set -- $(memory_bracket none)
others_before=$1
before=$3
for pid in $(echo "$chosen" | tr ',' ' '); do
	kill -TERM "$pid"
done
for pid in $(echo "$chosen" | tr ',' ' '); do
	wait_until 60 "pid $pid to exit" sh -c "! kill -0 $pid 2>/dev/null"
done
wait_quiesce || exit 1
set -- $(memory_bracket none)
after=$3
measured=$((before - after + $1 - others_before))
echo "set $chosen predicted_freed $predicted measured_anon $measured anonpages_drop $((before - after))" >"$RUN/eviction"
data sets/eviction "$RUN/eviction"
diff=$((measured - predicted))
[ "$diff" -lt 0 ] && diff=$((-diff))
if [ "$diff" -le $((predicted / 100 + 256)) ]; then
	pass sets/freed_as_predicted
else
	fail sets/freed_as_predicted "predicted $predicted, measured $measured"
fi
wait_tracking
compare_module sets/after
stop_vms
exit $FAILED
