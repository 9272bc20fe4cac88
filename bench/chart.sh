#!/usr/bin/env bash
# bench/chart.sh — a PNG bar chart of a mail results CSV (bench/mail.sh's
# columns), drawn by gnuplot (Debian's gnuplot-nox).
#
#   bench/chart.sh CSV PNG [TITLE]
#
# One group of bars per row that has a figure on the plain directory and
# a unit where more or less is better (counts and ratios are left out);
# one bar per other target that has a figure: how it does against the
# plain directory, turned so that above 1 is always better (higher-is-
# better: target/plain; lower-is-better: plain/target).  Log scale, a line
# at 1.  Exit: 0, 1 (nothing to draw, gnuplot failed), 2 usage.
set -uo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	sed -n '4,5s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
csv=$1 png=$2 title=${3:-ipmaildir mail benchmarks}
command -v gnuplot >/dev/null 2>&1 || { echo "bench/chart.sh: gnuplot not found (make deps)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipmd-chart.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The data: label, then one column per target (gocryptfs, ipmaildir,
# node; "?" where missing), and which of those columns have any figure.
awk -F, -v out="$tmp/data" -v cols="$tmp/cols" '
NR == 1 {
	for (i = 1; i <= NF; i++) ix[$i] = i
	ntg = split("gocryptfs ipmaildir node", tg, " ")
	next
}
{
	better = $ix["better"]; unit = $ix["unit"]; p = $ix["plain"]
	if (unit == "count" || unit == "ratio" || p == "" || p + 0 == 0) next
	if (better != "higher" && better != "lower") next
	label = $ix["workload"] ": " $ix["metric"]
	gsub(/^ +| +$/, "", label); gsub(/"/, "", label)
	if (length(label) > 46) label = substr(label, 1, 44) ".."
	line = "\"" label "\""
	any = 0
	for (k = 1; k <= ntg; k++) {
		v = (tg[k] in ix) ? $ix[tg[k]] : ""
		if (v == "" || v + 0 == 0) { line = line " ?"; continue }
		r = better == "higher" ? v / p : p / v
		line = line " " sprintf("%.4f", r)
		has[k] = 1; any = 1
	}
	if (any) { print line > out; n++ }
}
END {
	for (k = 1; k <= ntg; k++) if (has[k]) printf "%d %s\n", k + 1, tg[k] > cols
	if (!n) exit 1
}' "$csv" || { echo "bench/chart.sh: nothing to draw in $csv" >&2; exit 1; }

rows=$(wc -l <"$tmp/data")
width=$((560 + rows * 44))
plots=
while read -r col name; do
	case $name in
	gocryptfs) color='#9e9e9e' ;;
	ipmaildir) color='#1f77b4' ;;
	*) color='#ff7f0e' ;;
	esac
	# The first series names the groups.
	if [ -z "$plots" ]; then
		plots="'$tmp/data' using $col:xtic(1) title '$name' lc rgb '$color'"
	else
		plots="$plots, '$tmp/data' using $col title '$name' lc rgb '$color'"
	fi
done <"$tmp/cols"

gnuplot <<EOF || { echo "bench/chart.sh: gnuplot failed" >&2; exit 1; }
set terminal pngcairo size $width,760 font "DejaVu Sans,10"
set output '$png'
set title "$title\nagainst the plain directory, same run (above 1 = better than plain)"
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.02:4]
set ytics ("1/32" 0.03125, "1/16" 0.0625, "1/8" 0.125, "1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4)
set grid ytics
set xtics rotate by -40 left font ",9" nomirror
set bmargin 14
set rmargin 24
set key top right
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb '#2ca02c'
plot $plots
EOF
[ -s "$png" ] || { echo "bench/chart.sh: no $png" >&2; exit 1; }
