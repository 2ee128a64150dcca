#!/bin/bash
# The Prometheus rules shipped in contrib/prometheus: promtool's syntax
# check, its unit test over six hosts (rules.test.yml), and proof that the
# unit test fails on rules that choose the wrong way.
#
#   prom.sh WORK_DIR        prints PASS/FAIL lines
set -uo pipefail

work=${1:?usage: prom.sh WORK_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
rules=$top/contrib/prometheus/ksm-vmshare.rules.yml
tests=$top/test/packaging/rules.test.yml

pass() { echo "PASS prometheus/$1"; }
fail() { echo "FAIL prometheus/$1: $2"; }

rm -rf "$work"
mkdir -p "$work"
if ! bin=$("$top/test/packaging/prometheus-bin.sh" 2>"$work/fetch.log"); then
	fail promtool "could not fetch promtool: $(tail -n 2 "$work/fetch.log" | tr '\n' ' ')"
	exit 1
fi
promtool() { "$bin/promtool" "$@"; }

if promtool check rules "$rules" >"$work/check" 2>&1; then
	pass check-rules
else
	fail check-rules "$(tail -n 2 "$work/check" | tr '\n' ' ')"
fi
if promtool test rules "$tests" >"$work/test" 2>&1; then
	pass test-rules
else
	fail test-rules "$(grep -m 3 -A 3 FAILED "$work/test" | tr '\n' ' ' | cut -c 1-400)"
fi

# mutant NAME SED: the rules changed by SED must fail the unit test
mutant() {
	mkdir -p "$work/$1/contrib/prometheus" "$work/$1/test/packaging"
	sed "$2" "$rules" >"$work/$1/contrib/prometheus/ksm-vmshare.rules.yml"
	if cmp -s "$rules" "$work/$1/contrib/prometheus/ksm-vmshare.rules.yml"; then
		fail "catches-$1" "the change did not apply"
		return
	fi
	cp "$tests" "$work/$1/test/packaging/"
	if promtool test rules "$work/$1/test/packaging/rules.test.yml" >"$work/$1/out" 2>&1; then
		fail "catches-$1" "the unit test passes rules that $3"
	else
		pass "catches-$1"
	fi
}
mutant largest-mapped \
	'/record: instance:ksm_vmshare_best_vm_freed_bytes/,/record:/s/ksm_vmshare_vm_freed_on_migration_bytes/ksm_vmshare_vm_ksm_mapped_bytes/' \
	"rank VMs by their KSM-mapped memory"
mutant no-memory-filter \
	'/record: instance:ksm_vmshare_migrate_vm_freed_bytes/,/alert:/s/^\( *\)and on (job, instance)$/\1or on (job, instance)/' \
	"also pick VMs on hosts with memory to spare"
mutant stale-hosts 's/_textfile_age_seconds < 300/_textfile_age_seconds < 3000/' \
	"trust a textfile nobody has written for minutes"
