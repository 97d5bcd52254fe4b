"""Shutdown waits for every webhook still writing: a Zalo receipt whose database write is
held up by a row lock when SIGTERM arrives is still applied and answered 200, and the daemon
then exits cleanly (it used to answer 503 at once and later reply into the freed request:
ASan heap-use-after-free in http_reply via gateways/zalo_zns.c)."""

import json
import signal
import subprocess
import threading
import time

from conftest import _pg_bindir, wait_for
from test_zalo import mac, post_hook, seed


def test_zalo_receipt_in_flight_at_sigterm_is_written_and_answered(loa, zalo_double, esms_double, daemon, psql):
    seed(psql, loa, 1)
    zalo_double.control(receipt_delay_ms=None)
    loa.ok("campaign", "create", "f", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "f")
    wait_for(lambda: psql("SELECT state FROM messages") == [("submitted",)], timeout=60,
             what="the ZNS to be submitted")
    cid, mid = psql("SELECT campaign_id, id FROM messages")[0]
    now = str(int(time.time() * 1000))
    body = json.dumps({"event_name": "user_received_message", "app_id": "app-1", "timestamp": now,
                       "message": {"msg_id": "m-1", "tracking_id": f"{cid}.{mid}"}})

    # Another session holds the message's row: the receipt's write waits for it.
    locker = subprocess.Popen([str(_pg_bindir() / "psql"), "-X", "-q", "-d", loa.db_url],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    answer = {}
    try:
        locker.stdin.write(f"BEGIN; SELECT id FROM messages WHERE id = {int(mid)} FOR UPDATE;\n")
        locker.stdin.flush()
        wait_for(lambda: psql("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
                 [0][0] == "1", timeout=10, what="the row lock")
        hook = threading.Thread(target=lambda: answer.update(status=post_hook(daemon, body, mac(body, now))))
        hook.start()
        wait_for(lambda: psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND query LIKE '%zalo_receipt_apply%'")[0][0] == "1",
                 timeout=5, what="the receipt to wait for the lock")
        daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert daemon.running(), "the daemon waits for the webhook still writing"
    finally:
        locker.stdin.write("COMMIT;\n")
        locker.stdin.close()
        locker.wait(timeout=10)
    hook.join(timeout=10)
    rc = daemon.proc.wait(timeout=30)
    log = daemon.log()
    assert "AddressSanitizer" not in log and "runtime error" not in log, log[-3000:]
    assert rc == 0, log[-3000:]
    assert answer.get("status") == 200, (answer, log[-3000:])
    assert "event=http_closing requests_in_progress=1" in log
    assert psql("SELECT state FROM messages WHERE id = :'m'", m=mid)[0][0] == "delivered"
