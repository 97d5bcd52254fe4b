#!/bin/bash
# Real Kannel with its fake SMSC, on free ports, for the demo and the integration tests.
#
#   tests/kannel.sh start DIR MO_URL   write DIR/kannel.conf, start bearerbox, fakesmsc and
#                                      smsbox, wait until they are connected, print the ports
#                                      as shell variables (also kept in DIR/kannel.env)
#   tests/kannel.sh stop DIR           stop the three processes started in DIR
#   tests/kannel.sh discard DIR        kill them outright (the end of a test)
#   tests/kannel.sh mo DIR FROM TEXT [TO]
#                                      a citizen's reply: fakesmsc sends it to bearerbox as an
#                                      MO (UCS-2 when TEXT is not plain ASCII), smsbox calls MO_URL
#   tests/kannel.sh env DIR            print the shell variables again
#   tests/kannel.sh smsbox-stop DIR    stop smsbox alone (SIGTERM), as an operator restarting it
#   tests/kannel.sh smsbox-start DIR   start it again and wait until bearerbox sees it
#   tests/kannel.sh smsc-stop DIR      stop the fake SMSC alone (SIGTERM, the SMSC link lost):
#                                      bearerbox queues what it is sent
#   tests/kannel.sh smsc-start DIR     start it again and wait until bearerbox sees it online
#
# MO_URL is the sms-service get-url, with Kannel's escapes, e.g.
#   'http://127.0.0.1:8080/hooks/kannel/kannel/mo?from=%p&to=%P&text=%a&ts=%T&id=%I&token=S'
# Environment: KANNEL_USERNAME (loa), KANNEL_PASSWORD (secret), KANNEL_SENDER (8077, the
# global-sender), KANNEL_SMSC_ID (fake); KANNEL_CORE_EXTRA and KANNEL_SMSC_EXTRA, lines added to
# the core and smsc groups (e.g. "sms-outgoing-queue-limit = 10": with the SMSC link lost,
# bearerbox holds that many and smsbox answers 503 to the rest).
#
# fakesmsc runs in interactive mode with its standard input on DIR/mo.fifo: every line written
# there is injected as an MO ("FROM TO text|ucs2 DATA"), while every MT it receives from
# bearerbox is logged to DIR/fakesmsc.log as
#   DEBUG: Got message N: <FROM TO text TEXT>                    plain text
#   DEBUG: Got message N: <FROM TO ucs-2 URLENCODED-UCS2BE>      UCS-2
#   DEBUG: Got message N: <FROM TO udh URLENCODED-UDH data URLENCODED-DATA>   one concatenated part
# The fake SMSC acknowledges every MT with DLR 8 and, when the mask asks for it, DLR 1.
set -eu

KANNEL_BIN=${KANNEL_BIN:-/usr/sbin}
FAKESMSC=${FAKESMSC:-/usr/lib/kannel/test/fakesmsc}

usage() { echo "usage: kannel.sh start DIR MO_URL | stop DIR | mo DIR FROM TEXT [TO] | env DIR | smsbox-stop DIR | smsbox-start DIR | smsc-stop DIR | smsc-start DIR" >&2; exit 2; }

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage

# pid_alive DIR NAME: the pid in DIR/NAME.pid is running and is still the process we started.
pid_alive() {
  local f="$1/$2.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(cat "$1/$2.tag" 2>/dev/null || echo '^$')"
}

