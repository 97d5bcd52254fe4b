"""Text from a gateway reaches SQL whole or not at all: an smsbox that refuses every message
with a long Vietnamese answer (cut by loa at 100 bytes, in the middle of a character if cut
by bytes) and one with bytes that are not UTF-8 still has every message recorded as failed,
in the batches they were written in, with a reason that PostgreSQL accepted. An http_sms
provider (the eSMS double) answering ids and result codes that are not UTF-8 or too long has
them stored escaped or cut on a character, and its delivery reports carrying those ids still
settle their messages."""

import http.server
import threading
import time

from conftest import show, wait_for
from test_breaker import fast_retries
from test_campaign_kannel import OUTCOME_KEYS, seed
from test_faults import start_campaign


class Refusing(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(400)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def serve(body):
    handler = type("H", (Refusing,), {"body": body})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def run(loa, daemon, psql, body, n=60):
    srv = serve(body)
    try:
        seed(psql, loa, n)
        loa.add_gateway("kannel", type="kannel",
                        sendsms_url=f"http://127.0.0.1:{srv.server_address[1]}/cgi-bin/sendsms",
                        username="u", password="p", sender="BHXH", rate=1000, concurrency=20,
                        webhook_secret="s" * 32)
        loa.set("engine", "settle_seconds", "1")
        daemon.stop()
        daemon.start()
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "c")
        s = wait_for(lambda: (lambda x: x if x["status"] == "completed" else None)(show(loa, "c")),
                     timeout=60, what="the campaign to complete")
    finally:
        srv.shutdown()
    assert s["outcomes"]["failed"] == n, s["outcomes"]
    assert sum(s["outcomes"][k] for k in OUTCOME_KEYS) == n
    reasons = psql("SELECT DISTINCT reason FROM messages")
    assert len(reasons) == 1
    assert "flush_failed" not in daemon.log()
    return reasons[0][0]


def test_a_long_multibyte_gateway_answer_is_cut_on_a_character(loa, daemon, psql):
    # 'ố' is 3 bytes: 33 of them after "Tài khoản: " put byte 100 inside one.
    body = ("Tài khoản: " + "ố" * 60).encode()
    reason = run(loa, daemon, psql, body)
    assert reason.startswith("smsbox 400: Tài khoản: ố")
    assert "\ufffd" not in reason
    assert len(reason.encode()) <= 160


def test_gateway_bytes_that_are_not_utf8_are_escaped_not_refused(loa, daemon, psql):
    body = b"Sai m\xe1t kh\xe2u"        # Latin-1 leftovers: not UTF-8
    reason = run(loa, daemon, psql, body)
    assert reason == "smsbox 400: Sai m\\xE1t kh\\xE2u"


def test_http_sms_ids_and_codes_not_utf8_or_too_long_are_stored_escaped(loa, esms_double, daemon, psql):
    phones = seed(psql, loa, 7)
    long_id = "ệ" * 40                                   # 120 bytes: kept to 95, on a character
    esms_double.control(smsid_hex={phones[0]: b"\xff\xfeAB".hex(),
                                   phones[1]: long_id.encode().hex(),
                                   phones[2]: b"ok\xe1\xba".hex()},     # half a character at the end
                        code_hex_once={phones[3]: b"\xc3(1".hex(),
                                       phones[4]: (b"9" * 80 + b"\xe1").hex()})
    fast_retries(loa)
    daemon.stop()
    daemon.start()
    start_campaign(loa)
    wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="the campaign to complete")
    # Each delivery report names the id as the provider gave it: it settles its message too.
    try:
        wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'delivered'")[0][0] == "7",
                 timeout=30, what="every delivery report")
    except BaseException:
        print(psql("SELECT id, state, reason, gateway_msg_id FROM messages ORDER BY id"))
        print("callbacks:", esms_double.state()["callbacks"])
        raise
    ids = dict(psql("SELECT c.phone, m.gateway_msg_id FROM messages m JOIN citizens c ON c.id = m.citizen_id"))
    assert ids[phones[0]] == "\\xFF\\xFEAB"
    assert ids[phones[1]] == "ệ" * 31
    assert ids[phones[2]] == "ok\\xE1\\xBA"
    st = esms_double.state()
    assert all(c[0] == 200 for c in st["callbacks"]), st["callbacks"]
    assert st["sends"] == 7 and st["duplicates"] == 0
    log = daemon.log()
    assert 'reason="esms \\xC3(1: temporary"' in log, "the code's answer, escaped, in the log"
    assert 'reason="esms ' + "9" * 31 + ': temporary"' in log, "a code too long is cut"
    assert "flush_failed" not in log and "flush_row_given_up" not in log
    time.sleep(0.5)
    assert show(loa, "c")["outcomes"]["delivered"] == 7
