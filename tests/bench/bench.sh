#!/bin/bash
# `make bench`: loa's figures on this machine, printed as one table and written to
# var/bench.json (one key per figure, plus "machine").
#
#   sink_ceiling_msgs_per_s   what the sink answers, measured with wrk -t2 -c50 -d5s: the
#                             ceiling of any figure below on this machine
#   e2e_msgs_per_s            a 100,000-citizen SMS campaign through `loa serve` to the sink
#                             (a gateway of type kannel): start to last message submitted
#   peak_rss_kb_10k / _100k   the daemon's peak resident memory (VmHWM) in the 10k / 100k runs
#   ratio                     e2e_msgs_per_s / sink_ceiling_msgs_per_s
# then every executable tests/bench/part_*.sh, run with LOA (the binary), LOA_CONFIG (a config
# whose database is migrated and empty) and BENCH_DIR (a scratch directory); each prints lines
#   key<TAB>value<TAB>unit<TAB>description
#
# PostgreSQL runs with fsync on, as in production. Environment: BENCH_SIZES ("10000 100000"),
# BENCH_TIMEOUT (seconds a campaign may take; default 60 + citizens / 100), BENCH_PARTS (0: skip
# the part_*.sh scripts).
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
declare -A PART_TARGET=([import_rows_per_s]=">= 100000" [segment_count_ms]="< 200"
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
  [ -n "$DAEMON_PID" ] && stop_daemon
  [ -n "$SINK_PID" ] && kill -TERM "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
  pg_sh stop "${PGREAL:-$PGDIR}" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
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
# A campaign through the daemon to the sink.
HOOK_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
bench_config() {  # FILE DBNAME HTTP_PORT
  cat >"$1" <<EOF
[database]
url = $(url_for "$2")

[http]
listen = 127.0.0.1:$3
public_url = http://127.0.0.1:$3

[policy]
window = 00:00-24:00
frequency_cap = 1000/1d
approval_threshold = 1000000000

[gateway.sink]
type = kannel
sendsms_url = $SINK_URL
username = bench
password = bench
sender = BHXH
rate = 100000
concurrency = 64
webhook_secret = $HOOK_SECRET
EOF
}

TEMPLATE='{{salutation}} {{given_name}} ơi, BHXH xã {{commune_name}} nhắc: tháng 5 là tháng vận động BHXH toàn dân, đóng BHXH tự nguyện để có lương hưu. {{opt_out_hint}}'

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

json_field() {  # reads JSON on stdin, prints the Python expression EXPR of it (j is the object)
  python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

# run_campaign N: sets RUN_E2E, RUN_RSS, RUN_SENT or RUN_FAILED.
run_campaign() {
  local n=$1 db="bench_$1" conf="$BENCH_DIR/campaign_$1.conf" port csv show t0 t1 deadline
  RUN_CONF=$conf
  RUN_LOG="$BENCH_DIR/campaign_$n.log"
  RUN_FAILED="" RUN_E2E="" RUN_RSS="" RUN_SENT=""
  : >"$RUN_LOG"
  printf 'seconds\ttargeted\tpending\n' >"$BENCH_DIR/progress_$n.tsv"
  echo "== campaign of $n citizens"
  fresh_db "$db" || { RUN_FAILED="could not create and migrate database $db"; return 1; }
  port=$(free_port)
  bench_config "$conf" "$db" "$port"
  csv="$BENCH_DIR/citizens_$n.csv"
  local L=("$LOA" -c "$conf")
  step "demo-data" demo-data --citizens "$n" --seed 42 --out "$csv" || return 1
  step "import citizens" import citizens "$csv" || return 1
  echo '{"all":[]}' >"$BENCH_DIR/everyone.json"
  step "segment create" segment create "everyone_$n" --filter "$BENCH_DIR/everyone.json" || return 1
  printf '%s\n' "$TEMPLATE" >"$BENCH_DIR/template.txt"
  step "template create" template create bench_sms --channel sms --file "$BENCH_DIR/template.txt" || return 1
  step "campaign create" campaign create "bench_$n" --segment "everyone_$n" \
    --channels sms@sink:bench_sms --window 00:00-24:00 || return 1

  "${L[@]}" serve >"$BENCH_DIR/daemon_$n.log" 2>&1 &
  DAEMON_PID=$!
  local ok=0
  for _ in $(seq 300); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then ok=1; break; fi
    sleep 0.1
  done
  if [ "$ok" -ne 1 ]; then
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
      RUN_FAILED="step 'loa serve' failed: /healthz did not answer 200 within 30 s (see $BENCH_DIR/daemon_$n.log)"
      kill -TERM "$DAEMON_PID" 2>/dev/null
    else
      RUN_FAILED="step 'loa serve' failed: it exited: $(head -n 1 "$BENCH_DIR/daemon_$n.log") (see $BENCH_DIR/daemon_$n.log)"
    fi
    wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
    return 1
  fi

  local before
  before=$(sink_count)
  t0=$(now)
  step "campaign start" campaign start "bench_$n" --json || { stop_daemon; return 1; }
  local expected
  expected=$(json_field 'j["segment_size"]' <"$BENCH_DIR/step.out" 2>>"$RUN_LOG")
  [[ "$expected" =~ ^[0-9]+$ ]] || expected=$n
  deadline=$(calc "$t0 + ${BENCH_TIMEOUT:-$((60 + n / 100))}")
  local done_=0 targeted=0 pending=0 last=""
  while [ "$(calc "$(now) < $deadline")" = 1 ]; do
    if ! show=$("${L[@]}" campaign show "bench_$n" --json 2>>"$RUN_LOG"); then
      RUN_FAILED="step 'campaign show --json' failed (see $RUN_LOG)"; stop_daemon; return 1
    fi
    # Submitted means handed to the gateway: every outcome but pending (and leased, which
    # the outcomes count as pending).
    read -r targeted pending <<<"$(echo "$show" | json_field 'j["targeted"], j["outcomes"]["pending"]' 2>>"$RUN_LOG" | tr -d '(),')"
    if ! [[ "${targeted:-}" =~ ^[0-9]+$ && "${pending:-}" =~ ^[0-9]+$ ]]; then
      RUN_FAILED="campaign show --json lacks targeted or outcomes.pending: $show"; stop_daemon; return 1
    fi
    # The progress over time, to tell a slow start from a slowdown.
    printf '%s\t%s\t%s\n' "$(calc "$(now) - $t0" 1)" "$targeted" "$pending" >>"$BENCH_DIR/progress_$n.tsv"
    if [ "$targeted" -ge "$expected" ] && [ "$pending" -eq 0 ]; then done_=1; break; fi
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
      RUN_FAILED="loa serve exited during the campaign (see $BENCH_DIR/daemon_$n.log)"; DAEMON_PID=""; return 1
    fi
    last="$targeted targeted, $pending pending"
    sleep 0.2
  done
  t1=$(now)
  RUN_RSS=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$DAEMON_PID/status" 2>/dev/null)
  stop_daemon || { RUN_FAILED="loa serve did not exit 0 on SIGTERM (see $BENCH_DIR/daemon_$n.log)"; return 1; }
  if [ "$done_" -ne 1 ]; then
    RUN_FAILED="the campaign did not finish submitting within the timeout ($last)"
    return 1
  fi
  RUN_SENT=$(($(sink_count) - before))
  RUN_E2E=$(calc "($targeted - 0) / ($t1 - $t0)")
  echo "   $targeted messages submitted in $(calc "$t1 - $t0" 2) s ($RUN_E2E msg/s); the sink answered $RUN_SENT requests; peak RSS $RUN_RSS kB"
  if [ "$RUN_SENT" -lt "$targeted" ]; then
    problem "campaign of $n: the sink received $RUN_SENT requests for $targeted messages"
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

E2E="" RSS10="" RSS100=""
for n in $BENCH_SIZES; do
  if run_campaign "$n"; then
    if [ -z "$RUN_RSS" ]; then
      problem "campaign of $n citizens: could not read the daemon's VmHWM"
      not_measured "peak_rss_kb_$((n / 1000))k" kB "" "daemon peak RSS (VmHWM)" "VmHWM not readable"
    fi
    case $n in
    10000) RSS10=$RUN_RSS
      figure e2e_msgs_per_s_10k "$RUN_E2E" msg/s "" "10k SMS campaign through loa serve to the sink" ;;
    100000) RSS100=$RUN_RSS; E2E=$RUN_E2E ;;
    *) figure "e2e_msgs_per_s_$n" "$RUN_E2E" msg/s "" "SMS campaign of $n citizens through loa serve to the sink" ;;
    esac
  else
    problem "campaign of $n citizens: $RUN_FAILED"
    case $n in
    10000)
      not_measured e2e_msgs_per_s_10k msg/s "" "10k SMS campaign through loa serve to the sink" "$RUN_FAILED"
      not_measured peak_rss_kb_10k kB "" "daemon peak RSS, 10k campaign" "$RUN_FAILED" ;;
    100000)
      not_measured e2e_msgs_per_s msg/s ">= 5000" "100k SMS campaign through loa serve to the sink" "$RUN_FAILED"
      not_measured peak_rss_kb_100k kB "< 65536" "daemon peak RSS, 100k campaign" "$RUN_FAILED" ;;
    esac
  fi