stop_one() {
  local d=$1 name=$2 pid i
  if pid_alive "$d" "$name"; then
    pid=$(cat "$d/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      pid_alive "$d" "$name" || break
      sleep 0.1
    done
    if pid_alive "$d" "$name"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$d/$name.pid" "$d/$name.tag"
}

free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
# Below the kernel's ephemeral range, where outgoing connections cannot take a port before
# bearerbox binds it.
socks = []
while len(socks) < int(sys.argv[1]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(20000, 32000)))
    except OSError:
        s.close()
        continue
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# wait_for DESC SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
  local desc=$1 secs=$2 i
  shift 2
  for i in $(seq 1 $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "kannel.sh: timed out after ${secs}s waiting for $desc (logs in $dir)" >&2
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The bearerbox status page names each box and SMSC; both must be connected before an MT
# submitted to smsbox goes anywhere.
kannel_ready() {
  local s
  s=$(curl -s --max-time 1 "http://127.0.0.1:$KANNEL_ADMIN_PORT/status.txt?password=$KANNEL_ADMIN_PASSWORD") || return 1
  echo "$s" | grep -q "smsbox:(none), IP 127.0.0.1" || return 1
  echo "$s" | grep -Eq "$KANNEL_SMSC_ID\[$KANNEL_SMSC_ID\] +FAKE:[0-9]+ \(online" || return 1
}

print_env() {
  cat "$1/kannel.env"
}

write_conf() {
  local d=$1 mo_url=$2
  cat >"$d/kannel.conf" <<EOF
# Written by tests/kannel.sh; every run chooses its own ports.
group = core
admin-port = $KANNEL_ADMIN_PORT
admin-password = $KANNEL_ADMIN_PASSWORD
smsbox-port = $KANNEL_SMSBOX_PORT
box-allow-ip = 127.0.0.1
admin-allow-ip = 127.0.0.1
log-file = "$d/bearerbox.log"
log-level = 1
access-log = "$d/access.log"
dlr-storage = internal
${KANNEL_CORE_EXTRA:-}

group = smsc
smsc = fake
smsc-id = $KANNEL_SMSC_ID
port = $KANNEL_SMSC_PORT
connect-allow-ip = 127.0.0.1
${KANNEL_SMSC_EXTRA:-}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $KANNEL_SMSBOX_PORT
sendsms-port = $KANNEL_SENDSMS_PORT
sendsms-interface = 127.0.0.1
global-sender = $KANNEL_SENDER
mo-recode = true
log-file = "$d/smsbox.log"
log-level = 1
access-log = "$d/smsbox-access.log"

group = sendsms-user
username = $KANNEL_USERNAME
password = $KANNEL_PASSWORD
max-messages = 10
concatenation = true
default-smsc = $KANNEL_SMSC_ID

# Citizens' replies go to loa's MO hook. Kannel would send the hook's answer back to the
# citizen as an SMS; max-messages = 0 and omit-empty stop that.
group = sms-service
keyword = default
catch-all = true
get-url = "$mo_url"
max-messages = 0
omit-empty = true
EOF
}

start() {
  local d=$1 mo_url=$2 ports
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  dir=$d
  [ -x "$KANNEL_BIN/bearerbox" ] && [ -x "$FAKESMSC" ] \
    || { echo "kannel.sh: Kannel not found (apt-get install kannel kannel-extras)" >&2; exit 1; }
  stop "$d"
  read -r KANNEL_ADMIN_PORT KANNEL_SMSBOX_PORT KANNEL_SMSC_PORT KANNEL_SENDSMS_PORT <<<"$(free_ports 4)"
  KANNEL_ADMIN_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  KANNEL_USERNAME=${KANNEL_USERNAME:-loa}
  KANNEL_PASSWORD=${KANNEL_PASSWORD:-secret}
  KANNEL_SENDER=${KANNEL_SENDER:-8077}
  KANNEL_SMSC_ID=${KANNEL_SMSC_ID:-fake}
  write_conf "$d" "$mo_url"
  rm -f "$d"/*.log "$d/mo.fifo"
  cat >"$d/kannel.env" <<EOF
KANNEL_DIR=$d
KANNEL_ADMIN_PORT=$KANNEL_ADMIN_PORT
KANNEL_ADMIN_PASSWORD=$KANNEL_ADMIN_PASSWORD
KANNEL_SMSBOX_PORT=$KANNEL_SMSBOX_PORT
KANNEL_SMSC_PORT=$KANNEL_SMSC_PORT
KANNEL_SENDSMS_PORT=$KANNEL_SENDSMS_PORT
KANNEL_SENDSMS_URL=http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms
KANNEL_USERNAME=$KANNEL_USERNAME
KANNEL_PASSWORD=$KANNEL_PASSWORD
KANNEL_SENDER=$KANNEL_SENDER
KANNEL_SMSC_ID=$KANNEL_SMSC_ID
KANNEL_MT_LOG=$d/fakesmsc.log
EOF

  "$KANNEL_BIN/bearerbox" -v 1 "$d/kannel.conf" >"$d/bearerbox.out" 2>&1 </dev/null &
  echo $! >"$d/bearerbox.pid"
  echo "$d/kannel.conf" >"$d/bearerbox.tag"
  # Probe the admin port, not the SMSC port: the fake SMSC serves one client at a time.
  wait_for "bearerbox on port $KANNEL_ADMIN_PORT" 15 port_open "$KANNEL_ADMIN_PORT" \
    || { tail -n 20 "$d/bearerbox.out" >&2; stop "$d"; exit 1; }

  mkfifo "$d/mo.fifo"
  fakesmsc_start "$d"
  smsbox_start "$d"
  print_env "$d"
}

# Appends to the logs: a restarted fake SMSC adds to what the tests read.
fakesmsc_start() {
  local d=$1
  # Opened read-write, the FIFO always has a writer, so fakesmsc never sees end of input.
  "$FAKESMSC" -H 127.0.0.1 -r "$KANNEL_SMSC_PORT" -i 0.05 <>"$d/mo.fifo" >>"$d/fakesmsc.out" 2>>"$d/fakesmsc.log" &
  echo $! >"$d/fakesmsc.pid"
  echo "-r $KANNEL_SMSC_PORT" >"$d/fakesmsc.tag"
}

# smsbox panics (gwlib/conn.c lock_out) when a sendsms request comes before it has connected
# to bearerbox, which a client retrying during a restart makes likely: start it again then.
smsbox_up() { pid_alive "$1" smsbox && port_open "$KANNEL_SENDSMS_PORT" && kannel_ready; }

smsbox_start() {
  local d=$1 try i
  for try in $(seq 1 10); do
    "$KANNEL_BIN/smsbox" -v 1 "$d/kannel.conf" >>"$d/smsbox.out" 2>&1 </dev/null &
    echo $! >"$d/smsbox.pid"
    echo "$d/kannel.conf" >"$d/smsbox.tag"
    for i in $(seq 1 150); do
      pid_alive "$d" smsbox || break
      if smsbox_up "$d" >/dev/null 2>&1; then
        sleep 0.3
        pid_alive "$d" smsbox && return 0
        break
      fi
      sleep 0.1
    done
    # Dead (it panicked), or not up in 15 s: make sure it is gone and start it again.
    stop_one "$d" smsbox
  done
  echo "kannel.sh: smsbox did not come up (logs in $d)" >&2
  tail -n 20 "$d/smsbox.out" >&2
  stop "$d"
  exit 1
}

stop() {
  local d=$1
  [ -d "$d" ] || return 0
  stop_one "$d" smsbox
  stop_one "$d" fakesmsc
  stop_one "$d" bearerbox
  rm -f "$d/mo.fifo"
}

# A test's Kannel at its end: nothing in it is kept, so no orderly shutdown (bearerbox takes a
# second or more to close its boxes, several under load, at the end of every test).
discard() {
  local d=$1 name
  [ -d "$d" ] || return 0
  for name in smsbox fakesmsc bearerbox; do
    pid_alive "$d" "$name" && kill -KILL "$(cat "$d/$name.pid")" 2>/dev/null
    rm -f "$d/$name.pid" "$d/$name.tag"
  done
  rm -f "$d/mo.fifo"
}

# One MO line for fakesmsc: "FROM TO text TEXT" when TEXT is printable ASCII, else
# "FROM TO ucs2 URLENCODED-UTF16BE".
mo() {
  local d=$1 from=$2 text=$3 to=${4:-}
  pid_alive "$d" fakesmsc || { echo "kannel.sh: fakesmsc is not running in $d" >&2; exit 1; }
  # shellcheck disable=SC1091
  [ -n "$to" ] || to=$(. "$d/kannel.env" && echo "$KANNEL_SENDER")
  local line
  line=$(python3 - "$from" "$to" "$text" <<'EOF'
import sys, urllib.parse
frm, to, text = sys.argv[1:4]
if text.isascii() and text.isprintable() and text.strip() == text and text:
    print(f"{frm} {to} text {text}")
else:
    print(f"{frm} {to} ucs2 {urllib.parse.quote(text.encode('utf-16-be'), safe='')}")
EOF
)
  printf '%s\n' "$line" >"$d/mo.fifo"
}

case "$cmd" in
start) [ $# -ge 3 ] || usage; start "$dir" "$3" ;;
stop) stop "$dir" ;;
discard) discard "$dir" ;;
mo) [ $# -ge 4 ] || usage; mo "$dir" "$3" "$4" "${5:-}" ;;
env) print_env "$dir" ;;
smsbox-stop) stop_one "$dir" smsbox ;;
smsbox-start)
  # shellcheck disable=SC1091
  . "$dir/kannel.env"
  smsbox_start "$dir" ;;
smsc-stop) stop_one "$dir" fakesmsc ;;
smsc-start)
  # shellcheck disable=SC1091
  . "$dir/kannel.env"
  fakesmsc_start "$dir"
  wait_for "the fake SMSC online" 30 kannel_ready ;;
*) usage ;;
esac
