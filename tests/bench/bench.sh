#!/bin/bash
# `make bench`: loa's figures on this machine, printed as one table and written to
# var/bench.json (one key per figure, plus "machine"); `make bench-scale` (BENCH_MODE=scale)
# adds the 1,000,000-citizen figures to the same file.
#
#   sink_ceiling_msgs_per_s   what the sink answers, measured with wrk -t2 -c50 -d5s: the
#                             ceiling of any figure below on this machine
#   e2e_msgs_per_s            a 100,000-citizen SMS campaign through `loa serve` to the sink
#                             (a gateway of type kannel): `campaign start` to the last message
#                             submitted (the latest submitted_at of its rows)
#   peak_rss_kb_10k / _100k   the daemon's peak resident memory (VmHWM) in the 10k / 100k runs
#   loa_cpu_us_per_msg        CPU time of `loa serve` per message in the 100k run (/proc/PID/stat)
#   pg_cpu_us_per_msg         CPU time of PostgreSQL per message in that run: the postmaster and
#                             every process under it (backends, writers, autovacuum)
#   ratio                     e2e_msgs_per_s / sink_ceiling_msgs_per_s
#   dlr_per_s                 Kannel delivery reports (GETs of their dlr-url) answered a second, wrk
#                             -t2 -c64 for 5 s at `loa serve` after the 100k run (dlr_loa_cpu_us,
#                             dlr_pg_cpu_us: CPU per report)
#   throttle_rate_100/_2000   parts/s achieved against the sink at those settings (one-part SMS)
#   throttle_rate_k300        the same against real Kannel (tests/kannel.sh), concurrency 10
#   throttle_error_pct        the worst |achieved - set| / set of those three runs
#   throttle_burst_excess_pct the busiest second above set + burst (rate / 10), in % of the rate
#   kannel_rate_achieved_pct  achieved / set against real Kannel
# bench-scale: materialise_1m_s, e2e_msgs_per_s_1m, peak_rss_kb_1m, show_p95_ms_1m (`loa campaign
# show` while it sends), bytes_per_msg_1m (the partition with its indexes), archive_1m_s.
# then every executable tests/bench/part_*.sh, run with LOA (the binary), LOA_CONFIG (a config
# whose database is migrated and empty) and BENCH_DIR (a scratch directory); each prints lines
#   key<TAB>value<TAB>unit<TAB>description
#
# The benchmark takes little of what it measures: while a campaign sends it runs one query a
# second on one psql process kept for the run, and nothing else.
#
# PostgreSQL runs with fsync on, as in production. Environment: BENCH_SIZES ("10000 100000"),
# BENCH_TIMEOUT (seconds a campaign may take; default 60 + citizens / 100), BENCH_PARTS (0: skip
# the part_*.sh scripts), BENCH_THROTTLE_SECONDS (20; 0 skips the throttle runs),
# BENCH_SCALE_CITIZENS (1000000).
set -u
cd "$(dirname "$0")/../.."
REPO=$(pwd)
LOA=${LOA:-$REPO/build/loa}
SINK=$REPO/build/tests/sink
BENCH_DIR=${BENCH_DIR:-$REPO/var/bench}
PGDIR=$REPO/var/bench-pg
JSON=$REPO/var/bench.json
BENCH_SIZES=${BENCH_SIZES:-10000 100000}

# tests/pg.sh from /: as root it runs PostgreSQL's tools as the user `loa`, who may not be
# able to enter the checkout (under /root, say).
pg_sh() { (cd / && "$REPO/tests/pg.sh" "$@"); }

mkdir -p "$BENCH_DIR" "$REPO/var"
# One binary for the whole run, even if build/loa is rebuilt meanwhile.
cp "$LOA" "$BENCH_DIR/loa" || { echo "bench: $LOA is missing (make build/loa)" >&2; exit 1; }
LOA=$BENCH_DIR/loa

