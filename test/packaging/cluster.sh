#!/bin/bash
# The rules on a real Prometheus server, over three "hosts" that are three
# real node_exporters on 127.0.0.1, each serving what ksm-victim
# --prometheus wrote from a saved /proc/ksm_vmshare, and a meminfo of its
# own (--path.procfs): the rules must name, for each host short of memory,
# the VM that ksm-victim names there, with the bytes it frees.
#
#   cluster.sh WORK_DIR        prints PASS/FAIL lines
#
# Everything listens on 127.0.0.1 only and is stopped at the end.
set -uo pipefail

work=${1:?usage: cluster.sh WORK_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
victim=$top/tools/ksm-victim

pass() { echo "PASS cluster/$1"; }
fail() { echo "FAIL cluster/$1: $2"; }

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
if ! bin=$("$top/test/packaging/prometheus-bin.sh" 2>"$work/fetch.log"); then
	fail prometheus "could not fetch Prometheus: $(tail -n 2 "$work/fetch.log" | tr '\n' ' ')"
	exit 1
fi

pids=()
stop_all() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	pids=()
}
trap stop_all EXIT

# Ports: a random block of four, refused if anything listens there.
for try in 1 2 3 4 5; do
	base=$((20000 + RANDOM % 40000))
	ss -Hltn "( sport >= :$base and sport <= :$((base + 3)) )" | grep -q . || break
done

# host NAME MEMTOTAL_KB MEMAVAILABLE_KB SNAPSHOT: a node_exporter on port
# base+N serving ksm-victim's textfile of SNAPSHOT (with the command lines
# under SNAPSHOT.pids) and a meminfo that says MEMAVAILABLE of MEMTOTAL.
# Also records what ksm-victim names the victim, in bytes.
n=0
targets=
host() {
	local name=$1 total=$2 avail=$3 snap=$4 dir=$work/$1 port
	n=$((n + 1))
	port=$((base + n))
	mkdir -p "$dir/proc" "$dir/textfile"
	printf 'MemTotal:       %d kB\nMemFree:        %d kB\nMemAvailable:   %d kB\n' \
		"$total" "$avail" "$avail" >"$dir/proc/meminfo"
	"$victim" --prometheus --proc "$snap" --pid-root "$snap.pids" \
		--output "$dir/textfile/ksm_vmshare.prom" 2>"$dir/victim.err" ||
		fail "$name/textfile" "ksm-victim --prometheus failed: $(cat "$dir/victim.err")"
	"$victim" --pages --proc "$snap" --pid-root "$snap.pids" >"$dir/victim.txt" 2>&1
	sed -n 's/^victim: \(.*\) (pid \([0-9]*\)) frees \([0-9]*\);.*/\1 \2 \3/p' \
		"$dir/victim.txt" >"$dir/expect"
	"$bin/prometheus-node-exporter" --web.listen-address="127.0.0.1:$port" \
		--path.procfs="$dir/proc" --collector.disable-defaults \
		--collector.meminfo --collector.textfile \
		--collector.textfile.directory="$dir/textfile" >"$dir/exporter.log" 2>&1 &
	pids+=($!)
	targets="$targets${targets:+, }'127.0.0.1:$port'"
	echo "$name 127.0.0.1:$port" >>"$work/hosts"
}

