# The 95th percentile (nearest rank) of the numbers on standard input, one a line, sorted
# ascending: `sort -n | awk -f p95.awk`. Shared by bench.sh and part_api.sh.
{ v[NR] = $1 }
END { i = int(NR * 0.95 + 0.999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }
