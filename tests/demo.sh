#!/bin/bash
# `make demo`: a May campaign end to end on this machine, with real PostgreSQL and real Kannel.
#
#   1. the embedded cluster in ./var/pg; the database `loa` in it is emptied and migrated on
#      every run, so running the demo again starts from the same state (the cluster is kept)
#   2. Kannel (bearerbox, smsbox) and its fake SMSC in ./var/kannel (tests/kannel.sh)
#   3. the gateway doubles found in tests/doubles/ (see below), e.g. the Zalo double
#   4. var/demo.conf, ~3,000 synthetic citizens (`loa demo-data`), imported; a segment; a
#      Vietnamese SMS template (and a ZNS one when the Zalo double is there); the campaign
#      "Tháng vận động BHXH toàn dân 5/<year>", started
#   5. the plan's coverage targets for the demo's communes, and a supervisor `giamsat` whose
#      password is printed, to log in to the dashboard
#   6. `loa serve`, a progress line every second, then the campaign's statistics; the daemon
#      and its dashboard (its address and the login printed) stay up until Ctrl-C, which stops
#      the daemon, Kannel and PostgreSQL.
#
# DEMO_ONCE=1 exits (status 0) as soon as the campaign is completed, and with status 1 and the
# reason after DEMO_TIMEOUT seconds (300). DEMO_CITIZENS (3000), DEMO_PORT (8080, or a free
# port when 8080 is taken), DEMO_VAR (./var: where the cluster, Kannel, the logs and
# demo.conf go; tests/integration/test_demo_dashboard.py runs the demo in a directory of its
# own).
#
# Gateway doubles: when tests/doubles/zalo_double.py is there, the demo starts it (log in
# var/doubles/), adds [gateway.zalo] to var/demo.conf and sends the campaign by Zalo ZNS first,
# SMS as the fallback; the double answers "no Zalo account" for citizens without a Zalo id.
# Other doubles in tests/doubles/ are named and left alone; a new one is added in the `case`
# below, with a start_NAME_double function that appends its gateway section.
set -u
cd "$(dirname "$0")/.."
REPO=$(pwd)
LOA=$REPO/build/loa
VAR=${DEMO_VAR:-$REPO/var}
CONF=$VAR/demo.conf
CITIZENS=${DEMO_CITIZENS:-3000}
TIMEOUT=${DEMO_TIMEOUT:-300}
ONCE=${DEMO_ONCE:-0}
YEAR=$(date +%Y)
CAMPAIGN="Tháng vận động BHXH toàn dân 5/$YEAR"

# tests/pg.sh from /: as root it runs PostgreSQL's tools as the user `loa`, who may not be
# able to enter the checkout (under /root, say).
pg_sh() { (cd / && "$REPO/tests/pg.sh" "$@"); }

mkdir -p "$VAR" "$VAR/doubles"
say() { printf '\n== %s\n' "$*"; }
die() {
  printf '\ndemo: FAILED at step "%s": %s\n' "$STEP" "$*" >&2
  exit 1
}

# stop_pid PID WHAT: SIGTERM, then SIGKILL when it has not exited after 30 s.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 300); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    echo "demo: $2 (pid $1) did not exit 30 s after SIGTERM; killing it" >&2
    kill -KILL "$1" 2>/dev/null
  fi
  wait "$1" 2>/dev/null
}

DAEMON_PID="" DOUBLE_PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    stop_pid "$DAEMON_PID" "loa serve"
  fi
  rm -f "$VAR/demo-daemon.pid"
  for p in "${DOUBLE_PIDS[@]}"; do stop_pid "$p" "a gateway double"; done
  tests/kannel.sh stop "$VAR/kannel" >/dev/null 2>&1
  pg_sh stop "${PGREAL:-$VAR/pg}" >/dev/null 2>&1
  exit "$rc"
}
trap cleanup EXIT
# Ctrl-C while the demo only waits for it is the way to end it, not a failure.
IDLE=0
trap '[ "$IDLE" = 1 ] && exit 0; exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
loa() { "$LOA" -c "$CONF" "$@"; }

# run_step NAME COMMAND...: runs a step; on failure prints its output and names the step.
run_step() {
  STEP=$1
  shift
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | tail -n 15 >&2
    die "$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | head -n 1)"
  fi
  printf '%s\n' "$out"
}

