#!/bin/bash
# The bench's reads against size as a CSV and a picture: for each kernel
# make bench booted, the time of reading /proc/ksm_vmshare, of reading
# /proc/ksm_vmshare_sets and of one ksm-oracle run against the VMs' memory
# (its "bench/scale" lines). Needs gnuplot (gnuplot-nox).
#
#   plot-bench.sh OUT_DIR RESULTS.txt...    (build/results/*/bench/results.txt)
#
# Writes OUT_DIR/scale.csv (every point of every kernel) and
# OUT_DIR/read-vs-memory.png.
set -euo pipefail

usage="usage: plot-bench.sh OUT_DIR RESULTS.txt..."
out=${1:?$usage}
shift
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot-bench: install gnuplot-nox" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "kernel,point,pages,vms,mappings,proc_read_instr,sets_read_instr,oracle_instr,shadow_bytes,slab_bytes" >"$out/scale.csv"
plots=()
for results in "$@"; do
	# the guest's serial port ends lines with CR LF
	release=$(tr -d '\r' <"$results" | sed -n 's/^BEGIN bench //p')
	[ -n "$release" ] || { echo "plot-bench: no bench run in $results" >&2; exit 1; }
	tr -d '\r' <"$results" | sed -n 's/^DATA bench\/scale //p' >"$tmp/$release"
	[ -s "$tmp/$release" ] || { echo "plot-bench: no scale points in $results" >&2; exit 1; }
	tr ' ' ',' <"$tmp/$release" | sed "s/^/$release,/" >>"$out/scale.csv"
	# the memory points (four VMs): MiB from the label
	grep 'MiB ' "$tmp/$release" | sed 's/MiB / /' >"$tmp/$release.mem"
	plots+=("'$tmp/$release.mem' using 1:(\$5/1000) with linespoints title '$release: /proc/ksm_vmshare read'"
		"'$tmp/$release.mem' using 1:(\$6/1000) with linespoints title '$release: sets read'"
		"'$tmp/$release.mem' using 1:(\$7/1000) with linespoints title '$release: ksm-oracle'")
done
(IFS=,; echo "plot ${plots[*]}") >"$tmp/plot"
gnuplot <<GNUPLOT
set terminal pngcairo size 900,520 font "sans,11" noenhanced
set output "$out/read-vs-memory.png"
set title "Reading the per-VM figures against the VMs' memory (four VMs; make bench, -icount)"
set logscale xy
set xlabel "memory of the four VMs (MiB)"
set ylabel "thousands of guest instructions"
set xtics (64, 256, 1024, 2048)
set xrange [48:2800]
set grid
set key right center box opaque
load "$tmp/plot"
GNUPLOT
echo "$out/read-vs-memory.png"