# snapshot FILE ROWS...: a /proc/ksm_vmshare copy; each row "PID UNIQUE SELF
# INTER MAPPED NAME" (freed = unique + self), NAME given as libvirt does
snapshot() {
	local file=$1 pid unique self inter mapped name
	shift
	mkdir -p "$file.pids"
	{
		echo "ksm_vmshare - version: 1"
		echo "# state: tracking"
		echo "# ksm_pages: 1000"
		echo "# ksm_mappings: 4000"
		echo "# full_scans_seen: 9"
		echo "# pid unique self_shared inter_shared ksm_mapped predicted_freed comm"
	} >"$file"
	while [ $# -gt 0 ]; do
		read -r pid unique self inter mapped name <<<"$1"
		echo "$pid $unique $self $inter $mapped $((unique + self)) qemu-system-x86" >>"$file"
		mkdir -p "$file.pids/$pid"
		printf 'qemu-system-x86_64\0-name\0guest=%s,debug-threads=on\0-uuid\0%s\0' \
			"$name" "00000000-0000-4000-8000-$(printf '%012d' "$pid")" >"$file.pids/$pid/cmdline"
		shift
	done
}

# a: short of memory (3 of 64 GiB); db frees the most
snapshot "$work/a.snap" "1201 250000 1000 500000 800000 web" \
	"1202 900000 20000 100000 200000 db" "1203 300000 0 50000 60000 cache"
# b: plenty of memory; x would be the one
snapshot "$work/b.snap" "2201 2000000 0 0 0 x" "2202 100000 0 10000 10000 y"
# c: short (2 of 32 GiB); "shared" maps the most, "lean" frees the most
snapshot "$work/c.snap" "3301 1300000 10000 10000 20000 lean" \
	"3302 200000 50000 3000000 3200000 shared"
host kvm-a 67108864 3145728 "$work/a.snap"
host kvm-b 67108864 41943040 "$work/b.snap"
host kvm-c 33554432 2097152 "$work/c.snap"

prom_port=$base
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $top/contrib/prometheus/ksm-vmshare.rules.yml
scrape_configs:
  - job_name: node
    static_configs:
      - targets: [$targets]
EOF
"$bin/prometheus" --config.file="$work/prometheus.yml" \
	--storage.tsdb.path="$work/tsdb" --web.listen-address="127.0.0.1:$prom_port" \
	>"$work/prometheus.log" 2>&1 &
pids+=($!)

# query EXPR: the result vector as "instance domain pid value" lines
query() {
	curl -s --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" \
		--data-urlencode "query=$1" |
		jq -r '.data.result[] | "\(.metric.instance) \(.metric.domain // "-") \(.metric.pid // "-") \(.value[1])"' |
		sort
}

# Wait (at most 60 s) until every host's best VM is recorded.
for _ in $(seq 60); do
	[ "$(query instance:ksm_vmshare_best_vm_freed_bytes 2>/dev/null | wc -l)" = 3 ] && break
	sleep 1
done
query instance:ksm_vmshare_best_vm_freed_bytes >"$work/best"
query instance:ksm_vmshare_migrate_vm_freed_bytes >"$work/migrate"
query 'ALERTS{alertname="KsmVmshareMigrateVM"}' >"$work/alerts"
query up >"$work/up"

[ "$(grep -c ' 1$' "$work/up")" = 3 ] && pass scraped ||
	fail scraped "targets up: $(tr '\n' ' ' <"$work/up")"

# The rules' choice on every host is ksm-victim's, in bytes.
while read -r name target; do
	read -r vname vpid vpages <"$work/$name/expect"
	want="$target $vname $vpid $((vpages * 4096))"
	got=$(grep "^$target " "$work/best")
	[ "$got" = "$want" ] && pass "$name/best" || fail "$name/best" "recorded '$got', ksm-victim says '$want'"
done <"$work/hosts"

# Only the hosts short of memory get a VM to migrate: kvm-a and kvm-c.
want=$(for name in kvm-a kvm-c; do
	target=$(awk -v n="$name" '$1 == n { print $2 }' "$work/hosts")
	read -r vname vpid vpages <"$work/$name/expect"
	echo "$target $vname $vpid $((vpages * 4096))"
done | sort)
if [ "$(cat "$work/migrate")" = "$want" ]; then
	pass migrate
else
	fail migrate "recorded '$(tr '\n' ';' <"$work/migrate")', want '$(echo "$want" | tr '\n' ';')'"
fi
# the alert is pending (its "for" is 5 minutes) for exactly those VMs
got=$(awk '{ print $1, $2, $3 }' "$work/alerts")
want=$(echo "$want" | awk '{ print $1, $2, $3 }')
[ "$got" = "$want" ] && pass alert || fail alert "alerts '$(echo "$got" | tr '\n' ';')', want '$(echo "$want" | tr '\n' ';')'"
# the named VMs are not simply the largest
grep -q ' shared ' "$work/best" && fail not-largest "kvm-c's largest VM was chosen" || pass not-largest

stop_all
