"""The demo's last count (`make demo`, tests/demo.sh): tests/smsc_parts.sh waits for the fake
SMSC's log to show the SMS parts the statistics count before it compares them, and says "so
far" when they never agree. Against real Kannel's fake SMSC, and against prepared logs for each
of its answers."""

import subprocess
import threading
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "smsc_parts.sh"


def parts(log, expected, seconds=30):
    p = subprocess.run([str(SCRIPT), str(log), str(expected), str(seconds)], capture_output=True,
                       text=True, timeout=seconds + 30)
    assert p.stderr == ""
    return p.returncode, p.stdout.strip()


def got(n, first=1):
    return "".join(f"DEBUG: Got message {i}: <8077 8491200{i:04d} text BHXH nhac dong>\n"
                   for i in range(first, first + n))


def test_demo_count_agrees_with_real_kannel_once_bearerbox_has_handed_every_part_over(make_kannel):
    k = make_kannel("http://127.0.0.1:9/mo?from=%p&text=%a")
    sent = [("84912000001", "x" * 200), ("84912000002", "BHXH nhac dong"), ("84912000003", "y" * 300)]
    for to, text in sent:
        status, body = k.sendsms(to, text, **{"from": "8077"})
        assert status == 202, body
    # 200 and 300 GSM characters are 2 parts each (153 a part), the short one 1: the count is
    # asked at once, before bearerbox can have passed them all on.
    rc, out = parts(k.mt_log, 5)
    assert (rc, out) == (0, f"the fake SMSC received 5 SMS parts, as the statistics say ({k.mt_log})")
    assert len(k.received()) == 5


def test_demo_count_waits_for_parts_logged_late(tmp_path):
    log = tmp_path / "fakesmsc.log"
    log.write_text("DEBUG: Connected to bearerbox\n" + got(3))

    def later():
        time.sleep(1.5)
        with open(log, "a") as f:
            f.write(got(2, first=4))

    t = threading.Thread(target=later)
    t.start()
    try:
        rc, out = parts(log, 5)
    finally:
        t.join()
    assert (rc, out) == (0, f"the fake SMSC received 5 SMS parts, as the statistics say ({log})")


@pytest.mark.parametrize("logged, expected, said", [
    (3, 5, "the fake SMSC received 3 of the 5 SMS parts sent so far; Kannel is still delivering the rest"),
    (6, 5, "the fake SMSC received 6 SMS parts, 1 more than the 5 the statistics count:"
           " resubmissions after an answer was lost"),
    (4, "?", "the fake SMSC received 4 SMS parts so far"),
    (0, 2, "the fake SMSC received 0 of the 2 SMS parts sent so far; Kannel is still delivering the rest"),
])
def test_demo_count_says_so_far_when_the_log_never_agrees(tmp_path, logged, expected, said):
    log = tmp_path / "fakesmsc.log"
    if logged:
        log.write_text(got(logged))
    rc, out = parts(log, expected, seconds=1)
    assert (rc, out) == (1, f"{said} ({log})")