# As root the cluster belongs to the user `loa` (tests/pg.sh), who must be able to reach its
# directory. When the checkout is somewhere it cannot (under /root, say), the cluster lives
# under /var/tmp instead, and var/pg links to it (loa's built-in default finds it there).
cluster_dir() {
  local want=$1 parent alt
  [ "$(id -u)" -eq 0 ] || { echo "$want"; return; }
  id loa >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin loa
  parent=$(dirname "$want")
  if [ ! -L "$want" ] && runuser -u loa -- test -x "$parent"; then echo "$want"; return; fi
  alt=/var/tmp/loa-$(basename "$want")-$(printf '%s' "$REPO" | md5sum | cut -c1-8)
  mkdir -p "$alt"
  chmod 755 "$alt"
  if [ ! -L "$want" ]; then rmdir "$want" 2>/dev/null || true; ln -sfn "$alt" "$want"; fi
  echo "$alt"
}

# --------------------------------------------------------------------------------------------
# A demo left running by an earlier run (its terminal closed) would hold the port and the
# database.
if [ -f "$VAR/demo-daemon.pid" ]; then
  old=$(cat "$VAR/demo-daemon.pid")
  if [ -r "/proc/$old/cmdline" ] && tr '\0' ' ' <"/proc/$old/cmdline" | grep -q "$CONF serve"; then
    echo "demo: stopping the daemon of an earlier run (pid $old)"
    kill -TERM "$old" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$old" 2>/dev/null
  fi
  rm -f "$VAR/demo-daemon.pid"
fi

say "PostgreSQL: the embedded cluster in var/pg"
STEP="start PostgreSQL"
PGREAL=$(cluster_dir "$VAR/pg")
[ "$PGREAL" = "$VAR/pg" ] || echo "(user loa cannot reach $VAR: the cluster is in $PGREAL, linked from var/pg)"
URL=$(pg_sh start "$PGREAL") || die "tests/pg.sh start $PGREAL failed"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
ADMIN_URL=$(echo "$URL" | sed 's|^postgresql:///loa?|postgresql:///postgres?|')
STEP="reset the demo database"
PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" \
  -c "DROP DATABASE IF EXISTS loa WITH (FORCE)" -c "CREATE DATABASE loa" >/dev/null \
  || die "could not recreate the database loa"
echo "$URL (database loa emptied)"

# The MO hook's token, kept between runs.
[ -s "$VAR/demo-hook.secret" ] || head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$VAR/demo-hook.secret"
chmod 600 "$VAR/demo-hook.secret"
SECRET=$(cat "$VAR/demo-hook.secret")
PORT=${DEMO_PORT:-8080}
port_free "$PORT" || PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

say "Kannel with its fake SMSC in var/kannel"
STEP="start Kannel"
run_step "start Kannel" tests/kannel.sh start "$VAR/kannel" \
  "$BASE/hooks/kannel/kannel/mo?from=%p&to=%P&text=%a&ts=%T&id=%I&token=$SECRET" >"$VAR/kannel.env.out"
# shellcheck disable=SC1091
. "$VAR/kannel/kannel.env"
echo "sendsms $KANNEL_SENDSMS_URL; the fake SMSC's log: var/kannel/fakesmsc.log"

# --------------------------------------------------------------------------------------------
cat >"$CONF" <<EOF
; Written by tests/demo.sh on every run.
[database]
url = $URL

[http]
listen = 127.0.0.1:$PORT
public_url = $BASE

[policy]
; The demo sends at any hour; a real deployment keeps the default 07:00-21:00.
window = 00:00-24:00

[gateway.kannel]
type = kannel
sendsms_url = $KANNEL_SENDSMS_URL
username = $KANNEL_USERNAME
password = $KANNEL_PASSWORD
sender = BHXH
rate = 300
concurrency = 20
webhook_secret = @$VAR/demo-hook.secret
EOF

say "configuration: var/demo.conf"
run_step "loa db migrate" loa db migrate

say "$CITIZENS synthetic citizens"
run_step "loa demo-data" loa demo-data --citizens "$CITIZENS" --seed "$YEAR" --out "$VAR/demo-citizens.csv"

