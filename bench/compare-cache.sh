#!/bin/sh
# Runs the cache throughput workloads on edgeinfra and otter in
# alternation, one benchmark process at a time, and prints for each the
# median ns/op of both caches with their ranges, the ratio of the medians
# and the median of the per-round ratios. Alternating rounds spread a
# noisy neighbour's effect over both caches instead of one, and a round's
# ratio compares two runs made seconds apart.
#
#   ./compare-cache.sh [rounds] [cpus]      (defaults: 9 and 1,2)
set -eu
rounds=${1:-9}
cpus=${2:-1,2}
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/bench.test" .
i=0
while [ "$i" -lt "$rounds" ]; do
	for c in edgeinfra otter; do
		"$tmp/bench.test" -test.run '^$' -test.bench "^BenchmarkCache(Reads|HotReads|ReadWrite|Inserts)\$/$c\$" \
			-test.cpu "$cpus" -test.benchtime 500ms | grep '^Benchmark' | sed "s/^/$i /" >>"$tmp/raw"
	done
	i=$((i + 1))
done
# 3 BenchmarkCacheReads/edgeinfra-2  N  29.3 ns/op ...  ->  Reads 2 edgeinfra 3 29.3
awk '{
	split($2, a, "/"); w = a[1]; sub("BenchmarkCache", "", w)
	c = a[2]; cpu = 1
	if (match(c, /-[0-9]+$/)) { cpu = substr(c, RSTART + 1); c = substr(c, 1, RSTART - 1) }
	print w, cpu, c, $1, $4
}' "$tmp/raw" >"$tmp/runs"
# Per-round ratios, as a third "cache" named ratio.
awk '{ v[$1 " " $2 " " $4, $3] = $5; k[$1 " " $2 " " $4] = 1 }
END { for (x in k) if ((x, "edgeinfra") in v && (x, "otter") in v) {
	split(x, p, " "); print p[1], p[2], "ratio", p[3], v[x, "edgeinfra"] / v[x, "otter"] } }' "$tmp/runs" >>"$tmp/runs"
sort -k1,1 -k2,2n -k3,3 -k5,5g "$tmp/runs" | awk '
function flush() {
	if (n == 0) return
	m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	med[prev] = m; lo[prev] = v[1]; hi[prev] = v[n]
	if (!(pwc in seen)) { seen[pwc] = 1; order[++k] = pwc }
	n = 0
}
{
	wc = $1 " " $2; key = wc " " $3
	if (key != prev) { flush(); prev = key; pwc = wc }
	v[++n] = $5
}
END {
	flush()
	printf "%-9s %4s  %-24s %-24s %-6s %s\n", "workload", "cpus", "edgeinfra ns/op (range)", "otter ns/op (range)", "ratio", "per-round ratio: median (range)"
	for (i = 1; i <= k; i++) {
		e = order[i] " edgeinfra"; o = order[i] " otter"; r = order[i] " ratio"
		split(order[i], p, " ")
		printf "%-9s %4s  %7.1f (%5.1f-%5.1f)    %7.1f (%5.1f-%5.1f)    %.2f   %.2f (%.2f-%.2f)\n", p[1], p[2], med[e], lo[e], hi[e], med[o], lo[o], hi[o], med[e] / med[o], med[r], lo[r], hi[r]
	}
}'
