#!/bin/sh
# Template rendering throughput on one core: what the dispatcher does for every SMS (pick the
# language variant, render, unaccent when the variant asks, measure encoding and parts), over
# 1,000 varied citizens cycled to 5,000,000 renders. Prints key<TAB>value<TAB>unit<TAB>description.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build/tests/render_bench
[ -x "$bin" ] || { echo "part_render: $bin is missing (make build/tests/render_bench)" >&2; exit 1; }
"$bin" 5000000
"$bin" --unaccent 5000000