# The Zalo double: citizens without a Zalo id get "no Zalo account" (-118) from ZNS, so the
# campaign falls back to SMS for them, as it would for real.
start_zalo_double() {
  local app=demo-app app_secret oa_secret port i
  app_secret=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  oa_secret=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  STEP="start the Zalo double"
  python3 - "$VAR/demo-citizens.csv" >"$VAR/doubles/zalo-control.json" <<'EOF' || die "could not read var/demo-citizens.csv"
import csv, json, re, sys
phones = {}
with open(sys.argv[1], encoding="utf-8-sig") as f:
    for row in csv.DictReader(f):
        d = re.sub(r"[^0-9]", "", row.get("phone", ""))
        d = "84" + d[1:] if d.startswith("0") else d
        if re.fullmatch(r"84[0-9]{9}", d) and not row.get("zalo_user_id"):
            phones[d] = -118
print(json.dumps({"phones": phones}))
EOF
  python3 tests/doubles/zalo_double.py --port 0 --app-id "$app" --app-secret "$app_secret" \
    --oa-id demo-oa --refresh-token demo-refresh-0 --webhook-url "$BASE/hooks/zalo/zalo" \
    --sig-id "$app" --sig-key "$oa_secret" --control-file "$VAR/doubles/zalo-control.json" \
    >"$VAR/doubles/zalo.log" 2>&1 &
  DOUBLE_PIDS+=($!)
  port=""
  for i in $(seq 100); do
    port=$(sed -n 's/^port=\([0-9]*\)$/\1/p' "$VAR/doubles/zalo.log")
    [ -n "$port" ] && break
    kill -0 "${DOUBLE_PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || die "tests/doubles/zalo_double.py did not start: $(head -n 1 "$VAR/doubles/zalo.log")"
  cat >>"$CONF" <<EOF

[gateway.zalo]
type = zalo_zns
oauth_url = http://127.0.0.1:$port/v4/oa/access_token
api_url = http://127.0.0.1:$port
app_id = $app
app_secret = $app_secret
oa_id = demo-oa
oa_secret = $oa_secret
refresh_token = demo-refresh-0
rate = 100
EOF
  echo "Zalo double on port $port (log: var/doubles/zalo.log); $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["phones"]))' "$VAR/doubles/zalo-control.json") citizens have no Zalo account"
}

