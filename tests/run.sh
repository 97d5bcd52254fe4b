#!/bin/bash
# Runs every test of loa; called by `make test` once the binaries, unit tests and fuzzers are
# built. Stages: a throw-away PostgreSQL cluster, unit tests (plain and ASan+UBSan, one process
# and one fresh database each), fuzzers for a bounded time, integration tests (pytest, with
# build/loa and again with build/loa-asan; the plain pass includes the dashboard in headless
# Chromium, screenshots in var/screenshots/). Ends with one line
#   loa tests: N passed, M failed
# and a non-zero status when anything failed.
#
# Environment: FUZZ_SECONDS (6 per fuzzer), UNIT_TIMEOUT (300 s per unit binary),
# LOA_IT_ASAN (1: also run the integration tests with build/loa-asan; 0: skip that pass),
# PYTEST_ARGS (extra arguments for pytest, e.g. "-k kannel -x"), LOA_IT_ASAN_WORKERS (5: the
# sanitized pass's workers), LOA_IT_WORKERS (pytest-xdist
# workers of the plain pass, 3 by default; 1: one process each).
set -u
cd "$(dirname "$0")/.."
REPO=$(pwd)

FUZZ_SECONDS=${FUZZ_SECONDS:-6}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
LOA_IT_ASAN=${LOA_IT_ASAN:-1}
LOA_IT_WORKERS=${LOA_IT_WORKERS:-3}
LOA_IT_ASAN_WORKERS=${LOA_IT_ASAN_WORKERS:-5}

# tests/pg.sh from /: as root it runs PostgreSQL's tools as the user `loa`, who may not be
# able to enter the checkout (under /root, say).
pg_sh() { (cd / && "$REPO/tests/pg.sh" "$@"); }

passed=0
failed=0
failures=()
t_start=$(date +%s)

# A private scratch directory; as root the cluster's owner `loa` must be able to enter it.
WORK=$(mktemp -d /tmp/loa-test.XXXXXX)
chmod 755 "$WORK"
PGDIR=$WORK/pg
# The binaries under test, copied: a rebuild during the run does not change what is tested.
mkdir -p "$WORK/bin"
for b in loa loa-asan; do
  if [ -x "build/$b" ]; then cp "build/$b" "$WORK/bin/$b"; fi
done
LOA_REL=$WORK/bin/loa
LOA_ASAN=$WORK/bin/loa-asan

