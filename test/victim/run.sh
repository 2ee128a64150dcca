#!/bin/bash
# ksm-victim against saved snapshots: every documented option, every exit
# status. Prints PASS/FAIL lines and "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
victim=${1:-$here/../../tools/ksm-victim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# Fake /proc/PID/cmdline for the snapshots' pids: libvirt's form, plain -name,
# none at all.
mkdir -p "$tmp/pids/1234" "$tmp/pids/1300" "$tmp/pids/1400" "$tmp/pids/555"
printf 'qemu-system-x86_64\0-name\0guest=web,debug-threads=on\0-m\0004G\0' >"$tmp/pids/1234/cmdline"
printf '/usr/bin/qemu-system-x86_64\0-name\0db\0' >"$tmp/pids/1300/cmdline"
printf 'qemu-system-x86_64\0-m\0001G\0' >"$tmp/pids/1400/cmdline"
printf 'bash\0' >"$tmp/pids/555/cmdline"

verdict() {
	if [ "$2" = ok ]; then
		echo "PASS victim/$1"
		passed=$((passed + 1))
	else
		echo "FAIL victim/$1: $2"
		failed=$((failed + 1))
	fi
}

# run NAME STATUS ARGS...: run, and check the exit status
run() {
	local name=$1 want=$2 got
	shift 2
	"$victim" --pid-root "$tmp/pids" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		verdict "$name" "exit $got, want $want; stderr: $(head -c 300 "$tmp/err")"
		return 1
	fi
	return 0
}

# has NAME PATTERN [FILE]: the output (or FILE) has a line matching PATTERN
has() {
	if grep -qE -- "$2" "${3:-$tmp/out}"; then
		verdict "$1" ok
	else
		verdict "$1" "no line matches '$2' in: $(head -c 600 "${3:-$tmp/out}")"
	fi
}

same() {
	if diff -u "$2" "$tmp/out" >"$tmp/diff"; then
		verdict "$1" ok
	else
		verdict "$1" "output differs: $(head -c 800 "$tmp/diff")"
	fi
}

cat >"$tmp/want.normal" <<'WANT'
ksm_vmshare: state tracking, 10072 KSM pages, 45000 mappings
NAME                 PID      UNIQUE        SELF       INTER       FREED       MOVED
db                  1300    78.1 MiB   400.0 KiB    31.2 MiB    78.5 MiB   113.3 MiB
web                 1234    19.5 MiB    96.0 KiB    39.1 MiB    19.6 MiB    78.1 MiB
qemu-system-x86     1400    11.7 MiB       0 KiB    46.9 MiB    11.7 MiB    93.8 MiB
victim: db (pid 1300) frees 78.5 MiB; migrating it moves 113.3 MiB
WANT
run normal 0 --proc "$here/normal.txt" && same normal "$tmp/want.normal"
[ -s "$tmp/err" ] && verdict normal/stderr_empty "stderr: $(cat "$tmp/err")" || verdict normal/stderr_empty ok

run pages 0 -p "$here/normal.txt" --pages &&
	has pages '^db +1300 +20000 +100 +8000 +20100 +29000$'
run all 0 -p "$here/normal.txt" --all && has all/bash '^bash +555 '
run only_qemu 0 -p "$here/normal.txt" && ! grep -q bash "$tmp/out" &&
	verdict only_qemu ok
run empty 1 -p "$here/empty.txt" && has empty '^victim: none'
run one_vm 0 -p "$here/one.txt" && has one_vm '^victim: web \(pid 1234\) frees 19\.6 MiB; migrating it moves 78\.1 MiB$'
run need_cheapest 0 -p "$here/normal.txt" -a --need 1 -P && has need_cheapest '^need 1: evict bash \(pid 555\): frees at least 10, moves 10$'
run ties 0 -p "$here/ties.txt" --pages &&
	grep -E '^qemu' "$tmp/out" | awk '{ print $2 }' | tr '\n' ' ' >"$tmp/order" &&
	[ "$(cat "$tmp/order")" = "20 30 10 " ] && verdict ties ok ||
	verdict ties "order $(cat "$tmp/order" 2>/dev/null), want 20 30 10 (less moved, then lower pid)"
run huge 0 -p "$here/huge.txt" --all && has huge/size '14\.6 PiB' &&
	has huge/lower_bound '^note: the module is degraded nomem: every number below is a lower bound'
run spaces 0 -p "$here/huge.txt" --all --pages && has spaces '^qemu kvm guest with spaces +7 '
run malformed 3 -p "$here/malformed.txt" &&
	has malformed "^ksm-victim: .*malformed.txt: line 8: ksm_mapped: 'x' is not a count$" "$tmp/err"
[ -s "$tmp/out" ] && verdict malformed/stdout_empty "stdout: $(cat "$tmp/out")" || verdict malformed/stdout_empty ok
run version 3 -p "$here/version2.txt" && has version 'line 1: unknown version 2' "$tmp/err"
run missing_file 3 -p "$tmp/nonexistent" && has missing_file 'No such file' "$tmp/err"
if [ ! -e /proc/ksm_vmshare ]; then
	run no_module 3 && has no_module 'module is not loaded \(try: modprobe ksm_vmshare' "$tmp/err"
fi

# --need, in pages: db frees 20100 moving 29000, web 5024 moving 20000,
# 1400 3000 moving 24000. 100 MiB = 25600 pages: only all three (28124).
normal=$here/normal.txt
run need_all 0 -p "$normal" --need 100M && has need_all '^need 100\.0 MiB: evict db \(pid 1300\), web \(pid 1234\), qemu-system-x86 \(pid 1400\): frees at least 109\.9 MiB, moves 285\.2 MiB'
# 90 MiB = 23040 pages: db + web (25124, moving 49000) beats db + 1400
# (23100, moving 53000)
run need_pair 0 -p "$normal" --need 90M && has need_pair '^need 90\.0 MiB: evict db \(pid 1300\), web \(pid 1234\): frees at least 98\.1 MiB, moves 191\.4 MiB'
# 12 MiB = 3072 pages: web alone (5024); 1400 frees 3000, not enough
run need_small 0 -p "$normal" --need 12M && has need_small '^need 12\.0 MiB: evict web \(pid 1234\): frees at least 19\.6 MiB, moves 78\.1 MiB'
run need_kib 0 -p "$normal" --need 12288k && has need_kib '^need 12\.0 MiB: evict web \(pid 1234\)'
run need_toomuch 1 -p "$normal" --need 1G && has need_toomuch '^need 1\.0 GiB: no set of VMs is known to free that much'
run need_json 0 -p "$normal" --need 20000 --pages --json && has need_json '"need": \{"pages": 20000, "found": true, "freed_at_least": 20100, "moved": 29000, "exact_search": true, "pids": \[1300\]\}'

# --json: one document, and valid JSON
run json 0 -p "$normal" --json && has json '"victim": \{"name": "db", "pid": 1300' &&
	if jq -e '.vms | length == 3' "$tmp/out" >/dev/null; then verdict json/valid ok; else verdict json/valid "jq rejects: $(cat "$tmp/out")"; fi
run json_escape 0 -p "$here/huge.txt" --all --json && jq -e '.vms[0].comm == "qemu kvm guest with spaces" and .exact == false' "$tmp/out" >/dev/null &&
	verdict json_escape ok || verdict json_escape "bad JSON: $(cat "$tmp/out")"

# --watch N --count M prints M times
run watch 0 -p "$normal" --watch 1 --count 2 && [ "$(grep -c '^victim:' "$tmp/out")" = 2 ] &&
	verdict watch ok || verdict watch "want 2 prints: $(cat "$tmp/out")"

# usage errors: exit 2, a message on stderr
run usage_option 2 --bogus && verdict usage_option ok
run usage_need 2 -p "$normal" --need 12Q && has usage_need "--need: '12Q' is not a size" "$tmp/err"
run usage_need_pages 2 -p "$normal" --need 1.5 --pages && verdict usage_need_pages ok
run usage_count 2 -p "$normal" --count 3 && has usage_count 'count needs --watch' "$tmp/err"
run usage_watch 2 -p "$normal" --watch 0 && verdict usage_watch ok
run usage_extra 2 -p "$normal" extra && has usage_extra "unexpected argument 'extra'" "$tmp/err"
run help 0 --help && has help '^  -n, --need SIZE'
# every option --help lists is documented in the man page
man=$here/../../tools/ksm-victim.8
for o in $(grep -oE -- '--[a-z-]+' "$tmp/out" | sort -u); do
	if grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" "$man"; then
		verdict "man/$o" ok
	else
		verdict "man/$o" "not in ksm-victim.8"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