# As root the cluster belongs to the user `loa` (tests/pg.sh), who must be able to reach its
# directory. When the checkout is somewhere it cannot (under /root, say), the cluster lives
# under /var/tmp instead, and var/bench-pg links to it.
cluster_dir() {
  local want=$1 parent alt
  [ "$(id -u)" -eq 0 ] || { echo "$want"; return; }
  id loa >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin loa
  parent=$(dirname "$want")
  mkdir -p "$parent"
  if [ ! -L "$want" ] && runuser -u loa -- test -x "$parent"; then echo "$want"; return; fi
  alt=/var/tmp/loa-$(basename "$want")-$(printf '%s' "$REPO" | md5sum | cut -c1-8)
  mkdir -p "$alt"
  chmod 755 "$alt"
  if [ ! -L "$want" ]; then rmdir "$want" 2>/dev/null || true; ln -sfn "$alt" "$want"; fi
  echo "$alt"
}
rm -f "$BENCH_DIR"/*.conf "$BENCH_DIR"/*.log

# ---------------------------------------------------------------------------------------------
# Figures: kept in order, each with a value (or the reason it was not measured), unit, target.
# The targets are the ones the issues set; figures from part scripts get theirs from this table.
declare -A PART_TARGET=([import_rows_per_s]=">= 200000" [segment_count_ms]="< 200"
                        [render_msgs_per_s]=">= 1000000" [api_p95_ms]="< 50" [coverage_ms]="< 500")
declare -a F_KEYS=()
declare -A F_VAL=() F_UNIT=() F_TARGET=() F_DESC=() F_WHY=()
figure() {  # KEY VALUE UNIT TARGET DESCRIPTION
  [ -n "${F_UNIT[$1]+x}" ] || F_KEYS+=("$1")
  F_VAL[$1]=$2; F_UNIT[$1]=$3; F_TARGET[$1]=$4; F_DESC[$1]=$5
}
not_measured() {  # KEY UNIT TARGET DESCRIPTION WHY
  figure "$1" "" "$2" "$3" "$4"
  F_WHY[$1]=$5
}
problems=()
problem() { problems+=("$*"); echo "bench: $*" >&2; }

SINK_PID="" DAEMON_PID=""
cleanup() {
  query_close
  [ -n "$DAEMON_PID" ] && stop_daemon
  kannel_stop
  [ -n "$SINK_PID" ] && kill -TERM "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
  pg_sh stop "${PGREAL:-$PGDIR}" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
calc() { awk "BEGIN { printf \"%.${2:-0}f\", $1 }"; }

# ---------------------------------------------------------------------------------------------
# The machine
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
CORES=$(nproc)
MEM_KB=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
MEM_GB=$(calc "$MEM_KB / 1048576" 1)
OS=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGVER=$("$PGBIN/postgres" --version 2>/dev/null | awk '{print $3}')
echo "machine: $CPU, $CORES cores, $MEM_GB GiB, $OS, PostgreSQL $PGVER"

# ---------------------------------------------------------------------------------------------
echo "== PostgreSQL in $PGDIR (fsync on)"
PGREAL=$(cluster_dir "$PGDIR")
[ "$PGREAL" = "$PGDIR" ] || echo "(user loa cannot reach $REPO/var: the cluster is in $PGREAL)"
if ! CLUSTER_URL=$(PG_FSYNC=on pg_sh start "$PGREAL"); then
  echo "bench: the PostgreSQL cluster did not start (see above)" >&2
  exit 1
fi
psql_admin() { PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(url_for postgres)" "$@"; }
url_for() { echo "$CLUSTER_URL" | sed "s|^postgresql:///loa?|postgresql:///$1?|"; }

# fresh_db NAME: drops and creates database NAME, migrated.
fresh_db() {
  psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null || return 1
  printf '[database]\nurl = %s\n' "$(url_for "$1")" >"$BENCH_DIR/migrate.conf"
  "$LOA" -c "$BENCH_DIR/migrate.conf" db migrate >"$BENCH_DIR/migrate-$1.log" 2>&1 \
    || { cat "$BENCH_DIR/migrate-$1.log" >&2; return 1; }
}
# p95 V...: the 95th percentile of the values (the nearest rank).
p95() { printf '%s\n' "$@" | sort -n | awk -f "$REPO/tests/bench/p95.awk"; }

# ---------------------------------------------------------------------------------------------
echo "== the sink's ceiling (wrk -t2 -c50 -d5s)"
SINK_PORT=$(free_port)
"$SINK" "$SINK_PORT" >"$BENCH_DIR/sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$SINK_PORT/count" >/dev/null && break; sleep 0.1; done
SINK_URL="http://127.0.0.1:$SINK_PORT/cgi-bin/sendsms"
CEILING=""
if ! command -v wrk >/dev/null; then
  not_measured sink_ceiling_msgs_per_s msg/s "above e2e" "sink answers per second (wrk)" "wrk is not installed"
elif wrk -t2 -c50 -d5s "$SINK_URL?username=bench&password=bench&to=84912345678&text=x" >"$BENCH_DIR/wrk.log" 2>&1; then
  CEILING=$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$BENCH_DIR/wrk.log")
  figure sink_ceiling_msgs_per_s "$(calc "$CEILING")" msg/s "above e2e" "sink answers per second (wrk -t2 -c50, same machine)"
else
  cat "$BENCH_DIR/wrk.log" >&2
  not_measured sink_ceiling_msgs_per_s msg/s "above e2e" "sink answers per second (wrk)" "wrk failed"
fi
sink_count() { curl -s "http://127.0.0.1:$SINK_PORT/count"; }

# ---------------------------------------------------------------------------------------------
# Campaigns through the daemon. While one sends, the benchmark takes as little as it can of the
# two cores it measures: one psql process for the whole run answers one light query a second
# (the campaign's counters), bash's own clock ($EPOCHREALTIME) times it, and the figures are read
# afterwards from the database (every message's submitted_at) and /proc (the CPU each process
# used), not sampled during the run.
HOOK_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
# bench_config FILE DBNAME HTTP_PORT URL USER PASS RATE CONCURRENCY
bench_config() {
  cat >"$1" <<EOC
[database]
url = $(url_for "$2")
${BENCH_POOL_SIZE:+pool_size = $BENCH_POOL_SIZE}

[http]
listen = 127.0.0.1:$3
public_url = http://127.0.0.1:$3

[policy]
window = 00:00-24:00
frequency_cap = 1000/1d
approval_threshold = 1000000000

[gateway.sink]
type = kannel
sendsms_url = ${4:-$SINK_URL}
username = ${5:-bench}
password = ${6:-bench}
sender = BHXH
rate = ${7:-100000}
concurrency = ${8:-64}
webhook_secret = $HOOK_SECRET
EOC
}

# The campaigns' text: the Vietnamese one (UCS-2, 3 parts) for the end-to-end figures, a plain
# one-part text for the throttle, whose rate counts parts.
TEMPLATE='{{salutation}} {{given_name}} ơi, BHXH xã {{commune_name}} nhắc: tháng 5 là tháng vận động BHXH toàn dân, đóng BHXH tự nguyện để có lương hưu. {{opt_out_hint}}'
TEMPLATE_1PART='BHXH nhac: thang 5 la thang van dong BHXH toan dan, dong BHXH tu nguyen de co luong huu.'

usec() { echo "${EPOCHREALTIME/./}"; }

# step NAME ARGS...: runs `loa -c $RUN_CONF ARGS`, logging; on failure says which step and why.
step() {
  local name=$1 out="$BENCH_DIR/step.out" err="$BENCH_DIR/step.err" rc
  shift
  "$LOA" -c "$RUN_CONF" "$@" >"$out" 2>"$err"
  rc=$?
  cat "$out" "$err" >>"$RUN_LOG"
  if [ "$rc" -ne 0 ]; then
    RUN_FAILED="step '$name' failed: loa $* (exit $rc: $(cat "$err" "$out" | head -n 1))"
    return 1
  fi
}

# The one psql of a run: query_open URL, then query SQL sets Q (one line, fields separated by
# spaces). psql writes each result as soon as it has it.
query_open() {
  coproc QUERY { exec "$PGBIN/psql" -X -q -A -t -F ' ' -v ON_ERROR_STOP=0 -d "$1" 2>&1; }
}
query() {
  Q=""
  printf '%s\n' "$1" >&"${QUERY[1]}" || return 1
  IFS= read -r -t 30 Q <&"${QUERY[0]}"
}
query_close() {
  [ -n "${QUERY_PID:-}" ] || return 0
  printf '\\q\n' >&"${QUERY[1]}" 2>/dev/null
  wait "$QUERY_PID" 2>/dev/null
  QUERY_PID=""
}

# CPU time in clock ticks: of process PID (cpu_ticks), of the cluster's postmaster and every
# process under it (pg_ticks_snapshot into the array named by $1, pg_ticks_since ARRAY: the
# ticks used since that snapshot, counting a backend started since in full).
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {
  local st
  read -r st <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
  st=${st##*) }
  # shellcheck disable=SC2086
  set -- $st
  echo $(( ${12} + ${13} ))
}
postmaster_pid() { head -n 1 "$PGREAL/data/postmaster.pid"; }
pg_pids() { local pm; pm=$(postmaster_pid); echo "$pm"; pgrep -P "$pm"; }
declare -A PG_T0=()
pg_ticks_snapshot() {
  PG_T0=()
  local pid
  for pid in $(pg_pids); do PG_T0[$pid]=$(cpu_ticks "$pid"); done
}
pg_ticks_since() {
  local pid sum=0 t
  for pid in $(pg_pids); do
    t=$(cpu_ticks "$pid")
    sum=$((sum + t - ${PG_T0[$pid]:-0}))
  done
  echo "$sum"
}

# run_campaign LABEL N [RATE CONCURRENCY [URL USER PASS]]: a campaign of N citizens through
# `loa serve`, to the sink or (URL given) to another sendsms. Sets RUN_FAILED, or:
#   RUN_E2E (msg/s from `campaign start` to the last submission), RUN_RSS (kB), RUN_TARGETED,
#   RUN_LOA_US / RUN_PG_US (CPU µs per message: the daemon; PostgreSQL, all its processes),
#   RUN_RATE (parts/s achieved between the first and the last submission), RUN_MAX_1S (most
#   parts submitted in one second), RUN_MAT_S (seconds to materialise), RUN_SHOW_P95_MS (with
#   BENCH_SHOW=1: `loa campaign show` while sending), RUN_BYTES (message partition bytes per
#   message, with its indexes), RUN_ARCHIVE_S (with BENCH_ARCHIVE=1: `loa campaign archive`).
run_campaign() {
  local label=$1 n=$2 rate=${3:-} conc=${4:-} url=${5:-} user=${6:-} pass=${7:-}
  local db="bench_$label" conf="$BENCH_DIR/campaign_$label.conf" port csv
  RUN_CONF=$conf RUN_LOG="$BENCH_DIR/campaign_$label.log"
  RUN_FAILED="" RUN_E2E="" RUN_RSS="" RUN_TARGETED="" RUN_LOA_US="" RUN_PG_US="" RUN_RATE="" RUN_MAX_1S=""
  RUN_MAT_S="" RUN_SHOW_P95_MS="" RUN_BYTES="" RUN_ARCHIVE_S="" RUN_API_P95_MS="" RUN_SHOW_IDLE_MS=""
  : >"$RUN_LOG"
  echo "== campaign $label: $n citizens${rate:+, rate $rate, concurrency $conc}${url:+, $url}"
  fresh_db "$db" || { RUN_FAILED="could not create and migrate database $db"; return 1; }
  port=${BENCH_PORT:-$(free_port)}
  bench_config "$conf" "$db" "$port" "$url" "$user" "$pass" "$rate" "$conc"
  csv="$BENCH_DIR/citizens_$n.csv"
  local L=("$LOA" -c "$conf")
  [ -s "$csv" ] || step "demo-data" demo-data --citizens "$n" --seed 42 --out "$csv" || return 1
  step "import citizens" import citizens "$csv" || return 1
  echo '{"all":[]}' >"$BENCH_DIR/everyone.json"
  step "segment create" segment create everyone --filter "$BENCH_DIR/everyone.json" || return 1
  if [ -n "$rate" ]; then printf '%s\n' "$TEMPLATE_1PART"; else printf '%s\n' "$TEMPLATE"; fi >"$BENCH_DIR/template.txt"
  step "template create" template create bench_sms --channel sms --file "$BENCH_DIR/template.txt" || return 1
  step "campaign create" campaign create "bench_$label" --segment everyone \
    --channels sms@sink:bench_sms --window 00:00-24:00 --per-phone all || return 1

  # With BENCH_SHOW=1 the dashboard's view of the campaign is timed too: a token for it.
  local token=""
  if [ "${BENCH_SHOW:-0}" = 1 ]; then
    step "user add" user add "bench_$label" --role supervisor --json || return 1
    token=$(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' "$BENCH_DIR/step.out")
  fi

  "${L[@]}" serve >"$BENCH_DIR/daemon_$label.log" 2>&1 &
  DAEMON_PID=$!
  local ok=0
  for _ in $(seq 300); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then ok=1; break; fi
    sleep 0.1
  done
  if [ "$ok" -ne 1 ]; then
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
      RUN_FAILED="step 'loa serve' failed: /healthz did not answer 200 within 30 s (see $BENCH_DIR/daemon_$label.log)"
      kill -TERM "$DAEMON_PID" 2>/dev/null
    else
      RUN_FAILED="step 'loa serve' failed: it exited: $(head -n 1 "$BENCH_DIR/daemon_$label.log") (see $BENCH_DIR/daemon_$label.log)"
    fi
    wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
    return 1
  fi

  local sink0; sink0=$(sink_count)
  query_open "$(url_for "$db")"
  local poll="SELECT k.id, k.materialised::int, k.status, COALESCE(sum(c.n) FILTER (WHERE c.state <> 'fallback'), 0),
                     COALESCE(sum(c.n) FILTER (WHERE c.state IN ('pending', 'leased', 'retry_wait')), 0)
                FROM campaigns k LEFT JOIN campaign_counters c ON c.campaign_id = k.id
               WHERE k.name = 'bench_$label' GROUP BY k.id;"
  pg_ticks_snapshot
  local loa0 t0 t_mat="" expected
  loa0=$(cpu_ticks "$DAEMON_PID")
  t0=$(usec)
  step "campaign start" campaign start "bench_$label" --json || { query_close; stop_daemon; return 1; }
  expected=$(sed -n 's/.*"segment_size": *\([0-9]*\).*/\1/p' "$BENCH_DIR/step.out")
  [[ "$expected" =~ ^[0-9]+$ ]] || expected=$n
  local timeout=${BENCH_TIMEOUT:-$((60 + n / 100 + (${rate:-0} > 0 ? n * 3 / 2 / ${rate:-1} : 0)))}
  local deadline=$((t0 + timeout * 1000000)) done_=0 cid=0 mat=0 status="" targeted=0 pending=0 last=""
  local -a show_ms=() api_ms=()
  printf 'seconds\ttargeted\tpending\n' >"$BENCH_DIR/progress_$label.tsv"
  while [ "$(usec)" -lt "$deadline" ]; do
    if ! query "$poll" || ! read -r cid mat status targeted pending <<<"$Q" || ! [[ "$pending" =~ ^[0-9]+$ ]]; then
      RUN_FAILED="the progress query failed: $Q"; query_close; stop_daemon; return 1
    fi
    local t=$(( $(usec) - t0 ))
    printf '%d.%02d\t%s\t%s\n' $((t / 1000000)) $((t % 1000000 / 10000)) "$targeted" "$pending" >>"$BENCH_DIR/progress_$label.tsv"
    if [ "$mat" = 1 ] && [ -z "$t_mat" ]; then t_mat=$t; fi
    if [ "$mat" = 1 ] && [ "$targeted" -ge "$expected" ] && [ "$pending" -eq 0 ]; then done_=1; break; fi
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
      RUN_FAILED="loa serve exited during the campaign (see $BENCH_DIR/daemon_$label.log)"; DAEMON_PID=""; query_close; return 1
    fi
    last="$targeted targeted, $pending pending"
    if [ "${BENCH_SHOW:-0}" = 1 ] && [ "$mat" = 1 ] && [ "$pending" -gt 0 ]; then
      local s0; s0=$(usec)
      "${L[@]}" campaign show "bench_$label" --json >/dev/null 2>>"$RUN_LOG"
      show_ms+=($(( ($(usec) - s0) / 1000 )))
      # The same JSON from GET /api/v1/campaigns/ID: the daemon's pooled connections, no process.
      local code tt
      read -r code tt < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
                            -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/campaigns/$cid")
      [ "$code" = 200 ] && api_ms+=("$(calc "$tt * 1000" 1)")
    fi
    # A quarter of a second until materialised (that time is a figure), a second after.
    if [ -z "$t_mat" ]; then sleep 0.25; else sleep 1; fi
  done
  local loa_ticks pg_ticks
  loa_ticks=$(( $(cpu_ticks "$DAEMON_PID") - loa0 ))
  pg_ticks=$(pg_ticks_since)
  RUN_RSS=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$DAEMON_PID/status" 2>/dev/null)
  if [ "$done_" -ne 1 ]; then
    RUN_FAILED="the campaign did not finish submitting within ${timeout} s ($last)"
    query_close; stop_daemon; return 1
  fi
  RUN_TARGETED=$targeted
  # The figures, from the rows: submitted_at is when the answer was recorded (batches of 5 ms).
  query "SELECT extract(epoch FROM max(submitted_at))::numeric(20,6), extract(epoch FROM max(submitted_at) - min(submitted_at))::numeric(20,6),
                sum(parts) - (array_agg(parts ORDER BY submitted_at))[1], count(*)
           FROM messages WHERE campaign_id = $cid AND submitted_at IS NOT NULL;"
  local t_last span parts nsub
  read -r t_last span parts nsub <<<"$Q"
  query "SELECT COALESCE(max(p), 0) FROM (SELECT sum(parts) AS p FROM messages WHERE campaign_id = $cid
           AND submitted_at IS NOT NULL GROUP BY date_trunc('second', submitted_at)) s;"
  RUN_MAX_1S=$Q
  query "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'messages'::regclass;"
  local bytes=$Q
  RUN_E2E=$(calc "$targeted / ($t_last - $t0 / 1000000)")
  [ -n "$rate" ] && RUN_RATE=$(calc "$parts / $span" 1)
  RUN_LOA_US=$(calc "$loa_ticks * 1000000 / $CLK_TCK / $targeted")
  RUN_PG_US=$(calc "$pg_ticks * 1000000 / $CLK_TCK / $targeted")
  RUN_MAT_S=$(calc "$t_mat / 1000000" 2)
  RUN_BYTES=$(calc "$bytes / $targeted")
  if [ ${#show_ms[@]} -gt 0 ]; then
    RUN_SHOW_P95_MS=$(p95 "${show_ms[@]}")
  fi
  if [ ${#api_ms[@]} -gt 0 ]; then
    RUN_API_P95_MS=$(p95 "${api_ms[@]}")
  fi
  echo "   $targeted messages ($nsub submitted) in $(calc "$t_last - $t0 / 1000000" 2) s ($RUN_E2E msg/s); peak RSS $RUN_RSS kB;" \
       "CPU/msg: loa $RUN_LOA_US µs, PostgreSQL $RUN_PG_US µs${rate:+; $RUN_RATE parts/s achieved, at most $RUN_MAX_1S in a second}"
  if [ "${BENCH_ARCHIVE:-0}" = 1 ]; then
    # The daemon completes the campaign on its next pass; archiving needs it completed.
    for _ in $(seq 60); do
      query "SELECT status FROM campaigns WHERE id = $cid;"
      [ "$Q" = completed ] && break
      sleep 1
    done
    # campaign show once sending is over: the process, its connection and its statements
    # alone, the median of five.
    local -a idle_ms=()
    for _ in 1 2 3 4 5; do
      local s0; s0=$(usec)
      "${L[@]}" campaign show "bench_$label" --json >/dev/null 2>>"$RUN_LOG"
      idle_ms+=($(( ($(usec) - s0) / 1000 )))
    done
    RUN_SHOW_IDLE_MS=$(printf '%s\n' "${idle_ms[@]}" | sort -n | sed -n 3p)
    local a0; a0=$(usec)
    if step "campaign archive" campaign archive "bench_$label" --json; then
      RUN_ARCHIVE_S=$(calc "($(usec) - $a0) / 1000000" 2)
      step "campaign show (archived)" campaign show "bench_$label" --json || true
    else
      problem "campaign $label: $RUN_FAILED"; RUN_FAILED=""
    fi
  fi
  query_close
  stop_daemon || { RUN_FAILED="loa serve did not exit 0 on SIGTERM (see $BENCH_DIR/daemon_$label.log)"; return 1; }
  if [ -z "$url" ]; then
    local got; got=$(( $(sink_count) - sink0 ))
    [ "$got" -ge "$nsub" ] || problem "campaign $label: the sink received $got requests for $nsub submitted messages"
  fi
}

# stop_daemon: SIGTERM, its exit status; SIGKILL (and status 1) when it has not exited in 30 s.
stop_daemon() {
  [ -n "$DAEMON_PID" ] || return 0
  kill -TERM "$DAEMON_PID" 2>/dev/null
  for _ in $(seq 300); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  local killed=0 rc
  if kill -0 "$DAEMON_PID" 2>/dev/null; then
    echo "bench: loa serve did not exit 30 s after SIGTERM; killing it" >&2
    kill -KILL "$DAEMON_PID" 2>/dev/null
    killed=1
  fi
  wait "$DAEMON_PID"
  rc=$?
  DAEMON_PID=""
  [ "$killed" -eq 0 ] || return 1
  return $rc
}

kannel_stop() { [ -n "${KANNEL_DIR:-}" ] && "$REPO/tests/kannel.sh" stop "$KANNEL_DIR" >/dev/null 2>&1; KANNEL_DIR=""; }

# dlr_rate: Kannel delivery reports, each a GET of its message's dlr-url as Kannel sends it, posted
# by wrk (2 threads, 64 connections, BENCH_DLR_SECONDS: 5) to `loa serve` on the database the
# 100k campaign left (every message submitted; a report moves it to delivered). Sets DLR_RATE
# (reports answered 200 a second), DLR_LOA_US / DLR_PG_US (CPU per report), or DLR_FAILED.
dlr_rate() {
  DLR_RATE="" DLR_LOA_US="" DLR_PG_US="" DLR_FAILED=""
  command -v wrk >/dev/null || { DLR_FAILED="wrk is not installed"; return 1; }
  local conf=$RUN_CONF port secret urls="$BENCH_DIR/dlr_urls.txt" lua="$BENCH_DIR/dlr.lua" db_url
  port=$(sed -n 's/^listen = 127.0.0.1:\([0-9]*\)$/\1/p' "$conf")
  db_url=$(sed -n 's/^url = //p' "$conf")
  "$PGBIN/psql" -X -q -At -d "$db_url" -c "SELECT campaign_id, id FROM messages WHERE state = 'submitted' ORDER BY random()" |
    python3 -c '
import sys, hmac, hashlib
key = sys.argv[1].encode()
for line in sys.stdin:
    c, m = line.strip().split("|")
    t = hmac.new(key, f"{c}.{m}".encode(), hashlib.sha256).hexdigest()[:32]
    print(f"/hooks/kannel/sink/dlr?c={c}&m={m}&t={t}&s=1&ts=1700000000&id=k{m}")' "$HOOK_SECRET" >"$urls"
  [ -s "$urls" ] || { DLR_FAILED="no submitted message to report on"; return 1; }
  # Each wrk thread walks the list from its own random place, one report per message.
  cat >"$lua" <<EOL
local urls, i = {}, 0
init = function(args)
  for line in io.lines("$urls") do urls[#urls + 1] = line end
  math.randomseed(tonumber(tostring({}):match("0x(%x+)"), 16) % 2147483647)
  i = math.random(#urls)
end
request = function() i = i % #urls + 1; return wrk.format("GET", urls[i]) end
EOL
  "$LOA" -c "$conf" serve >"$BENCH_DIR/daemon_dlr.log" 2>&1 &
  DAEMON_PID=$!
  local ok=0
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && { ok=1; break; }
    sleep 0.1
  done
  [ "$ok" = 1 ] || { DLR_FAILED="loa serve did not answer /healthz"; stop_daemon; return 1; }
  pg_ticks_snapshot
  local loa0 done_n
  loa0=$(cpu_ticks "$DAEMON_PID")
  wrk -t2 -c64 -d"${BENCH_DLR_SECONDS:-5}s" -s "$lua" "http://127.0.0.1:$port" >"$BENCH_DIR/wrk_dlr.log" 2>&1
  local loa_ticks=$(( $(cpu_ticks "$DAEMON_PID") - loa0 )) pg_ticks
  pg_ticks=$(pg_ticks_since)
  stop_daemon || { DLR_FAILED="loa serve did not exit 0 on SIGTERM"; return 1; }
  done_n=$("$PGBIN/psql" -X -q -At -d "$db_url" -c "SELECT count(*) FROM delivery_events")
  if grep -q "Non-2xx" "$BENCH_DIR/wrk_dlr.log" || ! [[ "$done_n" =~ ^[1-9][0-9]*$ ]]; then
    DLR_FAILED="reports refused or not recorded (see $BENCH_DIR/wrk_dlr.log)"; return 1
  fi
  DLR_RATE=$(calc "$(sed -n 's/^Requests\/sec: *//p' "$BENCH_DIR/wrk_dlr.log")")
  DLR_LOA_US=$(calc "$loa_ticks * 1000000 / $CLK_TCK / $done_n")
  DLR_PG_US=$(calc "$pg_ticks * 1000000 / $CLK_TCK / $done_n")
  echo "   delivery reports: $DLR_RATE a second ($done_n recorded); CPU/report: loa $DLR_LOA_US µs, PostgreSQL $DLR_PG_US µs"
}

# The standard runs: the end-to-end campaigns, then the throttle's accuracy.
bench_standard() {
  local n E2E="" RSS10="" RSS100=""
  for n in $BENCH_SIZES; do
    if run_campaign "$n" "$n"; then
      [ -n "$RUN_RSS" ] || problem "campaign of $n citizens: could not read the daemon's VmHWM"
      case $n in
      10000) RSS10=$RUN_RSS
        figure e2e_msgs_per_s_10k "$RUN_E2E" msg/s "" "10k SMS campaign through loa serve to the sink" ;;
      100000) RSS100=$RUN_RSS; E2E=$RUN_E2E
        figure loa_cpu_us_per_msg "$RUN_LOA_US" µs "" "CPU of loa serve per message, 100k campaign (materialise to last submit)"
        figure pg_cpu_us_per_msg "$RUN_PG_US" µs "" "CPU of PostgreSQL (every process of the cluster) per message, 100k campaign"
        figure bytes_per_msg_100k "$RUN_BYTES" B "" "message partition with its indexes, per message, 100k campaign"
        if dlr_rate; then
          figure dlr_per_s "$DLR_RATE" "DLR/s" "" "Kannel delivery reports applied a second (wrk, 64 connections), after the 100k campaign"
          figure dlr_loa_cpu_us "$DLR_LOA_US" µs "" "CPU of loa serve per delivery report"
          figure dlr_pg_cpu_us "$DLR_PG_US" µs "" "CPU of PostgreSQL per delivery report"
        else
          problem "delivery reports: $DLR_FAILED"
          not_measured dlr_per_s "DLR/s" "" "Kannel delivery reports applied a second" "$DLR_FAILED"
        fi ;;
      *) figure "e2e_msgs_per_s_$n" "$RUN_E2E" msg/s "" "SMS campaign of $n citizens through loa serve to the sink" ;;
      esac
    else
      problem "campaign of $n citizens: $RUN_FAILED"
      case $n in
      10000) not_measured e2e_msgs_per_s_10k msg/s "" "10k SMS campaign through loa serve to the sink" "$RUN_FAILED" ;;
      100000) not_measured e2e_msgs_per_s msg/s ">= 20000" "100k SMS campaign through loa serve to the sink" "$RUN_FAILED" ;;
      esac
    fi
  done
  [ -n "$E2E" ] && figure e2e_msgs_per_s "$E2E" msg/s ">= 20000" "100k SMS campaign through loa serve to the sink"
  [ -n "$RSS10" ] && figure peak_rss_kb_10k "$RSS10" kB "< 65536" "daemon peak RSS (VmHWM), 10k campaign"
  [ -n "$RSS100" ] && figure peak_rss_kb_100k "$RSS100" kB "< 65536" "daemon peak RSS (VmHWM), 100k campaign"
  if [ -n "$E2E" ] && [ -n "$CEILING" ]; then
    figure ratio "$(calc "$E2E / $CEILING" 3)" "" "" "e2e_msgs_per_s / sink_ceiling_msgs_per_s"
  fi
  if [ -n "$RSS10" ] && [ -n "$RSS100" ]; then
    figure rss_growth_100k_over_10k "$(calc "$RSS100 / $RSS10" 2)" "" "~ 1" "memory does not grow with campaign size"
  fi

  # The throttle: a one-part text at a set rate for BENCH_THROTTLE_SECONDS (20) each, to the
  # sink at 100 and 2,000 parts/s, and to real Kannel (fake SMSC) at 300 with concurrency 10.
  # The error is how far the achieved rate is from the setting; the excess, how far the busiest
  # second went above setting + burst (a tenth of the rate), in per cent of the rate.
  local secs=${BENCH_THROTTLE_SECONDS:-20} worst="" excess="" r label err ex
  [ "$secs" -gt 0 ] || return 0
  for r in ${BENCH_THROTTLE_RUNS:-100 2000 k300}; do
    local rate=${r#k} url="" user="" pass=""
    label=rate$r
    if [ "$r" != "$rate" ]; then
      BENCH_PORT=$(free_port)
      KANNEL_DIR="$BENCH_DIR/kannel"
      rm -rf "$KANNEL_DIR"; mkdir -p "$KANNEL_DIR"
      if ! "$REPO/tests/kannel.sh" start "$KANNEL_DIR" "http://127.0.0.1:$BENCH_PORT/hooks/kannel/sink/mo?from=%p&to=%P&text=%a&ts=%T&id=%I" \
          >"$KANNEL_DIR/env" 2>"$KANNEL_DIR/start.log"; then
        problem "Kannel did not start: $(tail -n 1 "$KANNEL_DIR/start.log")"
        not_measured kannel_rate_achieved_pct % ">= 98" "real Kannel, rate 300, concurrency 10" "Kannel did not start"
        KANNEL_DIR=""; unset BENCH_PORT; continue
      fi
      url=$(sed -n 's/^KANNEL_SENDSMS_URL=//p' "$KANNEL_DIR/env")
      user=$(sed -n 's/^KANNEL_USERNAME=//p' "$KANNEL_DIR/env")
      pass=$(sed -n 's/^KANNEL_PASSWORD=//p' "$KANNEL_DIR/env")
    fi
    local conc=10
    [ "$rate" -ge 1000 ] && conc=64
    if run_campaign "$label" $((rate * secs)) "$rate" "$conc" "$url" "$user" "$pass"; then
      err=$(calc "($RUN_RATE - $rate) / $rate * 100" 2)
      ex=$(calc "($RUN_MAX_1S > $rate * 1.1 ? ($RUN_MAX_1S - $rate * 1.1) / $rate * 100 : 0)" 2)
      figure "throttle_rate_$r" "$RUN_RATE" parts/s "$rate" "achieved over $secs s$([ -n "$url" ] && echo ', real Kannel, concurrency 10'); busiest second $RUN_MAX_1S"
      [ -n "$url" ] && figure kannel_rate_achieved_pct "$(calc "$RUN_RATE / $rate * 100" 1)" % ">= 98" "real Kannel (fake SMSC), rate 300, concurrency 10, $secs s"
      err=${err#-}
      [ -z "$worst" ] || [ "$(calc "($err > $worst)")" = 1 ] && worst=$err
      [ -z "$excess" ] || [ "$(calc "($ex > $excess)")" = 1 ] && excess=$ex
    else
      problem "throttle run $label: $RUN_FAILED"
    fi
    kannel_stop; unset BENCH_PORT
  done
  [ -n "$worst" ] && figure throttle_error_pct "$worst" % "<= 2" "worst |achieved - set| / set of the throttle runs"
  [ -n "$excess" ] && figure throttle_burst_excess_pct "$excess" % "0" "worst second above set + burst, in % of the rate"
}

# `make bench-scale`: one campaign of BENCH_SCALE_CITIZENS (1,000,000) citizens.
bench_scale() {
  local n=${BENCH_SCALE_CITIZENS:-1000000} k
  k=$((n / 1000000))m
  [ "$n" -ge 1000000 ] || k=$((n / 1000))k
  if BENCH_SHOW=1 BENCH_ARCHIVE=1 run_campaign "$k" "$n"; then
    figure "materialise_${k}_s" "$RUN_MAT_S" s "<= 15" "materialising the $n messages (start to last row)"
    figure "e2e_msgs_per_s_$k" "$RUN_E2E" msg/s ">= 20000" "$n-citizen SMS campaign through loa serve to the sink"
    figure "peak_rss_kb_$k" "$RUN_RSS" kB "<= 32768" "daemon peak RSS (VmHWM), $n campaign"
    figure "show_p95_ms_$k" "${RUN_SHOW_P95_MS:-0}" ms "<= 20" "loa campaign show --json while it sends (process start included), p95"
    [ -n "$RUN_API_P95_MS" ] && figure "show_api_p95_ms_$k" "$RUN_API_P95_MS" ms "" "GET /api/v1/campaigns/ID (the same JSON) while it sends, p95"
    [ -n "$RUN_SHOW_IDLE_MS" ] && figure "show_idle_ms_$k" "$RUN_SHOW_IDLE_MS" ms "" "loa campaign show --json once sending is over (process start included), median of 5"
    figure "bytes_per_msg_$k" "$RUN_BYTES" B "" "message partition with its indexes, per message"
    figure "loa_cpu_us_per_msg_$k" "$RUN_LOA_US" µs "" "CPU of loa serve per message"
    figure "pg_cpu_us_per_msg_$k" "$RUN_PG_US" µs "" "CPU of PostgreSQL per message"
    if [ -n "$RUN_ARCHIVE_S" ]; then
      figure "archive_${k}_s" "$RUN_ARCHIVE_S" s "" "loa campaign archive of the finished campaign"
    else
      not_measured "archive_${k}_s" s "" "loa campaign archive" "the archive step failed"
    fi
  else
    problem "campaign of $n citizens: $RUN_FAILED"
    not_measured "e2e_msgs_per_s_$k" msg/s ">= 20000" "$n-citizen SMS campaign" "$RUN_FAILED"
  fi
}

case ${BENCH_MODE:-standard} in
scale) bench_scale ;;
*) bench_standard ;;
esac

