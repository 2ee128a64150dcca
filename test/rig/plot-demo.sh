#!/bin/bash
# A picture of a demo run: each VM's memory as ksm_vmshare splits it
# (unique, self-shared, inter-shared), before and after the victim was
# stopped, from the rows the demo recorded. Needs gnuplot (gnuplot-nox).
#
#   plot-demo.sh RESULTS.txt OUT.png     (RESULTS: build/demo/RELEASE/results.txt
#                                         after ./run-demo)
set -euo pipefail

results=${1:?usage: plot-demo.sh RESULTS.txt OUT.png}
out=${2:?usage: plot-demo.sh RESULTS.txt OUT.png}
command -v gnuplot >/dev/null || { echo "plot-demo: install gnuplot-nox" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the guest's serial port ends lines with CR LF
tr -d '\r' <"$results" >"$tmp/results"
results=$tmp/results

# pid -> name, from ksm-victim's table in the demo's output
sed -n 's/^SHOW \([a-z][a-z0-9_-]*\) \{1,\}\([0-9]\{1,\}\) .*/\2 \1/p' "$results" | sort -u >"$tmp/names"
[ -s "$tmp/names" ] || { echo "plot-demo: no ksm-victim table in $results" >&2; exit 1; }
victim=$(sed -n 's/^DATA demo\/eviction victim pid \([0-9]*\) .*/\1/p' "$results")
release=$(sed -n 's/^BEGIN demo //p' "$results")
# one line per bar: label unique self inter (MiB; 4 KiB pages)
for when in before after; do
	sed -n "s|^DATA demo/$when/module \([0-9][0-9]*\) \([0-9]*\) \([0-9]*\) \([0-9]*\) .*|\1 \2 \3 \4|p" "$results" |
		sort -n | while read -r pid unique self inter; do
		name=$(awk -v p="$pid" '$1 == p { print $2 }' "$tmp/names")
		echo "\"$name\\n$when\" $((unique * 4 / 1024)).$((unique * 4 % 1024 * 10 / 1024)) $((self * 4 / 1024)).$((self * 4 % 1024 * 10 / 1024)) $((inter * 4 / 1024)).$((inter * 4 % 1024 * 10 / 1024))"
	done
	[ "$when" = after ] || echo '"" 0 0 0'
done >"$tmp/bars"
vname=$(awk -v p="$victim" '$1 == p { print $2 }' "$tmp/names")
gnuplot <<GNUPLOT
set terminal pngcairo size 900,520 font "sans,11" noenhanced
set output "$out"
set title "Memory per VM as ksm_vmshare splits it, before and after stopping $vname ($release)"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set ylabel "MiB"
set bmargin 4
set key top left box opaque
set offsets 0, 0, graph 0.25, 0
set yrange [0:*]
set grid ytics
plot "$tmp/bars" using 2:xtic(1) title "unique (goes with the VM)" lc rgb "#4477aa", \
     "" using 3 title "self-shared (goes with the VM)" lc rgb "#66ccee", \
     "" using 4 title "inter-shared (stays for the others)" lc rgb "#cc6677"
GNUPLOT
echo "$out"