done
[ -n "$E2E" ] && figure e2e_msgs_per_s "$E2E" msg/s ">= 5000" "100k SMS campaign through loa serve to the sink"
[ -n "$RSS10" ] && figure peak_rss_kb_10k "$RSS10" kB "< 65536" "daemon peak RSS (VmHWM), 10k campaign"
[ -n "$RSS100" ] && figure peak_rss_kb_100k "$RSS100" kB "< 65536" "daemon peak RSS (VmHWM), 100k campaign"
if [ -n "$E2E" ] && [ -n "$CEILING" ]; then
  figure ratio "$(calc "$E2E / $CEILING" 3)" "" "" "e2e_msgs_per_s / sink_ceiling_msgs_per_s"
fi
if [ -n "$RSS10" ] && [ -n "$RSS100" ]; then
  figure rss_growth_100k_over_10k "$(calc "$RSS100 / $RSS10" 2)" "" "~ 1" "memory does not grow with campaign size"
fi

# ---------------------------------------------------------------------------------------------
for part in tests/bench/part_*.sh; do
  [ -f "$part" ] && [ -x "$part" ] && [ "${BENCH_PARTS:-1}" = 1 ] || continue
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
why, units = {}, {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if f[0] == "F":
        v = float(f[2])
        out[f[1]] = int(v) if v.is_integer() and "." not in f[2] else v
        units[f[1]] = f[3]
    else:
        why[f[1]] = f[2]
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