# ---------------------------------------------------------------------------------------------
for part in tests/bench/part_*.sh; do
  [ -f "$part" ] && [ -x "$part" ] && [ "${BENCH_PARTS:-1}" = 1 ] && [ "${BENCH_MODE:-standard}" = standard ] || continue
  name=$(basename "$part" .sh)
  echo "== $name"
  if ! fresh_db bench_parts; then problem "$name: could not create its database"; continue; fi
  pconf="$BENCH_DIR/$name.conf"
  bench_config "$pconf" bench_parts "$(free_port)"
  pdir="$BENCH_DIR/$name"
  rm -rf "$pdir"; mkdir -p "$pdir"
  if ! LOA=$LOA LOA_CONFIG=$pconf BENCH_DIR=$pdir "$part" >"$BENCH_DIR/$name.out" 2>"$BENCH_DIR/$name.log"; then
    problem "$name failed (exit status non-zero; see $BENCH_DIR/$name.log)"
    tail -n 5 "$BENCH_DIR/$name.log" | sed 's/^/    | /' >&2
  fi
  while IFS=$'\t' read -r key value unit desc; do
    [ -n "$key" ] || continue
    if [[ "$value" =~ ^-?[0-9]+([.][0-9]+)?$ ]]; then
      figure "$key" "$value" "$unit" "${PART_TARGET[$key]:-}" "$desc"
    else
      problem "$name printed a line that is not key<TAB>number<TAB>unit<TAB>description: $key $value"
    fi
  done <"$BENCH_DIR/$name.out"
