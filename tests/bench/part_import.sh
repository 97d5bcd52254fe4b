#!/bin/sh
# Citizen import and segment count at 1,000,000 citizens. Environment (from tests/bench/bench.sh):
# LOA (the binary), LOA_CONFIG (a config whose database is migrated), BENCH_DIR (scratch).
# Prints key<TAB>value<TAB>unit<TAB>description:
#   demo_data_rows_per_s     `loa demo-data` writing 1,000,000 synthetic citizens
#   import_rows_per_s        `loa import citizens` of those rows into an empty citizens table
#   reimport_rows_per_s      the same file again: every row unchanged, nothing written
#   segment_count_ms         median of 5 `loa segment count` of a typical filter (household
#                            businesses in five communes, aged 18-60, not participating)
# BENCH_CITIZENS (1000000) changes the size.
set -eu
LOA=${LOA:?LOA is the loa binary}
: "${LOA_CONFIG:?LOA_CONFIG is a config with a migrated database}"
dir=${BENCH_DIR:?BENCH_DIR is a scratch directory}/import
n=${BENCH_CITIZENS:-1000000}
mkdir -p "$dir"
export LOA_CONFIG

now_ms() { date +%s%3N; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%d", (ms > 0 ? n * 1000 / ms : 0) }'; }
json_num() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

t0=$(now_ms)
"$LOA" demo-data --citizens "$n" --seed 1 --out "$dir/citizens.csv" >/dev/null
t1=$(now_ms)
printf 'demo_data_rows_per_s\t%s\trows/s\t%s\n' "$(rate "$n" $((t1 - t0)))" "loa demo-data writing $n synthetic citizens"

out=$("$LOA" import citizens "$dir/citizens.csv" --json)
t2=$(now_ms)
rows=$(echo "$out" | json_num rows)
imported=$(echo "$out" | json_num imported)
[ "$rows" = "$n" ] || { echo "part_import: expected $n rows, got: $out" >&2; exit 1; }
printf 'import_rows_per_s\t%s\trows/s\t%s\n' "$(rate "$n" $((t2 - t1)))" \
  "loa import citizens: $n rows ($imported new) into an empty table, one transaction, with ANALYZE"

"$LOA" import citizens "$dir/citizens.csv" --json >/dev/null
t3=$(now_ms)
printf 'reimport_rows_per_s\t%s\trows/s\t%s\n' "$(rate "$n" $((t3 - t2)))" \
  "loa import citizens of the same $n rows again (all unchanged)"

cat >"$dir/typical.json" <<'JSON'
{"all":[{"field":"group","eq":"household_business"},
        {"field":"commune_code","in":["23200","23203","23206","23221","23230"]},
        {"field":"age","between":[18,60]},
        {"field":"participation","eq":"none"}]}
JSON
"$LOA" segment create bench_typical --filter "$dir/typical.json" >/dev/null
ms=$(for i in 1 2 3 4 5; do "$LOA" segment count bench_typical --json | json_num elapsed_ms; done \
     | sort -n | sed -n 3p)
printf 'segment_count_ms\t%s\tms\t%s\n' "$ms" \
  "median of 5 segment counts (household businesses in 5 communes, age 18-60, participation none) over $n citizens"