declare -A PYTEST_PID=()
cleanup() {
  # pytest turns SIGTERM into an interruption and still tears its fixtures down.
  local pid
  for pid in "${PYTEST_PID[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PYTEST_PID[@]}"; do wait "$pid" 2>/dev/null; done
  pg_sh discard "$PGDIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage() { printf '\n=== %s\n' "$*"; }
pass() { passed=$((passed + ${2:-1})); }
fail() { failed=$((failed + ${2:-1})); failures+=("$1"); }
elapsed() { echo "$(($(date +%s) - $1))s"; }

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
psql_admin() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" "$@"; }

# url_for NAME: the cluster URL naming database NAME instead of `loa`.
url_for() { echo "$CLUSTER_URL" | sed "s|^postgresql:///loa?|postgresql:///$1?|"; }

summary() {
  stage "summary ($(elapsed "$t_start"))"
  if [ ${#failures[@]} -gt 0 ]; then
    printf 'failed:\n'
    printf '  %s\n' "${failures[@]}"
  fi
  echo "loa tests: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# --------------------------------------------------------------------------------------------
stage "layers: tools/check_layers.sh"
if tools/check_layers.sh; then pass layers; else fail "layers: tools/check_layers.sh"; fi

# --------------------------------------------------------------------------------------------
stage "PostgreSQL: a throw-away cluster in $PGDIR (fsync off)"
t=$(date +%s)
if ! CLUSTER_URL=$(PG_FSYNC=off PG_SYNC_COMMIT=off pg_sh start "$PGDIR"); then
  fail "cluster: tests/pg.sh start"
  summary
  exit 1
fi
ADMIN_URL=$(url_for postgres)
# A migrated template: each unit test binary gets a fresh copy of it.
printf '[database]\nurl = %s\n' "$(url_for loa_tmpl)" >"$WORK/tmpl.conf"
printf '[database]\nurl = %s\n' "$CLUSTER_URL" >"$WORK/loa.conf"
if psql_admin -c "CREATE DATABASE loa_tmpl" \
  && "$LOA_REL" -c "$WORK/tmpl.conf" db migrate >"$WORK/migrate.log" 2>&1 \
  && "$LOA_REL" -c "$WORK/loa.conf" db migrate >>"$WORK/migrate.log" 2>&1 \
  && "$LOA_REL" -c "$WORK/loa.conf" db migrate >>"$WORK/migrate.log" 2>&1; then
  echo "ok    migrations applied (and applied again: idempotent) ($(elapsed "$t"))"
  pass migrate
else
  cat "$WORK/migrate.log"
  fail "migrate: loa db migrate"
fi
export LOA_TEST_DB_URL=$CLUSTER_URL

# --------------------------------------------------------------------------------------------
# LeakSanitizer needs ptrace-like access to the process; some containers forbid it, and then
# every ASan binary would die at exit. Probe it once with a program that leaks on purpose.
LSAN=0
if command -v cc >/dev/null 2>&1 && printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void){p=malloc(64);p=0;return 0;}\n' >"$WORK/leak.c" \
  && cc -fsanitize=address -g -O0 "$WORK/leak.c" -o "$WORK/leak" 2>/dev/null; then
  if ASAN_OPTIONS=detect_leaks=1 "$WORK/leak" 2>&1 | grep -q "detected memory leaks"; then LSAN=1; fi
fi
if [ "$LSAN" -eq 1 ]; then
  echo "LeakSanitizer works here: ASan binaries run with detect_leaks=1"
else
  echo "LeakSanitizer does not work here (ptrace denied?): ASan binaries run with detect_leaks=0"
fi
export ASAN_OPTIONS="detect_leaks=$LSAN:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# --------------------------------------------------------------------------------------------
# run_unit BIN: one process, one fresh database; counts cmocka's own PASSED / FAILED lines.
unit_n=0
run_unit() {
  local bin=$1 name log db p f rc t
  name=${bin#build/tests/}
  unit_n=$((unit_n + 1))
  db="u_${unit_n}"
  log="$WORK/unit-${name//\//-}.log"
  t=$(date +%s%N)
  # FILE_COPY: the template's files copied whole, twice as fast as logging every block.
  if ! psql_admin -c "CREATE DATABASE $db TEMPLATE loa_tmpl STRATEGY FILE_COPY" >"$log" 2>&1; then
    cat "$log"
    fail "$name (could not create its database)"
    return
  fi
  LOA_TEST_DB_URL=$(url_for "$db") timeout -k 5 "$UNIT_TIMEOUT" "$bin" >>"$log" 2>&1
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  p=${p:-0}
  f=${f:-0}
  local ms=$((($(date +%s%N) - t) / 1000000))
  if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
    [ "$p" -gt 0 ] || p=1
    pass "$name" "$p"
    printf 'ok    %-34s %3d tests  %6d ms\n' "$name" "$p" "$ms"
  else
    [ "$f" -gt 0 ] || f=1
    pass "$name" "$p"
    fail "$name (exit $rc)" "$f"
    printf 'FAIL  %-34s exit %d, %d passed, %d failed\n' "$name" "$rc" "$p" "$f"
    tail -n 60 "$log" | sed 's/^/      | /'
  fi
  # Not dropped: a DROP DATABASE costs a checkpoint, and the cluster goes whole at the end.
}

for kind in rel asan; do
  stage "unit tests: build/tests/$kind"
  t=$(date +%s)
  n=0
  for bin in build/tests/$kind/*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    run_unit "$bin"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || echo "(no unit tests built)"
  echo "($(elapsed "$t"))"
done

# --------------------------------------------------------------------------------------------
stage "fuzzers: ${FUZZ_SECONDS}s each, two at a time"
t=$(date +%s)
n=0
mkdir -p build/fuzz/artifacts
# fuzz_run NAME BIN: one fuzzer, its exit status written to $WORK/fuzz-NAME.rc.
fuzz_run() {
  local name=$1 bin=$2 corpus="$WORK/corpus-$1"
  # libFuzzer adds what it finds to its first corpus directory: give it a copy, so the
  # repository stays clean.
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$name" ]; then cp -R "tests/fuzz/corpus/$name/." "$corpus/"; fi
  timeout -k 10 $((FUZZ_SECONDS + 120)) "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
    -timeout=20 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$name-" "$corpus" \
    >"$WORK/fuzz-$name.log" 2>&1
  echo $? >"$WORK/fuzz-$name.rc"
}
# Each fuzzer is one process on one core: two run side by side, in half the time.
fuzzers=()
for bin in build/fuzz/bin/*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  fuzzers+=("$bin")
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  fuzz_run "$(basename "$bin")" "$bin" &
done
wait
for bin in "${fuzzers[@]}"; do
  name=$(basename "$bin")
  n=$((n + 1))
  log="$WORK/fuzz-$name.log"
  rc=$(cat "$WORK/fuzz-$name.rc" 2>/dev/null || echo 125)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ]; then
    pass "$name"
    printf 'ok    %-34s %s runs\n' "$name" "${runs:-?}"
  else
    fail "$name (fuzzer exit $rc; reproduce with the file in build/fuzz/artifacts/)"
    printf 'FAIL  %-34s exit %d\n' "$name" "$rc"
    grep -E 'ERROR|SUMMARY|Test unit written|artifact' "$log" | head -n 20 | sed 's/^/      | /'
    tail -n 40 "$log" | sed 's/^/      | /'
  fi
done
[ "$n" -gt 0 ] || echo "(no fuzzers built)"
echo "($(elapsed "$t"))"

# --------------------------------------------------------------------------------------------
PY=""
for c in python3 /usr/bin/python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import pytest' >/dev/null 2>&1; then PY=$(command -v "$c"); break; fi
done
# The scripts the tests start (tests/kannel.sh, the doubles) run the same python3: a version
# manager's shim on PATH costs several processes for every one of them.
[ -n "$PY" ] && PATH="$(dirname "$PY"):$PATH"

# pytest_start LABEL LOA_BIN: starts pytest in the background, its output in $WORK/pytest-LABEL.out.
# The two passes (plain and sanitized binary) run side by side: they mostly wait on the daemon,
# Kannel and PostgreSQL, and each has its own cluster and ports.
pytest_start() {
  local label=$1 bin=$2
  # PYTEST_ARGS is split as the shell would split it, so quoted words stay whole:
  # PYTEST_ARGS="-k 'kannel or zalo' -x".
  local -a extra=()
  eval "extra=(${PYTEST_ARGS:-})"
  # The dashboard's browser test (test_dashboard_browser.py) runs in the plain pass only: a
  # headless Chromium beside two daemons would cost more than the sanitizer finds there.
  local browser=1
  local -a only=()
  if [ "$label" = asan ]; then browser=0; only=(-m "not volume and not plain_only"); fi
  # Several workers per pass (pytest-xdist), each with its own cluster, Kannel and ports, dealt
  # one test at a time: the tests mostly wait on the daemon's rates, on Kannel and on the
  # doubles, so two cores carry more than one worker each.
  # The sanitized pass has more workers: its tests cost more CPU, and the two passes should end
  # together.
  local -a workers=()
  local nw=$LOA_IT_WORKERS
  [ "$label" = asan ] && nw=$LOA_IT_ASAN_WORKERS
  if [ "$nw" -gt 1 ] && "$PY" -c 'import xdist' 2>/dev/null; then
    workers=(-n "$nw" --dist load)
  fi
  LOA_BROWSER=$browser LOA_BIN=$bin "$PY" -m pytest -q --tb=short -p no:cacheprovider --junitxml="$WORK/pytest-$label.xml" \
    --durations=8 "${workers[@]}" "${only[@]}" "${extra[@]}" tests/integration >"$WORK/pytest-$label.out" 2>&1 &
  PYTEST_PID[$label]=$!
}

# pytest_finish LABEL BIN: waits, prints the output, counts from pytest's JUnit XML (errors in
# fixtures count as failures).
pytest_finish() {
  local label=$1 bin=$2 xml="$WORK/pytest-$1.xml" counts p f
  wait "${PYTEST_PID[$label]}"
  unset "PYTEST_PID[$label]"
  stage "integration tests ($label): $bin"
  cat "$WORK/pytest-$label.out"
  if [ ! -f "$xml" ]; then
    fail "integration ($label): pytest did not run"
    return
  fi
  counts=$("$PY" - "$xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
p, failed = 0, []
for s in suites:
    for c in s.iter("testcase"):
        kinds = {x.tag for x in c}
        if kinds & {"failure", "error"}:
            failed.append(c.get("classname", "") + "::" + c.get("name", ""))
        elif "skipped" not in kinds:
            p += 1
print(p, len(failed))
for name in failed:
    print(name)
EOF
  )
  read -r p f <<<"$(echo "$counts" | head -n 1)"
  pass "integration" "${p:-0}"
  while IFS= read -r name; do
    [ -n "$name" ] && fail "integration ($label): $name"
  done <<<"$(echo "$counts" | tail -n +2)"
}

passes="rel:$LOA_REL"
[ "$LOA_IT_ASAN" = 1 ] && passes="$passes asan:$LOA_ASAN"
stage "integration tests: build/loa and build/loa-asan (copies in $WORK/bin), side by side"
t=$(date +%s)
if [ -z "$PY" ]; then
  fail "integration: no python3 with pytest (apt-get install python3-pytest)"
else
  for pb in $passes; do pytest_start "${pb%%:*}" "${pb#*:}"; done
  for pb in $passes; do pytest_finish "${pb%%:*}" "${pb#*:}"; done
fi
echo "($(elapsed "$t"))"

summary
