#!/bin/bash
# tests/smsc_parts.sh LOG EXPECTED [SECONDS]
#
# The demo's last count: how many SMS parts Kannel's fake SMSC logged in LOG (its stderr, one
# "Got message" line per part; tests/kannel.sh), against EXPECTED, the parts the campaign's
# statistics count ("?" when they could not be read). The statistics count the parts smsbox
# accepted, and bearerbox hands them to the fake SMSC a little later, so counting at once
# finds fewer: this waits up to SECONDS (10) for the log to reach EXPECTED, then prints one
# sentence saying whether the two agree. Exit 0 when they do, 1 when they do not.
set -u
log=$1
expected=$2
seconds=${3:-10}

# 0 while the log does not exist yet (grep then prints nothing).
count() {
  local n
  n=$(grep -c 'Got message' "$log" 2>/dev/null)
  echo "${n:-0}"
}

received=$(count)
if [ "$expected" != "?" ]; then
  deadline=$((SECONDS + seconds))
  while [ "$received" -lt "$expected" ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.1
    received=$(count)
  done
fi
if [ "$received" = "$expected" ]; then
  echo "the fake SMSC received $received SMS parts, as the statistics say ($log)"
  exit 0
elif [ "$expected" = "?" ]; then
  echo "the fake SMSC received $received SMS parts so far ($log)"
elif [ "$received" -lt "$expected" ]; then
  echo "the fake SMSC received $received of the $expected SMS parts sent so far; Kannel is still delivering the rest ($log)"
else
  echo "the fake SMSC received $received SMS parts, $((received - expected)) more than the $expected the statistics count: resubmissions after an answer was lost ($log)"
fi
exit 1
