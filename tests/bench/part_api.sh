#!/bin/bash
# The dashboard's API with a 1,000,000-message campaign and 1,000,000 citizens. Environment (from
# tests/bench/bench.sh): LOA, LOA_CONFIG (a migrated, empty database; [http] listen on a free
# port), BENCH_DIR. Prints key<TAB>value<TAB>unit<TAB>description:
#   api_p95_ms             the slowest endpoint's 95th percentile over BENCH_API_REQUESTS (20)
#                          requests each (campaigns, campaign show, breakdowns, replies, segments,
#                          templates, coverage, audit), one client, bearer token
#   api_p95_ms_<endpoint>  each endpoint's
#   coverage_ms            median of 5 GET /api/v1/coverage?year=2026 over those citizens
# BENCH_API_CITIZENS (1000000) changes the size.
set -euo pipefail
LOA=${LOA:?LOA is the loa binary}
: "${LOA_CONFIG:?LOA_CONFIG is a config with a migrated database}"
dir=${BENCH_DIR:?BENCH_DIR is a scratch directory}/api
n=${BENCH_API_CITIZENS:-1000000}
reqs=${BENCH_API_REQUESTS:-20}
mkdir -p "$dir"
export LOA_CONFIG
URL=$(sed -n 's/^url = //p' "$LOA_CONFIG" | head -n 1)
LISTEN=$(sed -n 's/^listen = //p' "$LOA_CONFIG" | head -n 1)
BASE="http://$LISTEN"
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql"
sql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -A -t -d "$URL" "$@"; }

# Citizens spread over the reference communes and groups; one campaign with a message each,
# three in four delivered in May 2026; a reply per thousand; targets for every commune.
sql -v n="$n" <<'SQL'
INSERT INTO citizens (full_name, phone, commune_code, province_code, group_code, participation)
SELECT 'Công dân ' || i, '849' || lpad(i::text, 8, '0'), co.code, co.province_code,
       (ARRAY['farmer','student','informal_worker','household_business'])[1 + i % 4], 'none'
FROM generate_series(1, :n) i
JOIN LATERAL (SELECT code, province_code FROM communes ORDER BY code
              OFFSET (i % (SELECT count(*) FROM communes)) LIMIT 1) co ON true;
INSERT INTO segments (name, filter) VALUES ('all', '{"all":[]}');
INSERT INTO templates (name, channel) VALUES ('t', 'sms');
INSERT INTO template_variants SELECT id, 'vi', 'Xin chào {{full_name}}' FROM templates;
-- Materialised already, so the daemon's scheduler does not try to create its messages again.
INSERT INTO campaigns (name, segment_id, status, started_at, materialised)
SELECT 'bench', id, 'running', '2026-05-01 07:00+07', true FROM segments;
INSERT INTO campaign_channels SELECT c.id, 0, 'sms', t.id FROM campaigns c, templates t;
SELECT campaign_partition_ensure(id) FROM campaigns;
INSERT INTO messages (campaign_id, citizen_id, channel, state, parts, cost_vnd, submitted_at, final_at)
SELECT (SELECT id FROM campaigns), c.id, 'sms',
       CASE WHEN c.id % 4 = 0 THEN 'failed' ELSE 'delivered' END, 1, 500,
       '2026-05-01 07:00+07'::timestamptz + (c.id % 20) * interval '1 day',
       '2026-05-01 07:05+07'::timestamptz + (c.id % 20) * interval '1 day'
FROM citizens c;
INSERT INTO replies (channel, gateway, from_addr, citizen_id, campaign_id, body, intent)
SELECT 'sms', 'sink', c.phone, c.id, (SELECT id FROM campaigns), 'Cho hỏi', 'question'
FROM citizens c WHERE c.id % 1000 = 0;
INSERT INTO coverage_targets (year, commune_code, population, target_pct)
SELECT 2026, commune_code, count(*) * 2, 45 FROM citizens GROUP BY 1, 2;
ANALYZE;
SQL
token=$("$LOA" user add bench_admin --role admin --json | sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p')
cid=$(sql -c "SELECT id FROM campaigns")
sid=$(sql -c "SELECT id FROM segments")

"$LOA" serve >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

# ms of each of REQS requests to PATH, sorted.
times() {
  for _ in $(seq "$reqs"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $token" "$BASE/api/v1/$1"
  done | awk -v p="$1" '$1 != 200 { print "part_api: " p " answered " $1 > "/dev/stderr"; exit 1 }
                        { printf "%.1f\n", $2 * 1000 }' | sort -n
}
p95() { awk -f "$(dirname "$0")/p95.awk"; }

worst=0
for ep in "campaigns" "campaigns/$cid" "campaigns/$cid/breakdown?by=commune" "campaigns/$cid/breakdown?by=group" \
          "campaigns/$cid/breakdown?by=channel" "campaigns/$cid/breakdown?by=day" \
          "campaigns/$cid/conversions" "replies?unanswered=1" "segments" "segments/$sid/count" "templates" \
          "coverage?year=2026" "audit"; do
  v=$(times "$ep" | p95)
  name=$(echo "$ep" | sed "s#/$cid\(/\|\$\)#/ID\1#; s#/$sid/#/ID/#; s/[^a-zA-Z0-9]\+/_/g; s/_$//")
  printf 'api_p95_ms_%s\t%s\tms\tp95 of %s requests to /api/v1/%s over %s messages\n' "$name" "$v" "$reqs" "$ep" "$n"
  worst=$(awk -v a="$worst" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
done
printf 'api_p95_ms\t%s\tms\tthe slowest dashboard API call at the 95th percentile, %s messages\n' "$worst" "$n"
reqs=5
printf 'coverage_ms\t%s\tms\tmedian of 5 coverage requests for a year over %s citizens\n' \
  "$(times 'coverage?year=2026' | sed -n 3p)" "$n"