HAVE_ZALO=0
for double in tests/doubles/*_double.py; do
  [ -f "$double" ] || continue
  case $(basename "$double") in
  zalo_double.py)
    say "gateway double: Zalo"
    start_zalo_double
    HAVE_ZALO=1 ;;
  *) echo "($double: not used by the demo)" ;;
  esac
done

run_step "loa config check" loa config check
run_step "loa import citizens" loa import citizens "$VAR/demo-citizens.csv" --rejects "$VAR/demo-rejects.csv"

say "segment, templates and the campaign"
# Everyone not yet insured: never joined, or stopped paying.
cat >"$VAR/demo-segment.json" <<'EOF'
{"all": [{"field": "participation", "in": ["none", "stopped"]},
         {"field": "age", "between": [15, 60]}]}
EOF
run_step "loa segment create" loa segment create chua_tham_gia --filter "$VAR/demo-segment.json"
cat >"$VAR/demo-sms.txt" <<'EOF'
{{salutation}} {{given_name}} ơi, tháng 5 là Tháng vận động BHXH toàn dân. BHXH xã {{commune_name}} mời tham gia BHXH tự nguyện để có lương hưu. {{opt_out_hint}}
EOF
run_step "loa template create (sms)" loa template create thang5_sms --channel sms --file "$VAR/demo-sms.txt"
CHANNELS="sms@kannel:thang5_sms"
if [ "$HAVE_ZALO" = 1 ]; then
  cat >"$VAR/demo-zns.json" <<'EOF'
{"customer_name": "{{salutation}} {{given_name}}", "commune": "{{commune_name}}",
 "due_date": "{{voluntary_due_date}}", "support": "{{state_support_pct}}"}
EOF
  run_step "loa template create (zns)" loa template create thang5_zns --channel zns \
    --file "$VAR/demo-zns.json" --zns-template-id 245001
  CHANNELS="zalo:thang5_zns,$CHANNELS"
fi
run_step "loa template preview" loa template preview thang5_sms --segment chua_tham_gia
run_step "loa campaign create" loa campaign create "$CAMPAIGN" --segment chua_tham_gia \
  --channels "$CHANNELS" --window 00:00-24:00
run_step "loa campaign start" loa campaign start "$CAMPAIGN"

# The plan's targets for the coverage view: per commune of the demo's citizens, a working-age
# population of three times the citizens on file, 45% to reach (Kiên Giang's figure for 2021),
# and activity in 70% of the province's communes (Gia Lai's).
python3 - "$VAR/demo-citizens.csv" "$YEAR" >"$VAR/demo-targets.csv" <<'EOF' || die "could not read var/demo-citizens.csv"
import collections, csv, sys
with open(sys.argv[1], encoding="utf-8-sig") as f:
    n = collections.Counter(row["commune_code"] for row in csv.DictReader(f) if row.get("commune_code"))
print("year,commune_code,population,target_pct,activity_target_pct")
for code, k in sorted(n.items()):
    print(f"{sys.argv[2]},{code},{3 * k},45,70")
EOF
run_step "loa targets import" loa targets import "$VAR/demo-targets.csv"
# A supervisor for the dashboard (the database is emptied above, so the name is free).
DEMO_USER=giamsat
DEMO_PASSWORD=demo-bhxh-$YEAR
printf '%s\n' "$DEMO_PASSWORD" >"$VAR/demo-password"
chmod 600 "$VAR/demo-password"
run_step "loa user add (dashboard login)" loa user add "$DEMO_USER" --role supervisor --password-file "$VAR/demo-password"

say "loa serve (log: var/demo-daemon.log)"
STEP="loa serve"
# Not through the `loa` function: $! must be the daemon itself, not a subshell around it.
"$LOA" -c "$CONF" serve >"$VAR/demo-daemon.log" 2>&1 &
DAEMON_PID=$!
echo "$DAEMON_PID" >"$VAR/demo-daemon.pid"
ok=0
for _ in $(seq 300); do
  kill -0 "$DAEMON_PID" 2>/dev/null || break
  if curl -sf "$BASE/healthz" >/dev/null; then ok=1; break; fi
  sleep 0.1
done
if [ "$ok" != 1 ]; then
  if kill -0 "$DAEMON_PID" 2>/dev/null; then
    tail -n 15 "$VAR/demo-daemon.log" >&2
    die "/healthz did not answer 200 within 30 s (see var/demo-daemon.log)"
  fi
  wait "$DAEMON_PID"
  rc=$?
  DAEMON_PID=""
  die "loa serve exited with status $rc: $(head -n 1 "$VAR/demo-daemon.log") (see var/demo-daemon.log)"
fi
echo "dashboard: $BASE/  (log in as $DEMO_USER, password $DEMO_PASSWORD)"

# --------------------------------------------------------------------------------------------
say "progress"
STEP="wait for the campaign"
start=$(date +%s)
status=""
while :; do
  if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
    tail -n 15 "$VAR/demo-daemon.log" >&2
    die "loa serve exited (see var/demo-daemon.log)"
  fi
  if show=$(loa campaign show "$CAMPAIGN" --json 2>/dev/null); then
    line=$(printf '%s' "$show" | python3 -c '
import json, sys
j = json.load(sys.stdin); o = j["outcomes"]
c = j.get("by_channel", {}); z = c.get("zalo", {}); s = c.get("sms", {})
print(j["status"], "%s: %d/%d delivered, %d submitted, %d pending, %d suppressed, %d failed"
      " | zalo %d sent, %d fallback | sms %d sent, %d parts | %d replies" % (
    j["status"], o["delivered"], j["targeted"], o["submitted"], o["pending"], o["suppressed"],
    o["failed"] + o["undelivered"], z.get("sent", 0), z.get("fallback", 0), s.get("sent", 0),
    s.get("parts", 0), j.get("replies", 0)))')
    status=${line%% *}
    printf '[%3ds] %s\n' "$(($(date +%s) - start))" "${line#* }"
    case $status in completed | cancelled) break ;; esac
  else
    printf '[%3ds] (campaign show failed)\n' "$(($(date +%s) - start))"
  fi
  if [ $(($(date +%s) - start)) -ge "$TIMEOUT" ]; then
    if [ "$ONCE" = 1 ]; then die "the campaign was not completed within ${TIMEOUT}s (last status: ${status:-unknown})"; fi
    echo "(not completed after ${TIMEOUT}s; still waiting — Ctrl-C stops the demo)"
    TIMEOUT=$((TIMEOUT * 1000))
  fi
  sleep 1
done

say "statistics"
run_step "loa campaign show" loa campaign show "$CAMPAIGN"
# The statistics count the parts Kannel's smsbox accepted; bearerbox hands them to the fake
# SMSC a little later: tests/smsc_parts.sh waits (10 s at most) for its log to show them all.
sms_parts=$(loa campaign show "$CAMPAIGN" --json 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin).get("by_channel", {}).get("sms", {}).get("parts", 0))' 2>/dev/null || echo "?")
tests/smsc_parts.sh var/kannel/fakesmsc.log "$sms_parts" 10 || true
[ "$status" = completed ] || die "the campaign ended $status"

if [ "$ONCE" = 1 ]; then
  echo "demo: the campaign is completed"
  exit 0
fi
echo
echo "The daemon is still running: dashboard $BASE/ (log in as $DEMO_USER, password $DEMO_PASSWORD),"
echo "config var/demo.conf (e.g. build/loa -c var/demo.conf replies list)."
echo "A citizen's reply: tests/kannel.sh mo var/kannel 84912345678 'TC'.  Ctrl-C stops everything."
STEP="serve until Ctrl-C"
IDLE=1
wait "$DAEMON_PID"
IDLE=0
wait "$DAEMON_PID"
die "loa serve exited with status $? (see var/demo-daemon.log)"
