# Processes with hostile names: any unprivileged process can call itself
# anything and mark its memory mergeable. Each gets exactly one row, its
# name octal-escaped (interface.md), and ksm-victim still reads the file
# and prints nothing raw to the terminal.
. ../lib.sh

ksm_setup
module_load || exit 1
start_vms ./recipe || exit 1
nl='
'
tab='	'
# the name as given, then as the proc file must show it
set -- "a${nl}b" 'a\012b' \
	"tab${tab}here" 'tab\011here' \
	'back\slash' 'back\134slash' \
	'sp ace s' 'sp ace s' \
	'123456789012345' '123456789012345' \
	'quote"d' 'quote"d'
i=0
: >"$RUN/named"
while [ $# -gt 0 ]; do
	i=$((i + 1))
	mergers named "$1" 64 >"$RUN/named$i.log" 2>&1 &
	echo "$! $2" >>"$RUN/named"
	shift 2
done
wait_until 30 "the named processes to be ready" \
	sh -c "[ \$(cat $RUN/named*.log | grep -c '^ready ') = $i ]" || exit 1
wait_quiesce || exit 1
compare_module names/module
while read -r pid escaped; do
	rows=$(awk -v p="$pid" '$1 == p' "$RUN/module" | wc -l)
	check_eq "names/one_row/$pid" 1 "$rows"
	shown=$(sed -n "s/^$pid [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* //p" "$RUN/module")
	check_eq "names/escaped/$pid" "$escaped" "$shown"
done <"$RUN/named"
# every line of the file is a header line or a row
check_eq names/lines_parse 0 "$(grep -cvE '^(ksm_vmshare - version: [0-9]+|# .*|[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ .*)$' "$RUN/module")"
if ksm-victim --all --pages >"$RUN/victim.out" 2>"$RUN/victim.err"; then
	pass names/victim_reads
else
	fail names/victim_reads "exit $?: $(cat "$RUN/victim.err")"
fi
while read -r pid escaped; do
	if grep -q " $pid " "$RUN/victim.out"; then
		pass "names/victim_shows/$pid"
	else
		fail "names/victim_shows/$pid" "no row for pid $pid"
	fi
done <"$RUN/named"
# nothing but printable ASCII and newlines reaches the terminal
check_eq names/victim_output_safe 0 "$(LC_ALL=C tr -d '\n -~' <"$RUN/victim.out" | wc -c)"
kill $(awk '{ print $1 }' "$RUN/named")
stop_vms
exit $FAILED