done

# ---------------------------------------------------------------------------------------------
echo
echo "loa benchmarks — $CPU, $CORES cores, $MEM_GB GiB RAM, $OS, PostgreSQL $PGVER (fsync on)"
printf '%-28s %14s  %-6s  %-10s  %s\n' figure value unit target description
printf '%-28s %14s  %-6s  %-10s  %s\n' ---------------------------- -------------- ------ ---------- -----------
for k in "${F_KEYS[@]}"; do
  v=${F_VAL[$k]}
  [ -n "$v" ] || v="—"
  d=${F_DESC[$k]}
  [ -n "${F_WHY[$k]+x}" ] && d="not measured: ${F_WHY[$k]}"
  printf '%-28s %14s  %-6s  %-10s  %s\n' "$k" "$v" "${F_UNIT[$k]}" "${F_TARGET[$k]}" "$d"
done

# var/bench.json: numbers only for what was measured; the rest under "not_measured".
{
  for k in "${F_KEYS[@]}"; do
    if [ -n "${F_WHY[$k]+x}" ]; then printf 'W\t%s\t%s\n' "$k" "${F_WHY[$k]}"
    else printf 'F\t%s\t%s\t%s\t%s\n' "$k" "${F_VAL[$k]}" "${F_UNIT[$k]}" "${F_DESC[$k]}"; fi
  done
} | python3 -c '
import json, sys, time
cpu, cores, mem, os_, pg = sys.argv[1:6]
out = {"machine": {"cpu": cpu, "cores": int(cores), "memory_gib": float(mem), "os": os_,
                   "postgresql": pg, "fsync": True},
       "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
# `make bench` and `make bench-scale` write into the same file: the figures of the other stay.
try:
    old = json.load(open(sys.argv[6]))
except (OSError, ValueError):
    old = {}
prev_units = old.get("units", {})
prev_why = old.get("not_measured", {})
for k, v in old.items():
    if k not in out and k not in ("units", "not_measured"):
        out[k] = v
why, units = {}, {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if f[0] == "F":
        v = float(f[2])
        out[f[1]] = int(v) if v.is_integer() and "." not in f[2] else v
        units[f[1]] = f[3]
    else:
        why[f[1]] = f[2]
for k in list(prev_why):
    if k in units:
        del prev_why[k]
why = {**prev_why, **why}
units = {**{k: u for k, u in prev_units.items() if k in out}, **units}
for k in why:
    out.pop(k, None)
out["units"] = units
if why:
    out["not_measured"] = why
json.dump(out, open(sys.argv[6], "w"), indent=2, ensure_ascii=False)
' "$CPU" "$CORES" "$MEM_GB" "$OS" "$PGVER" "$JSON"
echo
echo "written: $JSON"

if [ ${#problems[@]} -gt 0 ]; then
  echo
  echo "bench: ${#problems[@]} problem(s):" >&2
  printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
