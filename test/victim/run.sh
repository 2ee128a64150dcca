#!/bin/bash
# ksm-victim against saved snapshots: every documented option, every exit
# status; names from libvirt's own command lines (libvirt/README); the
# Prometheus output through the real promtool (promtool.sh fetches it).
# Prints PASS/FAIL lines and "N passed, N failed".
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
# clones.txt: two clones of one template and a big VM
for p in 4001:tmpl-a 4002:tmpl-b 4003:big; do
	mkdir -p "$tmp/pids/${p%%:*}"
	printf 'qemu-system-x86_64\0-name\0guest=%s,debug-threads=on\0-uuid\0%s\0' \
		"${p#*:}" "00000000-0000-4000-8000-00000000${p%%:*}" >"$tmp/pids/${p%%:*}/cmdline"
done

# args_to_cmdline FILE.args OUT: a command line libvirt wrote (one argument
# a line, shell-quoted, "\" continuations, environment first) as
# /proc/PID/cmdline has it: the arguments, NUL-separated.
args_to_cmdline() {
	local joined words i=0
	# eval below undoes the quoting: the files hold no expansion
	if grep -q '[$`]' "$1"; then
		echo "args_to_cmdline: $1 has \$ or \`" >&2
		return 1
	fi
	joined=$(sed 's/ \\$//' "$1" | tr '\n' ' ')
	set -f
	eval "words=( $joined )"
	set +f
	while [[ ${words[i]} =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		i=$((i + 1))
	done
	printf '%s\0' "${words[@]:i}" >"$2"
}
pid=2001
for f in name-escape.x86_64-latest fd-memory-numa-topology aarch64-cpu-passthrough \
	q35-virt-manager-basic.x86_64-latest console-sclp.s390x-latest; do
	mkdir -p "$tmp/pids/$pid"
	args_to_cmdline "$here/libvirt/$f.args" "$tmp/pids/$pid/cmdline"
	pid=$((pid + 1))
done

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

# jq_is NAME FILTER: jq says FILTER is true of the output
jq_is() {
	if jq -e "$2" "$tmp/out" >/dev/null 2>"$tmp/jqerr"; then
		verdict "$1" ok
	else
		verdict "$1" "jq '$2' is not true of: $(head -c 800 "$tmp/out") $(cat "$tmp/jqerr")"
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
run need_json 0 -p "$normal" --need 20000 --pages --json &&
	jq_is need_json '.need == {"pages": 20000, "found": true, "pids": [1300], "freed": 20100, "freed_exact": false, "moved": 29000, "exact_search": true, "candidates": 3, "method": "per_vm", "sets_ignored": null}'

# --json: one document, and valid JSON
run json 0 -p "$normal" --json && has json '"victim": \{"name": "db", "uuid": null, "pid": 1300' &&
	if jq -e '.vms | length == 3' "$tmp/out" >/dev/null; then verdict json/valid ok; else verdict json/valid "jq rejects: $(cat "$tmp/out")"; fi
run json_escape 0 -p "$here/huge.txt" --all --json && jq -e '.vms[0].comm == "qemu kvm guest with spaces" and .exact == false' "$tmp/out" >/dev/null &&
	verdict json_escape ok || verdict json_escape "bad JSON: $(cat "$tmp/out")"

# --watch N --count M prints M times
run watch 0 -p "$normal" --watch 1 --count 2 && [ "$(grep -c '^victim:' "$tmp/out")" = 2 ] &&
	verdict watch ok || verdict watch "want 2 prints: $(cat "$tmp/out")"

# --- comm escapes and terminal safety (escapes.txt: newline, tab, backslash,
# spaces, quote, UTF-8, 15 bytes, terminal escape sequences) ---------------
esc=$here/escapes.txt
cat >"$tmp/want.escapes" <<'WANT'
ksm_vmshare: state tracking, 20000 KSM pages, 40000 mappings
NAME                         PID      UNIQUE        SELF       INTER       FREED       MOVED
evil\012name                3001        1000          10           0        1010        1010
tab\011here                 3002         900           0           0         900         900
back\134slash               3003         800           0           0         800         800
my vm  spaces               3004         700           0           0         700         700
say "hi"                    3005         600           0           0         600         600
grüße €                     3006         500           0           0         500         500
123456789012345             3007         400           0           0         400         400
\033]0;pwned\007\033[2J     3008         300           0           0         300         300
victim: evil\012name (pid 3001) frees 1010; migrating it moves 1010
WANT
run escapes 0 -p "$esc" --all --pages && same escapes "$tmp/want.escapes"
# no byte a terminal acts on: only printable text and newlines
if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$tmp/out"; then
	verdict escapes/no_control "control characters in: $(cat -A "$tmp/out" | head -c 600)"
else
	verdict escapes/no_control ok
fi
run escapes_need 0 -p "$esc" --all --pages --need 1010 &&
	has escapes_need '^need 1010: evict evil\\012name \(pid 3001\): frees at least 1010, moves 1010$'
# JSON: RFC 8259 escapes, the names back exactly as the processes set them
run escapes_json 0 -p "$esc" --all --json
printf 'evil\nname|tab\there|back\\slash|my vm  spaces|say "hi"|grüße €|123456789012345|\033]0;pwned\a\033[2J|' >"$tmp/want.names"
if jq -j '.vms[] | .comm + "|"' "$tmp/out" >"$tmp/names" 2>&1 && cmp -s "$tmp/names" "$tmp/want.names"; then
	verdict escapes_json/roundtrip ok
else
	verdict escapes_json/roundtrip "jq gives: $(cat -A "$tmp/names")"
fi
has escapes_json/raw '"name": "evil\\nname", "uuid": null, "pid": 3001'
has escapes_json/u001b '"\\u001b\]0;pwned\\u0007\\u001b\[2J"'
if LC_ALL=C grep -q $'[\x01-\x1f\x7f]' "$tmp/out"; then
	verdict escapes_json/no_control "raw control characters in the JSON"
else
	verdict escapes_json/no_control ok
fi
# every header key, numbers as numbers, text as text
jq_is escapes_json/header '.header == {"state": "tracking", "ksm_pages": 20000, "ksm_mappings": 40000, "full_scans_seen": 9, "verified_scans": 5, "unowned_vms": 0, "unowned_mappings": 0, "vms": 8, "build": "2026-11-28 \"quoted\" \\"}'

# the module escapes every byte past 0x7e: UTF-8 comes back whole; and a
# process may have an empty name (prctl(PR_SET_NAME, "")): it must not make
# the file unreadable for everyone
printf '%s\n' 'ksm_vmshare - version: 1' '# state: tracking' '# ksm_pages: 0' \
	'# ksm_mappings: 0' '# full_scans_seen: 1' \
	'# pid unique self_shared inter_shared ksm_mapped predicted_freed comm' \
	'7001 20 0 0 0 20 gr\303\274\303\237e' '7002 10 0 0 0 10 ' >"$tmp/module-style.txt"
run module_style 0 -p "$tmp/module-style.txt" --all --pages &&
	has module_style '^grüße +7001 +20 ' && has module_style/empty '^ +7002 +10 '
run module_style_json 0 -p "$tmp/module-style.txt" --all --json &&
	jq_is module_style_json '[.vms[].comm] == ["grüße", ""]'

# --- the reader refuses, naming the line ---------------------------------
run bad_escape 3 -p "$here/badescape.txt" &&
	has bad_escape "^ksm-victim: .*badescape.txt: line 8: comm 'bad\\\\01x': malformed escape" "$tmp/err"
[ -s "$tmp/out" ] && verdict bad_escape/stdout_empty "stdout: $(cat "$tmp/out")" || verdict bad_escape/stdout_empty ok
# a raw escape sequence in the file is quoted in the message, escaped
printf '%s\n' 'ksm_vmshare - version: 1' '# state: tracking' '# ksm_pages: 1' \
	'# ksm_mappings: 1' '# full_scans_seen: 1' \
	'# pid unique self_shared inter_shared ksm_mapped predicted_freed comm' \
	$'5 1 0 0 0 1 x\033]0;owned\007' >"$tmp/rawctl.txt"
run raw_control 3 -p "$tmp/rawctl.txt" &&
	has raw_control "line 7: comm 'x\\\\033]0;owned\\\\007': unescaped control character$" "$tmp/err"
if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$tmp/err"; then
	verdict raw_control/stderr_safe "control characters on stderr: $(cat -A "$tmp/err")"
else
	verdict raw_control/stderr_safe ok
fi
run pid0 3 -p "$here/pid0.txt" && has pid0 '^ksm-victim: .*pid0.txt: line 7: pid 0 out of range$' "$tmp/err"
printf '%s\n' 'ksm_vmshare - version: 1' '# state: tracking' '# ksm_pages: 1' \
	'# ksm_mappings: 1' '# full_scans_seen: 1' '# verified_scans: soon' >"$tmp/badkey.txt"
run bad_verified 3 -p "$tmp/badkey.txt" && has bad_verified "line 6: verified_scans: 'soon' is not a count" "$tmp/err"
head -5 "$normal" >"$tmp/junk.txt"
echo 'garbage line' >>"$tmp/junk.txt"
run junk_line 3 -p "$tmp/junk.txt" && has junk_line "line 6: header line is not '# key: value'|line 6: a row before the column line" "$tmp/err"

# --- libvirt's own command lines: -name guest=NAME (",," a comma), -uuid ----
lv=$here/libvirt.txt
cat >"$tmp/want.libvirt" <<'WANT'
ksm_vmshare: state tracking, 3000 KSM pages, 9000 mappings
NAME                    PID      UNIQUE        SELF       INTER       FREED       MOVED
foo=1,bar=2            2001       50000         100        3000       50100       54000
instance-00000092      2002       40000           0        3000       40000       43000
aarch64test            2003       30000           0        3000       30000       33000
virt-manager-basic     2004       20000           0           0       20000       20000
QEMUGuest1             2005       10000           0           0       10000       10000
victim: foo=1,bar=2 (pid 2001) frees 50100; migrating it moves 54000
WANT
run libvirt 0 -p "$lv" --pages && same libvirt "$tmp/want.libvirt"
run libvirt_json 0 -p "$lv" --json &&
	jq_is libvirt_json '[.vms[] | [.pid, .name, .uuid, .qemu]] == [
		[2001, "foo=1,bar=2", "c7a5fdbd-edaf-9455-926a-d65c16db1809", true],
		[2002, "instance-00000092", "126f2720-6f8e-45ab-a886-ec9277079a67", true],
		[2003, "aarch64test", "496d7ea8-9739-544b-4ebd-ef08be936e8b", true],
		[2004, "virt-manager-basic", "1b826c23-8767-47ad-a6b5-c83a88277f71", true],
		[2005, "QEMUGuest1", "c7a5fdbd-edaf-9455-926a-d65c16db1809", true]]'
# the conversion kept libvirt's escaped form (the test means something)
if tr '\0' '\n' <"$tmp/pids/2001/cmdline" | grep -qx 'guest=foo=1,,bar=2,debug-threads=on' &&
	[ "$(tr -cd '\0' <"$tmp/pids/2001/cmdline" | wc -c)" -gt 40 ]; then
	verdict libvirt/cmdline ok
else
	verdict libvirt/cmdline "converted cmdline: $(tr '\0' ' ' <"$tmp/pids/2001/cmdline" | head -c 300)"
fi

# --- Prometheus ------------------------------------------------------------
cat >"$tmp/want.prom" <<'WANT'
# HELP ksm_vmshare_vm_unique_bytes Anonymous memory of the VM not backed by KSM.
# TYPE ksm_vmshare_vm_unique_bytes gauge
ksm_vmshare_vm_unique_bytes{domain="foo=1,bar=2",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2001"} 204800000
ksm_vmshare_vm_unique_bytes{domain="instance-00000092",uuid="126f2720-6f8e-45ab-a886-ec9277079a67",pid="2002"} 163840000
ksm_vmshare_vm_unique_bytes{domain="aarch64test",uuid="496d7ea8-9739-544b-4ebd-ef08be936e8b",pid="2003"} 122880000
ksm_vmshare_vm_unique_bytes{domain="virt-manager-basic",uuid="1b826c23-8767-47ad-a6b5-c83a88277f71",pid="2004"} 81920000
ksm_vmshare_vm_unique_bytes{domain="QEMUGuest1",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2005"} 40960000
# HELP ksm_vmshare_vm_self_shared_bytes KSM pages that only this VM maps.
# TYPE ksm_vmshare_vm_self_shared_bytes gauge
ksm_vmshare_vm_self_shared_bytes{domain="foo=1,bar=2",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2001"} 409600
ksm_vmshare_vm_self_shared_bytes{domain="instance-00000092",uuid="126f2720-6f8e-45ab-a886-ec9277079a67",pid="2002"} 0
ksm_vmshare_vm_self_shared_bytes{domain="aarch64test",uuid="496d7ea8-9739-544b-4ebd-ef08be936e8b",pid="2003"} 0
ksm_vmshare_vm_self_shared_bytes{domain="virt-manager-basic",uuid="1b826c23-8767-47ad-a6b5-c83a88277f71",pid="2004"} 0
ksm_vmshare_vm_self_shared_bytes{domain="QEMUGuest1",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2005"} 0
# HELP ksm_vmshare_vm_inter_shared_bytes KSM pages this VM maps together with at least one other VM.
# TYPE ksm_vmshare_vm_inter_shared_bytes gauge
ksm_vmshare_vm_inter_shared_bytes{domain="foo=1,bar=2",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2001"} 12288000
ksm_vmshare_vm_inter_shared_bytes{domain="instance-00000092",uuid="126f2720-6f8e-45ab-a886-ec9277079a67",pid="2002"} 12288000
ksm_vmshare_vm_inter_shared_bytes{domain="aarch64test",uuid="496d7ea8-9739-544b-4ebd-ef08be936e8b",pid="2003"} 12288000
ksm_vmshare_vm_inter_shared_bytes{domain="virt-manager-basic",uuid="1b826c23-8767-47ad-a6b5-c83a88277f71",pid="2004"} 0
ksm_vmshare_vm_inter_shared_bytes{domain="QEMUGuest1",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2005"} 0
# HELP ksm_vmshare_vm_ksm_mapped_bytes Memory of the VM backed by KSM pages, each of its mappings counted.
# TYPE ksm_vmshare_vm_ksm_mapped_bytes gauge
ksm_vmshare_vm_ksm_mapped_bytes{domain="foo=1,bar=2",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2001"} 16384000
ksm_vmshare_vm_ksm_mapped_bytes{domain="instance-00000092",uuid="126f2720-6f8e-45ab-a886-ec9277079a67",pid="2002"} 12288000
ksm_vmshare_vm_ksm_mapped_bytes{domain="aarch64test",uuid="496d7ea8-9739-544b-4ebd-ef08be936e8b",pid="2003"} 12288000
ksm_vmshare_vm_ksm_mapped_bytes{domain="virt-manager-basic",uuid="1b826c23-8767-47ad-a6b5-c83a88277f71",pid="2004"} 0
ksm_vmshare_vm_ksm_mapped_bytes{domain="QEMUGuest1",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2005"} 0
# HELP ksm_vmshare_vm_freed_on_migration_bytes Memory the host gets back if this VM alone is migrated away.
# TYPE ksm_vmshare_vm_freed_on_migration_bytes gauge
ksm_vmshare_vm_freed_on_migration_bytes{domain="foo=1,bar=2",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2001"} 205209600
ksm_vmshare_vm_freed_on_migration_bytes{domain="instance-00000092",uuid="126f2720-6f8e-45ab-a886-ec9277079a67",pid="2002"} 163840000
ksm_vmshare_vm_freed_on_migration_bytes{domain="aarch64test",uuid="496d7ea8-9739-544b-4ebd-ef08be936e8b",pid="2003"} 122880000
ksm_vmshare_vm_freed_on_migration_bytes{domain="virt-manager-basic",uuid="1b826c23-8767-47ad-a6b5-c83a88277f71",pid="2004"} 81920000
ksm_vmshare_vm_freed_on_migration_bytes{domain="QEMUGuest1",uuid="c7a5fdbd-edaf-9455-926a-d65c16db1809",pid="2005"} 40960000
# HELP ksm_vmshare_tracking 1 when ksm_vmshare's counts are exact (state tracking), else 0.
# TYPE ksm_vmshare_tracking gauge
ksm_vmshare_tracking 1
# HELP ksm_vmshare_verified_scans Consecutive KSM full scans whose check of ksm_vmshare's counts held.
# TYPE ksm_vmshare_verified_scans gauge
ksm_vmshare_verified_scans 38
WANT
page_kb=$(( $(getconf PAGESIZE) / 1024 ))
if [ "$page_kb" = 4 ]; then
	run prometheus 0 -p "$lv" --prometheus && same prometheus "$tmp/want.prom"
fi
if promtool=$("$here/promtool.sh" 2>"$tmp/promtool.log"); then
	# promtool_ok NAME FILE: the real promtool accepts FILE
	promtool_ok() {
		if "$promtool" check metrics <"$2" >"$tmp/lint" 2>&1; then
			verdict "$1" ok
		else
			verdict "$1" "promtool check metrics: $(head -c 600 "$tmp/lint")"
		fi
	}
	promtool_ok promtool/libvirt "$tmp/out"
	run prom_escapes 0 -p "$esc" --all --prometheus && promtool_ok promtool/escapes "$tmp/out"
	has prom_escapes/label '^ksm_vmshare_vm_unique_bytes\{domain="evil\\nname",uuid="",pid="3001"\} 4096000$'
	has prom_escapes/quote '^ksm_vmshare_vm_unique_bytes\{domain="say \\"hi\\"",uuid="",pid="3005"\} '
	has prom_escapes/backslash '^ksm_vmshare_vm_unique_bytes\{domain="back\\\\slash",uuid="",pid="3003"\} '
	run prom_degraded 0 -p "$here/huge.txt" --all --prometheus && promtool_ok promtool/degraded "$tmp/out"
	has prom_degraded/tracking '^ksm_vmshare_tracking 0$'
	if grep -q verified_scans "$tmp/out"; then
		verdict prom_degraded/no_verified "verified_scans shown though the header lacks it"
	else
		verdict prom_degraded/no_verified ok
	fi
	run prom_empty 1 -p "$here/empty.txt" --prometheus && promtool_ok promtool/empty "$tmp/out"
	# promtool can say no: the same output with a label's escape broken
	"$victim" --pid-root "$tmp/pids" -p "$esc" --all --prometheus |
		sed 's/evil\\nname/evil\\qname/' >"$tmp/broken.prom"
	if "$promtool" check metrics <"$tmp/broken.prom" >/dev/null 2>&1; then
		verdict promtool/rejects_bad "promtool accepted a broken escape"
	else
		verdict promtool/rejects_bad ok
	fi
else
	verdict promtool "could not get promtool: $(tail -c 400 "$tmp/promtool.log")"
fi

# --- --output FILE: written whole, then renamed over FILE --------------------
mkdir "$tmp/textfile"
run output 0 -p "$lv" --prometheus --output "$tmp/textfile/ksm.prom"
[ -s "$tmp/out" ] && verdict output/stdout_empty "stdout: $(head -c 200 "$tmp/out")" || verdict output/stdout_empty ok
"$victim" --pid-root "$tmp/pids" -p "$lv" --prometheus >"$tmp/out"
same output/content "$tmp/textfile/ksm.prom"
mode=$(stat -c %a "$tmp/textfile/ksm.prom")
[ "$mode" = "$(printf '%o' $((0666 & ~$(umask))))" ] && verdict output/mode ok ||
	verdict output/mode "mode $mode, umask $(umask)"
[ "$(ls -A "$tmp/textfile")" = ksm.prom ] && verdict output/no_temp ok ||
	verdict output/no_temp "left: $(ls -A "$tmp/textfile")"
run output_json 0 -p "$lv" --json -o "$tmp/textfile/v.json" &&
	jq -e '.vms | length == 5' "$tmp/textfile/v.json" >/dev/null && verdict output_json ok ||
	verdict output_json "$(head -c 300 "$tmp/textfile/v.json")"
rm "$tmp/textfile/v.json"
run output_nodir 3 -p "$lv" --prometheus --output "$tmp/nodir/ksm.prom" &&
	has output_nodir "^ksm-victim: .*nodir/ksm.prom: cannot create a temporary file beside it: No such file or directory" "$tmp/err"
# --watch rewrites it every period, each time a new file (inode) renamed
# over it: a reader polling it meanwhile sees whole files only
ino1=$(stat -c %i "$tmp/textfile/ksm.prom")
"$victim" --pid-root "$tmp/pids" -p "$lv" --prometheus >"$tmp/out"
"$victim" --pid-root "$tmp/pids" -p "$lv" --prometheus --output "$tmp/textfile/ksm.prom" \
	--watch 1 --count 2 &
writer=$!
torn=0
reads=0
while kill -0 "$writer" 2>/dev/null; do
	cmp -s "$tmp/textfile/ksm.prom" "$tmp/out" || torn=$((torn + 1))
	reads=$((reads + 1))
done
wait "$writer"
ino2=$(stat -c %i "$tmp/textfile/ksm.prom")
[ "$torn" = 0 ] && [ "$reads" -gt 10 ] && verdict output_watch/whole ok ||
	verdict output_watch/whole "$torn of $reads reads differed from a whole file (more than 10 reads wanted)"
if [ "$ino1" != "$ino2" ] && cmp -s "$tmp/textfile/ksm.prom" "$tmp/out" &&
	[ "$(ls -A "$tmp/textfile")" = ksm.prom ]; then
	verdict output_watch/renamed ok
else
	verdict output_watch/renamed "inode $ino1 -> $ino2; files: $(ls -A "$tmp/textfile")"
fi
# Killed in the middle of a write (strace holds its fsync for 3 s): the
# temporary file goes, FILE stays as it was.
command -v strace >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null 2>&1
if command -v strace >/dev/null; then
	strace -f -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=3000000 \
		sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$tmp/victim.pid" \
		"$victim" --pid-root "$tmp/pids" -p "$lv" --prometheus \
		--output "$tmp/textfile/ksm.prom" &
	tracer=$!
	for i in $(seq 100); do
		ls -A "$tmp/textfile" | grep -q '^\.ksm\.prom\.' && break
		sleep 0.05
	done
	during=$(ls -A "$tmp/textfile" | tr '\n' ' ')
	kill -TERM "$(cat "$tmp/victim.pid")"
	wait "$tracer"
	if [[ $during == *.ksm.prom.* ]] && [ "$(ls -A "$tmp/textfile")" = ksm.prom ] &&
		[ "$(stat -c %i "$tmp/textfile/ksm.prom")" = "$ino2" ]; then
		verdict output_killed ok
	else
		verdict output_killed "during the write: $during; after: $(ls -A "$tmp/textfile" | tr '\n' ' ')"
	fi
else
	verdict output_killed "strace is not installed and could not be"
fi

# --- --need with the sets file ------------------------------------------------
# Two clones of one template (tmpl-a, tmpl-b) share 10000 pages with each
# other only; each has 1000 of its own; big has 30000. 12000 pages: per-VM
# sums take big (moving 30000); the sets file shows the clones together
# free exactly 12000, moving 22000.
cl=$here/clones.txt
run sets_clones 0 -p "$cl" --sets "$here/clones.sets" --need 12000 --pages &&
	has sets_clones '^need 12000: evict tmpl-a \(pid 4001\), tmpl-b \(pid 4002\): frees 12000, moves 22000$' &&
	has sets_clones/exact '^  exact: from .*clones.sets$'
run sets_clones_pervm 0 -p "$cl" --need 12000 --pages &&
	has sets_clones_pervm '^need 12000: evict big \(pid 4003\): frees at least 30000, moves 30000$'
# 40000: per-VM sums know no set; all three free 42000
run sets_all 0 -p "$cl" -S "$here/clones.sets" --need 40000 --pages &&
	has sets_all '^need 40000: evict big \(pid 4003\), tmpl-a \(pid 4001\), tmpl-b \(pid 4002\): frees 42000, moves 52000$'
run sets_all_pervm 1 -p "$cl" --need 40000 --pages &&
	has sets_all_pervm '^need 40000: no set of VMs is known to free that much$'
run sets_toomuch 1 -p "$cl" -S "$here/clones.sets" --need 42001 --pages &&
	has sets_toomuch '^need 42001: no set of VMs is known to free that much$'
run sets_json 0 -p "$cl" --sets "$here/clones.sets" --need 12000 --pages --json &&
	jq_is sets_json '.need == {"pages": 12000, "found": true, "pids": [4001, 4002], "freed": 12000, "freed_exact": true, "moved": 22000, "exact_search": true, "candidates": 3, "method": "sets", "sets_ignored": null}'
jq_is sets_json/uuid '[.vms[].uuid] == ["00000000-0000-4000-8000-000000004003", "00000000-0000-4000-8000-000000004001", "00000000-0000-4000-8000-000000004002"]'
# The sets file read at another moment than the rows: not used, and why
run sets_stale 0 -p "$here/clones-later.txt" --sets "$here/clones.sets" --need 12000 --pages &&
	has sets_stale '^need 12000: evict big \(pid 4003\): frees at least 30000' &&
	has sets_stale/why 'sets file not used: pid 4001: self_shared \+ inter_shared 10050, but its sets add up to 10000 pages$'
run sets_stale_json 0 -p "$here/clones-later.txt" --sets "$here/clones.sets" --need 12000 --pages --json &&
	jq_is sets_stale_json '.need.method == "per_vm" and .need.freed_exact == false and (.need.sets_ignored | startswith("pid 4001:"))'
# "*": sets of more than max_members (2) VMs, here all four. Two VMs: exact;
# three: at least (the "*" pages might all be theirs); all four: exact again
st=$here/star.txt
run star_two 0 -p "$st" -S "$here/star.sets" --need 350 --pages &&
	has star_two '^need 350: evict qemu-system-x86 \(pid 5001\), qemu-system-x86 \(pid 5002\): frees 350, moves 800$'
run star_three 0 -p "$st" -S "$here/star.sets" --need 400 --pages &&
	has star_three '^need 400: evict .*\(pid 5003\), .*\(pid 5001\), .*\(pid 5002\): frees at least 450, moves 1050$' &&
	has star_three/why "^  at least: the sets file does not say which VMs map its '\*' pages"
run star_all 0 -p "$st" -S "$here/star.sets" --need 600 --pages --json &&
	jq_is star_all '.need.freed == 700 and .need.freed_exact and (.need.pids | length == 4)'
run sets_malformed 3 -p "$cl" --sets "$here/sets-bad.sets" --need 1 &&
	has sets_malformed '^ksm-victim: .*sets-bad.sets: line 5: pids not ascending at 4001$' "$tmp/err"
run sets_missing 3 -p "$cl" --sets "$tmp/nonexistent" --need 1 && has sets_missing 'No such file' "$tmp/err"
# a saved /proc/ksm_vmshare is never paired with the live sets file
run sets_default 0 -p "$cl" --need 12000 --pages --json && jq_is sets_default '.need.method == "per_vm"'
# more VMs than the exact search covers: the heuristic, said so
{
	head -8 "$cl"
	echo '# pid unique self_shared inter_shared ksm_mapped predicted_freed comm'
	echo '4001 1000 0 10000 10000 1000 qemu-system-x86'
	echo '4002 1000 0 10000 10000 1000 qemu-system-x86'
	for i in $(seq 6001 6023); do echo "$i 30000 0 0 10000 30000 qemu-system-x86"; done
} >"$tmp/many.txt"
run sets_heuristic 0 -p "$tmp/many.txt" -S "$here/clones.sets" --need 12000 --pages &&
	has sets_heuristic '^need 12000: evict tmpl-a \(pid 4001\), tmpl-b \(pid 4002\): frees 12000, moves 22000 \(heuristic choice: 25 VMs, more than 20 to search them all\)$'
run sets_heuristic_json 0 -p "$tmp/many.txt" -S "$here/clones.sets" --need 12000 --pages --json &&
	jq_is sets_heuristic_json '.need.exact_search == false and .need.freed_exact and .need.candidates == 25'

# usage errors: exit 2, a message on stderr
run usage_option 2 --bogus && verdict usage_option ok
run usage_need 2 -p "$normal" --need 12Q && has usage_need "--need: '12Q' is not a size" "$tmp/err"
run usage_need_pages 2 -p "$normal" --need 1.5 --pages && verdict usage_need_pages ok
run usage_count 2 -p "$normal" --count 3 && has usage_count 'count needs --watch' "$tmp/err"
run usage_watch 2 -p "$normal" --watch 0 && verdict usage_watch ok
run usage_extra 2 -p "$normal" extra && has usage_extra "unexpected argument 'extra'" "$tmp/err"
run usage_sets 2 -p "$normal" --sets "$here/clones.sets" && has usage_sets 'sets is read by --need only' "$tmp/err"
run usage_json_prom 2 -p "$normal" --json --prometheus && has usage_json_prom 'choose one' "$tmp/err"
run usage_prom_need 2 -p "$normal" --prometheus --need 1G && has usage_prom_need 'prometheus has no --need' "$tmp/err"
run usage_output 2 -p "$normal" --output '' && has usage_output 'output: empty file name' "$tmp/err"
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
