#!/bin/sh
# Runs the cache throughput workloads on edgeinfra and otter in
# alternation, one benchmark process at a time, and prints the median
# ns/op of each with its range and the ratio. Alternating rounds spread a
# noisy neighbour's effect over both caches instead of one.
#
#   ./compare-cache.sh [rounds] [cpus]      (defaults: 9 and 1,2)
set -eu
rounds=${1:-9}
cpus=${2:-1,2}
cd "$(dirname "$0")"
bin=$(mktemp -d)/bench.test
out=$(mktemp)
go test -c -o "$bin" .
i=0
while [ "$i" -lt "$rounds" ]; do
	for c in edgeinfra otter; do
		"$bin" -test.run '^$' -test.bench "^BenchmarkCache(Reads|HotReads|ReadWrite|Inserts)\$/$c\$" \
			-test.cpu "$cpus" -test.benchtime 500ms | grep '^Benchmark' >>"$out"
	done
	i=$((i + 1))
done
# BenchmarkCacheReads/edgeinfra-2  N  29.3 ns/op ...
awk '{
	split($1, a, "/"); w = a[1]; sub("BenchmarkCache", "", w)
	c = a[2]; cpu = 1
	if (match(c, /-[0-9]+$/)) { cpu = substr(c, RSTART + 1); c = substr(c, 1, RSTART - 1) }
	print w, cpu, c, $3
}' "$out" | sort -k1,1 -k2,2n -k3,3 -k4,4n | awk '
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
	v[++n] = $4
}
END {
	flush()
	printf "%-10s %4s  %-24s %-24s %s\n", "workload", "cpus", "edgeinfra ns/op (range)", "otter ns/op (range)", "ratio"
	for (i = 1; i <= k; i++) {
		e = order[i] " edgeinfra"; o = order[i] " otter"
		split(order[i], p, " ")
		printf "%-10s %4s  %7.1f (%5.1f-%5.1f)    %7.1f (%5.1f-%5.1f)    %.2f\n", p[1], p[2], med[e], lo[e], hi[e], med[o], lo[o], hi[o], med[e] / med[o]
	}
}'
